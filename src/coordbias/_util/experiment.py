"""Small helpers of every part that trains and compares networks (the study, the benchmark,
the scheduler): the seeds a command runs, a seeded block, a thread count for a block, a
parameter count."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["check_positive_int", "count_parameters", "resolve_seeds", "seeded", "torch_threads"]


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 1, else raise a ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value}")
    return value


def resolve_seeds(seeds: int | Sequence[int] | None, default: int) -> list[int]:
    """The seeds a study or a benchmark runs: a count ``n`` (seeds ``0..n-1``), a list (kept in
    its order, without repeats) or ``None`` (a count of ``default``).

    Raises:
        TypeError: a bool.
        ValueError: a count below 1, a seed that is not a non-negative int, an empty list.
    """
    if seeds is None:
        seeds = default
    if isinstance(seeds, bool):
        raise TypeError(f"seeds must be an int count or a list of ints; got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1; got {seeds}")
        return list(range(seeds))
    out = []
    for s in seeds:
        if not isinstance(s, int) or isinstance(s, bool) or s < 0:
            raise ValueError(f"seeds must be non-negative ints; got {s!r} in {list(seeds)!r}")
        if s not in out:
            out.append(s)
    if not out:
        raise ValueError("seeds must name at least one seed; got an empty list")
    return out


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's global RNG seeded, restoring the caller's RNG state afterwards."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def count_parameters(module: Any) -> int:
    """Number of trainable scalars in ``module`` (an ``nn.Module``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, restoring the caller's count afterwards.

    The one place a thread count takes effect: the scheduler's ``execute_task`` around every
    task, ``coordbias speed`` around its measurement, an experiment around its own training.
    ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` say the same to anything started inside. The
    count is checked where it is resolved (``coordbias._util.errors.check_count``), not here.

    Args:
        n: torch threads; ``None`` keeps the process's own (the block runs unchanged).
    """
    if n is None:
        yield
        return
    import torch

    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
    before = torch.get_num_threads()
    environment = {name: os.environ.get(name) for name in names}
    torch.set_num_threads(n)
    os.environ.update(dict.fromkeys(names, str(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)
        for name, value in environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
