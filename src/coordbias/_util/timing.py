"""The one timing harness: interleaved rounds with ``torch.utils.benchmark``.

Comparing the cost of several implementations on a shared machine needs more than one timing of
each: load drifts. :func:`interleaved` times every candidate once per round, in an order that
rotates from round to round, so each round compares the candidates under the same load; ratios
are then formed *within* a round (:func:`round_ratios`) and summarised by their median over
rounds (:func:`median_ratios`), which keeps drifting load out of the comparison. Each single
timing is :meth:`torch.utils.benchmark.Timer.blocked_autorange`'s median (it synchronises an
accelerator around the timed blocks).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping

__all__ = ["interleaved", "median_ratios", "round_ratios"]


def interleaved(
    fns: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    min_run_time: float,
    threads: int = 1,
) -> dict[str, list[float]]:
    """Time several functions side by side in interleaved rounds.

    Args:
        fns: name -> function of no arguments (one call is one step: a forward, a training step).
        rounds: rounds; each round times every function once, in an order rotated by one.
        min_run_time: seconds each single timing runs for at least.
        threads: torch intra-op threads of the timed code.

    Returns:
        name -> seconds per call, one entry per round.

    Raises:
        ValueError: ``rounds < 1``, ``min_run_time <= 0``, ``threads < 1`` or no function.

    Example:
        >>> times = interleaved({"a": lambda: None, "b": lambda: None}, rounds=2, min_run_time=1e-3)
        >>> sorted(times), [len(t) for t in times.values()]
        (['a', 'b'], [2, 2])
    """
    from torch.utils.benchmark import Timer

    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if not min_run_time > 0:
        raise ValueError(f"min_run_time must be positive, got {min_run_time}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    names = list(fns)
    if not names:
        raise ValueError("nothing to time: fns is empty")
    timers = {n: Timer(stmt="fn()", globals={"fn": fns[n]}, num_threads=threads) for n in names}
    for n in names:
        fns[n]()  # warm-up outside the timer (first-call allocations, caches, compilation)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for n in names[shift:] + names[:shift]:
            times[n].append(timers[n].blocked_autorange(min_run_time=min_run_time).median)
    return times


def round_ratios(times: Mapping[str, list[float]], base: str) -> dict[str, list[float]]:
    """Per round, ``times[name] / times[base]`` for every name.

    Example:
        >>> round_ratios({"x": [2.0, 3.0], "ref": [1.0, 2.0]}, "ref")
        {'x': [2.0, 1.5], 'ref': [1.0, 1.0]}
    """
    return {n: [t / b for t, b in zip(ts, times[base], strict=True)] for n, ts in times.items()}


def median_ratios(times: Mapping[str, list[float]], base: str) -> dict[str, float]:
    """Median over rounds of the per-round ratio ``times[name] / times[base]``.

    Example:
        >>> median_ratios({"x": [2.0, 3.0, 9.0], "ref": [1.0, 2.0, 3.0]}, "ref")
        {'x': 2.0, 'ref': 1.0}
    """
    return {n: statistics.median(r) for n, r in round_ratios(times, base).items()}
