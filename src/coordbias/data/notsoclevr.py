"""The Not-so-Clevr data (Liu et al. 2018): square centres, the two splits, inputs, targets.

A 64 x 64 canvas holds one 9 x 9 square whose centre ``(i, j)`` runs over 4..59 on each axis
(56 x 56 = 3,136 examples). Liu et al.'s two supervised tasks read it both ways:

- coordinate *classification*: the centre's coordinates in (:func:`encode`), the centre pixel out
  (:func:`targets`, an index into the flattened canvas);
- coordinate *regression*: a one-hot image of the centre in (:func:`onehot_images`), the
  coordinates out (:func:`encode`).

Splits (:func:`split_indices`; deterministic): ``uniform``, a seeded random quarter held out;
``quadrant``, the centres whose normalised coordinates both exceed 0.5 held out.
Everything is a pure function of its arguments: nothing random outside the uniform split's
seeded permutation, nothing read from disk.
"""

from __future__ import annotations

import torch
from torch import Tensor

CANVAS = 64
SQUARE = 9
CENTRE_MIN = SQUARE // 2  # 4
CENTRE_MAX = CANVAS - SQUARE // 2 - 1  # 59
SPLITS = ("uniform", "quadrant")

__all__ = [
    "CANVAS",
    "CENTRE_MAX",
    "CENTRE_MIN",
    "SPLITS",
    "SQUARE",
    "centres",
    "encode",
    "onehot_images",
    "quadrant_mask",
    "split_indices",
    "targets",
]


def centres() -> Tensor:
    """All square centres, row-major.

    Returns:
        int64 tensor ``(3136, 2)`` of ``(i, j)`` = (row, column), each in 4..59.

    Example:
        >>> c = centres()
        >>> c.shape, c[0].tolist(), c[-1].tolist()
        (torch.Size([3136, 2]), [4, 4], [59, 59])
    """
    side = torch.arange(CENTRE_MIN, CENTRE_MAX + 1)
    ii, jj = torch.meshgrid(side, side, indexing="ij")
    return torch.stack([ii.flatten(), jj.flatten()], dim=1)


def quadrant_mask(c: Tensor) -> Tensor:
    """True where both normalised centre coordinates ``(c - 4) / 55`` exceed 0.5.

    Args:
        c: centres ``(N, 2)``.

    Returns:
        bool tensor ``(N,)``.

    Example:
        >>> quadrant_mask(torch.tensor([[31, 59], [32, 32]])).tolist()
        [False, True]
    """
    norm = (c - CENTRE_MIN).double() / (CENTRE_MAX - CENTRE_MIN)
    return (norm > 0.5).all(dim=1)


def split_indices(split: str, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Train and test indices into :func:`centres` for a split.

    Args:
        split: ``"uniform"`` (a seeded random quarter held out) or ``"quadrant"``.
        seed: seeds the uniform split's permutation (the quadrant split does not depend on it).

    Returns:
        ``(train, test)`` int64 index tensors, sorted, disjoint, together covering all 3,136.

    Example:
        >>> train, test = split_indices("uniform", seed=0)
        >>> len(train), len(test)
        (2352, 784)
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    c = centres()
    n = c.shape[0]
    if split == "uniform":
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        test = perm[: n // 4]
    else:
        test = torch.nonzero(quadrant_mask(c)).flatten()
    held = torch.zeros(n, dtype=torch.bool)
    held[test] = True
    return torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()


def encode(c: Tensor) -> Tensor:
    """Centres scaled to [-1, 1] on the pixel grid: ``2 * c / 63 - 1``.

    Args:
        c: centres ``(N, 2)``, int.

    Returns:
        float32 ``(N, 2)``.
    """
    return 2.0 * c.float() / (CANVAS - 1) - 1.0


def targets(c: Tensor) -> Tensor:
    """Index of the centre pixel in the flattened 64 x 64 canvas: ``i * 64 + j``, shape ``(N,)``."""
    return c[:, 0] * CANVAS + c[:, 1]


def onehot_images(c: Tensor) -> Tensor:
    """One-hot images of the centres: 1 at pixel ``(i, j)``, 0 elsewhere (the regression input).

    Args:
        c: centres ``(N, 2)``, int.

    Returns:
        float32 ``(N, 1, 64, 64)``.

    Example:
        >>> img = onehot_images(torch.tensor([[4, 59]]))
        >>> img.shape, float(img.sum()), float(img[0, 0, 4, 59])
        (torch.Size([1, 1, 64, 64]), 1.0, 1.0)
    """
    out = torch.zeros(c.shape[0], CANVAS * CANVAS)
    out[torch.arange(c.shape[0]), targets(c)] = 1.0
    return out.view(-1, 1, CANVAS, CANVAS)
