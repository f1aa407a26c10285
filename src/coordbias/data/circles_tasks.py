"""Variants of the circles data set for the benchmark: what the position of a circle means.

Each task is a pair of :class:`~coordbias.data.CirclesConfig` (training, test) drawn by the same
generator, so every task is generated on the fly and is a pure function of (config, seed, split,
index) like the circles themselves:

- ``circles``: the original rule, classes by colour *and* position (yellow right / left, red
  bottom; red top is background); training and test alike.
- ``colour``: the control where position carries no meaning: the same images (the labels do not
  change what is drawn), classes by colour only (1 yellow, 2 red, 0 background).
- ``shifted``: the colour classes, every training circle in the left half of the image
  (``p_left=1``), every test circle in the right half (``p_left=0``): a network that ties a class
  to where it saw it fails, a translation-equivariant one does not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from coordbias.data.config import CirclesConfig

__all__ = ["CIRCLES_TASKS", "circles_task"]

#: The circles tasks by name, with one line each (read-only).
CIRCLES_TASKS: Mapping[str, str] = MappingProxyType(
    {
        "circles": "the original: classes by colour and position",
        "colour": "the same images, classes by colour only (position carries no meaning)",
        "shifted": "colour classes; trained on circles in the left half, tested on the right half",
    }
)

_COLOUR_CLASSES = {
    "class_yellow_right": 1,
    "class_yellow_left": 1,
    "class_red_bottom": 2,
    "class_red_top": 2,
}


def circles_task(name: str, base: CirclesConfig) -> tuple[CirclesConfig, CirclesConfig]:
    """The training and test data settings of the circles task ``name``.

    Args:
        name: one of :data:`CIRCLES_TASKS`.
        base: the settings every task shares (image size, circles, noise...); its class fields
            and ``p_left`` are replaced as the task needs.

    Returns:
        ``(train, test)`` configs; the same object twice when the task draws both alike.

    Raises:
        ValueError: an unknown task name (the message lists the tasks).

    Example:
        >>> train, test = circles_task("shifted", CirclesConfig(image_size=32))
        >>> train.p_left, test.p_left, train.num_classes
        (1.0, 0.0, 3)
    """
    if not isinstance(base, CirclesConfig):
        raise TypeError(f"base must be a CirclesConfig, got {type(base).__name__}")
    if name == "circles":
        return base, base
    if name == "colour":
        config = dataclasses.replace(base, **_COLOUR_CLASSES)
        return config, config
    if name == "shifted":
        colour = dataclasses.replace(base, **_COLOUR_CLASSES)
        return dataclasses.replace(colour, p_left=1.0), dataclasses.replace(colour, p_left=0.0)
    raise ValueError(f"task must be one of {', '.join(CIRCLES_TASKS)}; got {name!r}")
