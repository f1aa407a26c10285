"""The Not-so-Clevr data (Liu et al. 2018): square centres, the two splits, inputs, targets.

A 64 x 64 canvas holds one 9 x 9 square whose centre ``(i, j)`` runs over 4..59 on each axis
(56 x 56 = 3,136 examples). Liu et al.'s two supervised tasks read it both ways:

- coordinate *classification*: the centre's coordinates in (:func:`encode`), the centre pixel out
  (:func:`targets`, an index into the flattened canvas);
- coordinate *regression*: a one-hot image of the centre in (:func:`onehot_images`), the
  coordinates out (:func:`encode`).

Splits (deterministic):

- :func:`paper_split_indices`: Liu et al.'s, as their ``data/not_so_clevr_generator.py``
  (uber-research/CoordConv) draws them. ``uniform``: each centre, in their sweep order (column
  outer, row inner), is held out when a uniform draw of numpy's legacy generator seeded with
  20202 falls below 0.25: 768 held out, one fixed split whatever the training seed. ``quadrant``:
  held out when both coordinates divided by the canvas side (64) exceed 0.5, i.e. both >= 33:
  27 x 27 = 729 held out.
- :func:`split_indices`: this project's earlier splits: ``uniform``, a random quarter (784)
  chosen by the seed; ``quadrant``, both ``(c - 4) / 55 > 0.5``, i.e. both >= 32 (784).
- :func:`hold_out`: a seeded share of a split's training indices, kept aside for validation
  (their protocol has none).

Everything is a pure function of its arguments: nothing random outside the seeded draws,
nothing read from disk.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

CANVAS = 64
SQUARE = 9
CENTRE_MIN = SQUARE // 2  # 4
CENTRE_MAX = CANVAS - SQUARE // 2 - 1  # 59
SPLITS = ("uniform", "quadrant")
#: The seed their generator sets before drawing the uniform split.
PAPER_UNIFORM_SEED = 20202

__all__ = [
    "CANVAS",
    "CENTRE_MAX",
    "CENTRE_MIN",
    "PAPER_UNIFORM_SEED",
    "SPLITS",
    "SQUARE",
    "centres",
    "encode",
    "hold_out",
    "onehot_images",
    "paper_split_indices",
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


def _split(held: Tensor) -> tuple[Tensor, Tensor]:
    return torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()


def paper_split_indices(split: str) -> tuple[Tensor, Tensor]:
    """Liu et al.'s train and test indices into :func:`centres` (see the module docstring).

    Neither split depends on any seed of a run: the uniform one is their fixed draw.

    Args:
        split: ``"uniform"`` or ``"quadrant"``.

    Returns:
        ``(train, test)`` int64 index tensors, sorted, disjoint, together covering all 3,136.

    Example:
        >>> train, test = paper_split_indices("uniform")
        >>> len(train), len(test), len(paper_split_indices("quadrant")[1])
        (2368, 768, 729)
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    c = centres()
    if split == "uniform":
        side = CENTRE_MAX - CENTRE_MIN + 1
        # Their sweep visits column x (outer) then row y (inner): centre (i, j) is draw number
        # (j - 4) * 56 + (i - 4) of one legacy-numpy stream.
        draws = np.random.RandomState(PAPER_UNIFORM_SEED).random_sample(side * side)
        order = (c[:, 1] - CENTRE_MIN) * side + (c[:, 0] - CENTRE_MIN)
        held = torch.from_numpy(draws < 0.25)[order]
    else:
        held = (c.double() / CANVAS > 0.5).all(dim=1)
    return _split(held)


def hold_out(indices: Tensor, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Split ``indices`` into a kept part and a held-out part of ``round(fraction * n)``.

    Args:
        indices: int64 ``(n,)``, e.g. the training indices of a split.
        fraction: share held out, in [0, 1).
        seed: seeds the choice (a seeded permutation, independent of any other draw).

    Returns:
        ``(kept, held)``, each sorted; together exactly ``indices``.

    Example:
        >>> kept, held = hold_out(torch.arange(10), 0.2, seed=0)
        >>> len(kept), len(held), sorted(kept.tolist() + held.tolist()) == list(range(10))
        (8, 2, True)
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")
    n = indices.numel()
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    count = round(fraction * n)
    held = torch.sort(indices[perm[:count]]).values
    kept = torch.sort(indices[perm[count:]]).values
    return kept, held


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
