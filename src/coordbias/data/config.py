"""The typed settings of the circles data set, and the label colours.

Every default is the original study's: 128 x 128 images, three circles, radius
``int(S/12 + (S/8) u)``, a 4 x 4 Perlin lattice, noise scaled to [0, 0.5], yellow and red circles
with probability 1/2 each, classes 1 (yellow right), 2 (yellow left), 3 (red bottom) and 0 (red top,
background).

Sizes other than 128 scale the rules: the radius bounds are fractions of the image size S and the
lattice keeps ``lattice_cells`` cells per side, so each cell is ``S / lattice_cells`` pixels wide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

__all__ = ["CLASS_COLORS", "CLASS_NAMES", "SPLITS", "CirclesConfig", "class_colors", "split_id"]

#: Label colours of the original's figures as RGB floats: 0 black, 1 yellow, 2 blue, 3 red.
CLASS_COLORS: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.0, 0.0),
    (1.0, 1.0, 0.0),
    (0.0, 0.0, 1.0),
    (1.0, 0.0, 0.0),
)

#: Colours of classes 4, 5, ... (a user's own data), cycled; distinct from the four above.
_EXTRA_COLORS: tuple[tuple[float, float, float], ...] = tuple(
    (r / 255, g / 255, b / 255)
    for r, g, b in (
        (0, 200, 0), (255, 0, 255), (0, 255, 255), (255, 128, 0),
        (128, 0, 255), (128, 128, 128), (0, 128, 128), (128, 64, 0),
    )
)  # fmt: skip


def class_colors(count: int) -> list[tuple[float, float, float]]:
    """RGB floats in [0, 1] of classes ``0 .. count - 1``: :data:`CLASS_COLORS`, then extra colours.

    The one palette every label picture uses (data grids, training figures, predicted masks).

    Example:
        >>> class_colors(5)[3:]
        [(1.0, 0.0, 0.0), (0.0, 0.7843137254901961, 0.0)]
    """
    extra = len(_EXTRA_COLORS)
    return [
        CLASS_COLORS[c] if c < len(CLASS_COLORS) else _EXTRA_COLORS[(c - len(CLASS_COLORS)) % extra]
        for c in range(count)
    ]


#: Short names of the four classes, in class-index order.
CLASS_NAMES: tuple[str, ...] = ("background", "yellow-right", "yellow-left", "red-bottom")

#: Split names and the number each contributes to a sample's random seed.
SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}


_CLASS_FIELDS = ("class_yellow_right", "class_yellow_left", "class_red_bottom", "class_red_top")


def split_id(split: str) -> int:
    """The integer that identifies ``split`` in a sample's seed.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.

    Returns:
        0, 1 or 2.

    Raises:
        ValueError: for any other name.

    Example:
        >>> split_id("val")
        1
    """
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    return SPLITS[split]


def _check_rgb(name: str, value: object) -> None:
    ok = isinstance(value, tuple) and len(value) == 3
    ok = ok and all(isinstance(v, (int, float)) and 0.0 <= float(v) <= 1.0 for v in value)
    if not ok:
        raise ValueError(
            f"CirclesConfig.{name} must be a tuple of 3 floats in [0, 1], got {value!r}"
        )


def _check_prob(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"CirclesConfig.{name} must be a probability in [0, 1], got {value!r}")


@dataclass(frozen=True)
class CirclesConfig:
    """Settings of the circles data set; the defaults reproduce the original exactly.

    A circle's radius is ``int(S * radius_min + S * radius_span * u)`` with u uniform in [0, 1)
    (10 to 26 pixels at S = 128). Its side is left with probability ``p_left``; its centre x keeps
    the whole circle inside that half; its centre y is ``int(r + u' (S - r))``, so a circle may run
    past the bottom edge. Pixels within distance ``r`` of the centre (inclusive) belong to it.

    Attributes:
        image_size: side S of the square images, in pixels (at least 16).
        num_circles: circles drawn per image, in order; later ones cover earlier ones.
        radius_min: smallest radius as a fraction of S (1/12).
        radius_span: radius range as a fraction of S (1/8); ``radius_min + radius_span`` must not
            exceed 1/4, so that a circle fits inside one half.
        lattice_cells: Perlin lattice cells per side (4); a cell is ``S / lattice_cells`` pixels.
        noise_intensity: the background of each channel is min-max normalised, then scaled to
            ``[0, noise_intensity]`` (0.5).
        p_yellow: probability that a circle is yellow (else red).
        p_left: probability that a circle lies in the left half (else the right half).
        yellow: RGB colour of yellow circles, floats in [0, 1].
        red: RGB colour of red circles, floats in [0, 1].
        class_yellow_right: class of a yellow circle whose centre x > S/2 (1).
        class_yellow_left: class of a yellow circle whose centre x <= S/2 (2).
        class_red_bottom: class of a red circle whose centre y > S/2 (3); rows grow downwards.
        class_red_top: class of a red circle whose centre y <= S/2 (0, background).
        quantize: round images to 8 bits (multiples of 1/255), so that on-the-fly samples equal
            exported and reloaded PNGs exactly. The background maximum then is 128/255.

    Raises:
        ValueError: naming the field, for a value out of range.

    Example:
        >>> config = CirclesConfig()
        >>> config.image_size, config.num_classes, config.radius_bounds
        (128, 4, (10, 26))
        >>> CirclesConfig(image_size=8)
        Traceback (most recent call last):
        ...
        ValueError: CirclesConfig.image_size must be an int >= 16, got 8
    """

    image_size: int = 128
    num_circles: int = 3
    radius_min: float = 1 / 12
    radius_span: float = 1 / 8
    lattice_cells: int = 4
    noise_intensity: float = 0.5
    p_yellow: float = 0.5
    p_left: float = 0.5
    yellow: tuple[float, float, float] = (1.0, 1.0, 0.0)
    red: tuple[float, float, float] = (1.0, 0.0, 0.0)
    class_yellow_right: int = 1
    class_yellow_left: int = 2
    class_red_bottom: int = 3
    class_red_top: int = 0
    quantize: bool = True

    def __post_init__(self) -> None:
        def is_int(v: object) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        if not is_int(self.image_size) or self.image_size < 16:
            raise ValueError(
                f"CirclesConfig.image_size must be an int >= 16, got {self.image_size!r}"
            )
        if not is_int(self.num_circles) or self.num_circles < 0:
            raise ValueError(
                f"CirclesConfig.num_circles must be an int >= 0, got {self.num_circles!r}"
            )
        for name in ("radius_min", "radius_span", "noise_intensity"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"CirclesConfig.{name} must be a float, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"CirclesConfig.{name} must be finite and >= 0, got {value!r}")
        if self.radius_min * self.image_size < 1:
            raise ValueError(
                "CirclesConfig.radius_min must give a radius of at least 1 pixel "
                f"(radius_min * image_size >= 1), got {self.radius_min!r} at "
                f"image_size {self.image_size}"
            )
        if self.radius_min + self.radius_span > 0.25:
            raise ValueError(
                "CirclesConfig.radius_min + radius_span must be <= 0.25 so that a circle fits in "
                f"one half of the image, got {self.radius_min!r} + {self.radius_span!r}"
            )
        if not is_int(self.lattice_cells) or not 1 <= self.lattice_cells <= self.image_size // 2:
            raise ValueError(
                "CirclesConfig.lattice_cells must be an int in [1, image_size // 2], "
                f"got {self.lattice_cells!r}"
            )
        if self.noise_intensity > 1:
            raise ValueError(
                f"CirclesConfig.noise_intensity must be in [0, 1], got {self.noise_intensity!r}"
            )
        _check_prob("p_yellow", self.p_yellow)
        _check_prob("p_left", self.p_left)
        _check_rgb("yellow", self.yellow)
        _check_rgb("red", self.red)
        for name in _CLASS_FIELDS:
            value = getattr(self, name)
            if not is_int(value) or not 0 <= value <= 255:
                raise ValueError(f"CirclesConfig.{name} must be an int in [0, 255], got {value!r}")
        if not isinstance(self.quantize, bool):
            raise ValueError(f"CirclesConfig.quantize must be a bool, got {self.quantize!r}")

    @property
    def num_classes(self) -> int:
        """Number of classes: background 0 plus the largest class index used."""
        return 1 + max(getattr(self, name) for name in _CLASS_FIELDS)

    @property
    def radius_bounds(self) -> tuple[int, int]:
        """Smallest and largest radius in pixels that the rule can draw."""
        s = self.image_size
        low = int(s * self.radius_min)
        high = math.ceil(s * self.radius_min + s * self.radius_span) - 1
        return low, max(low, high)

    def to_dict(self) -> dict[str, object]:
        """The fields as plain JSON-friendly values (tuples become lists)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> CirclesConfig:
        """Build a config from :meth:`to_dict` output; unknown keys raise ValueError.

        Example:
            >>> CirclesConfig.from_dict(CirclesConfig(image_size=64).to_dict()).image_size
            64
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown CirclesConfig fields {unknown}; accepted: {sorted(known)}")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**kwargs)  # type: ignore[arg-type]
