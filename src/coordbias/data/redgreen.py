"""The Red-Green data set of Kayhan and van Gemert (CVPR 2020): two boxes, whose order is the class.

A 32 x 32 RGB image, black, holds a red and a green 4 x 4 box side by side. Class 0: red left of
green; class 1: green left of red. During training the class is also tied to the image half:
class-0 pairs sit in the top half (box rows start at 3..10), class-1 pairs in the bottom half
(19..26). The "dissimilar" test set moves every pair 16 rows into the other half (class 0 down,
class 1 up), so a network that reads the boxes' absolute height instead of their order fails it.

How a pair is drawn (their generator, ``full_conv/Exp2_Red_Green/utils_red_green.py`` in
oskyhn/CNNs-Without-Borders, rebuilt from its rules): sample ``i`` has class ``i % 2``. The left
box's column is uniform in 0..9 and its top row is the class's offset (7 or 23) plus a uniform
integer in -4..3; the right box's column is uniform in (left column)..27 and its row is drawn the
same way, both redrawn together until the columns are at least 5 apart (so the boxes never
touch). The -4..3 comes from numpy's legacy ``randint(-28 / 6, 28 / 6)``, which truncates its
float bounds to -4 and 4.

Two flavours (``draws``):

- ``"paper"``: their exact sets. They re-seed numpy's legacy generator (seed 1988) before each
  set and draw the samples one after the other, so every set is a prefix of one stream: the
  validation set and the "similar" test set are the first 1,000 *training* images, and the
  "dissimilar" set is those same images shifted. Their validation loss (early stopping) and
  their "similar" accuracy are therefore measured on training images.
- ``"independent"``: the same rules, but sample ``i`` of a split draws from
  ``numpy.random.SeedSequence([seed, split_id, i])`` alone (as the circles data set does):
  training, validation and test images are independent; "dissimilar" is the "similar" test set
  shifted, pair by pair.

Either way sample ``i`` of a split is a pure function of ``(draws, seed, split, i)``. The paper's
stream is sequential (a rejected draw shifts every later sample), so its prefix is computed once
per seed and length and kept (a few milliseconds for 2,000 samples).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import torch
from torch.utils.data import Dataset

from coordbias.data.config import split_id

__all__ = [
    "BOX",
    "DRAWS",
    "IMAGE_SIZE",
    "PAPER_SEED",
    "REDGREEN_SPLITS",
    "SHIFT",
    "RedGreenDataset",
    "redgreen_boxes",
    "redgreen_tensors",
]

IMAGE_SIZE = 32
BOX = 4
#: Rows by which the "dissimilar" test set moves every pair (class 0 down, class 1 up).
SHIFT = 16
#: The seed their generator re-seeds numpy with before every set.
PAPER_SEED = 1988
#: The data set's flavours (see the module docstring).
DRAWS = ("paper", "independent")
#: The splits and their sizes in the paper (2,000 / 1,000 / 1,000 / 1,000), read-only.
REDGREEN_SPLITS: Mapping[str, int] = MappingProxyType(
    {"train": 2000, "val": 1000, "similar": 1000, "dissimilar": 1000}
)

_SPAN = IMAGE_SIZE - BOX  # 28: the largest top-left coordinate plus one
_ROW_OFFSETS = (7, 23)  # class 0 (top half), class 1 (bottom half)
# randint(-28 / 6, 28 / 6) in numpy's legacy generator: bounds truncated to ints, high excluded.
_JITTER = (int(-_SPAN / 6), int(_SPAN / 6))  # (-4, 4): -4..3
_LEFT_COLUMNS = _SPAN // 2 - BOX  # 10: the left box's column is 0..9
_MIN_GAP = BOX + 1  # columns at least 5 apart
# Which channel each box is painted in: class 0 red (0) then green (1), class 1 the reverse.
_COLOURS = ((0, 1), (1, 0))


def _check_split(split: str) -> None:
    if split not in REDGREEN_SPLITS:
        raise ValueError(f"split must be one of {', '.join(REDGREEN_SPLITS)}; got {split!r}")


def _check_draws(draws: str) -> None:
    if draws not in DRAWS:
        raise ValueError(f"draws must be one of {', '.join(DRAWS)}; got {draws!r}")


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _draw_pair(randint, label: int) -> tuple[int, int, int, int]:
    """One pair ``(row_left, col_left, row_right, col_right)`` of class ``label``.

    ``randint(low, high)`` draws an int in ``low..high - 1``; the draws are made in the order of
    their generator (left column, left row, right column, right row, then the rejected retries).
    """
    offset = _ROW_OFFSETS[label]
    col1 = int(randint(0, _LEFT_COLUMNS))
    row1 = int(randint(*_JITTER)) + offset
    while True:
        col2 = int(randint(col1, _SPAN))
        row2 = int(randint(*_JITTER)) + offset
        if abs(col2 - col1) >= _MIN_GAP:
            return row1, col1, row2, col2


@functools.lru_cache(maxsize=8)
def _paper_stream(seed: int, length: int) -> np.ndarray:
    """The first ``length`` pairs of their stream: ``(length, 4)`` int64, read-only."""
    rng = np.random.RandomState(seed)
    out = np.array([_draw_pair(rng.randint, i % 2) for i in range(length)], dtype=np.int64)
    out.setflags(write=False)
    return out


def _independent_pair(seed: int, split: str, index: int) -> tuple[int, int, int, int]:
    # "similar" and "dissimilar" are one test set, the second shifted.
    stream = "test" if split in ("similar", "dissimilar") else split
    rng = np.random.default_rng(np.random.SeedSequence([seed, split_id(stream), index]))
    return _draw_pair(rng.integers, index % 2)


def redgreen_boxes(
    split: str, indices, *, seed: int = PAPER_SEED, draws: str = "paper"
) -> tuple[np.ndarray, np.ndarray]:
    """The boxes and classes of samples ``indices`` of a split.

    Args:
        split: one of :data:`REDGREEN_SPLITS`.
        indices: sample indices (any non-negative ints; a split's paper size is not a limit).
        seed: the data seed (the paper's: :data:`PAPER_SEED`).
        draws: ``"paper"`` or ``"independent"`` (see the module docstring).

    Returns:
        ``(boxes, labels)``: ``boxes`` int64 ``(N, 4)``, the top-left corners ``(row_left,
        col_left, row_right, col_right)`` of the left and the right box (shifted for
        ``"dissimilar"``); ``labels`` int64 ``(N,)``, 0 (red left) or 1 (green left).

    Example:
        >>> boxes, labels = redgreen_boxes("train", [0, 1])
        >>> labels.tolist(), bool(boxes[0, 0] < 16 <= boxes[1, 0])
        ([0, 1], True)
    """
    _check_split(split)
    _check_draws(draws)
    _check_seed(seed)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and idx.min() < 0:
        raise IndexError(f"indices must be non-negative, got {int(idx.min())}")
    if draws == "paper":
        stream = _paper_stream(seed, int(idx.max()) + 1 if idx.size else 0)
        boxes = stream[idx].copy()
    else:
        boxes = np.array(
            [_independent_pair(seed, split, int(i)) for i in idx], dtype=np.int64
        ).reshape(-1, 4)
    labels = idx % 2
    if split == "dissimilar":
        shift = np.where(labels == 0, SHIFT, -SHIFT)
        boxes[:, 0] += shift
        boxes[:, 2] += shift
    return boxes, labels


def _render(boxes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Images ``(N, 3, 32, 32)`` float32: black, each box 1 in its colour's channel."""
    images = np.zeros((len(labels), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for n, ((r1, c1, r2, c2), label) in enumerate(zip(boxes.tolist(), labels.tolist())):
        left, right = _COLOURS[label]
        images[n, left, r1 : r1 + BOX, c1 : c1 + BOX] = 1.0
        images[n, right, r2 : r2 + BOX, c2 : c2 + BOX] = 1.0
    return images


def redgreen_tensors(
    split: str, length: int | None = None, *, seed: int = PAPER_SEED, draws: str = "paper"
) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole split at once, for a ``TensorDataset``.

    Args:
        split: one of :data:`REDGREEN_SPLITS`.
        length: number of samples (default: the paper's size of the split).
        seed: the data seed.
        draws: ``"paper"`` or ``"independent"``.

    Returns:
        ``(images, labels)``: float32 ``(N, 3, 32, 32)`` in {0, 1}, int64 ``(N,)``.

    Example:
        >>> images, labels = redgreen_tensors("dissimilar", 4)
        >>> tuple(images.shape), labels.tolist(), float(images[0].sum())
        ((4, 3, 32, 32), [0, 1, 0, 1], 32.0)
    """
    _check_split(split)
    length = REDGREEN_SPLITS[split] if length is None else length
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ValueError(f"length must be a non-negative int, got {length!r}")
    boxes, labels = redgreen_boxes(split, range(length), seed=seed, draws=draws)
    return torch.from_numpy(_render(boxes, labels)), torch.from_numpy(labels)


class RedGreenDataset(Dataset):
    """The Red-Green data set as a ``torch.utils.data.Dataset``; nothing touches the disk.

    Args:
        split: ``"train"``, ``"val"``, ``"similar"`` or ``"dissimilar"``.
        length: number of samples (default: the paper's size of the split).
        seed: the data seed (default: the paper's, 1988).
        draws: ``"paper"`` (their exact sets) or ``"independent"`` (see the module docstring).

    Shape:
        item: ``(image, label)``, image float32 ``(3, 32, 32)``, label an int64 scalar.

    Example:
        >>> data = RedGreenDataset("val", draws="independent", seed=3)
        >>> image, label = data[1]
        >>> len(data), tuple(image.shape), int(label)
        (1000, (3, 32, 32), 1)
    """

    def __init__(
        self,
        split: str = "train",
        length: int | None = None,
        *,
        seed: int = PAPER_SEED,
        draws: str = "paper",
    ) -> None:
        _check_split(split)
        _check_draws(draws)
        _check_seed(seed)
        length = REDGREEN_SPLITS[split] if length is None else length
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise ValueError(f"length must be a non-negative int, got {length!r}")
        self.split, self.length, self.seed, self.draws = split, length, seed, draws

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a data set of length {self.length}")
        boxes, labels = redgreen_boxes(self.split, [index], seed=self.seed, draws=self.draws)
        return torch.from_numpy(_render(boxes, labels)[0]), torch.tensor(int(labels[0]))

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole data set as ``(images, labels)`` (see :func:`redgreen_tensors`)."""
        return redgreen_tensors(self.split, self.length, seed=self.seed, draws=self.draws)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(split={self.split!r}, length={self.length}, "
            f"seed={self.seed}, draws={self.draws!r})"
        )
