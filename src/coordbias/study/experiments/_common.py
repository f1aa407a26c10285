"""Small helpers shared by the open-question experiments: setting checks, seeding, threads.

The experiments' figures follow the study's style and their Markdown the project's table writer;
the names below stay importable from here as well (``new_figure`` is
:func:`coordbias.study.style.subplots`, ``save_figure`` is :func:`coordbias.study.style.save`,
``md_table``, ``fmt_sci`` and ``fmt_pct`` are :mod:`coordbias.reporting.markdown`'s; seeding,
threads and the parameter count are :mod:`coordbias._util.experiment`'s).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from coordbias._util.experiment import check_positive_int, count_parameters, seeded, torch_threads
from coordbias.reporting.markdown import fmt_pct, fmt_sci, md_table
from coordbias.study.style import save as save_figure
from coordbias.study.style import subplots as new_figure

__all__ = [
    "check_image_size",
    "check_out_dir",
    "check_positive",
    "check_positive_int",
    "choose_setting",
    "count_parameters",
    "fmt_pct",
    "fmt_sci",
    "md_table",
    "new_figure",
    "save_figure",
    "seeded",
    "torch_threads",
]


def check_out_dir(out_dir: Any) -> Path:
    """Return ``out_dir`` as a created :class:`~pathlib.Path`; raise TypeError for other types."""
    if not isinstance(out_dir, str | os.PathLike):
        raise TypeError(f"out_dir must be a str or os.PathLike, got {type(out_dir).__name__}")
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def choose_setting(
    config: Any, quick: bool, seed: Any, quick_setting: Any, full_setting: Any
) -> Any:
    """The setting an experiment's ``run`` uses, checked: ``config``, else the quick or full one.

    Args:
        config: the caller's setting or None; must be of the quick setting's type.
        quick: choose ``quick_setting`` (else ``full_setting``) when ``config`` is None.
        seed: the run's seed, checked to be an int.
        quick_setting: the experiment's ``QUICK``.
        full_setting: the experiment's ``FULL``.

    Raises:
        TypeError: ``config`` of another type, or a ``seed`` that is not an int.
        ValueError: a field of the setting out of range (its ``validate``).
    """
    config = config or (quick_setting if quick else full_setting)
    kind = type(quick_setting).__name__
    if not isinstance(config, type(quick_setting)):
        raise TypeError(f"config must be a {kind}, got {type(config).__name__}")
    config.validate()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    return config


def check_positive(name: str, value: Any) -> None:
    """Raise a ValueError naming ``name`` unless ``value > 0``."""
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def check_image_size(value: int) -> None:
    """Raise a ValueError unless the image side ``value`` is divisible by 8 (the FCN pools 3x)."""
    if value % 8:
        raise ValueError(f"image_size must be divisible by 8, got {value}")
