"""The one timing harness: interleaved rounds with ``torch.utils.benchmark``.

Comparing the cost of several implementations on a shared machine needs more than one timing of
each: load drifts. :func:`interleaved` times every candidate once per round, in an order that
rotates from round to round, so each round compares the candidates under the same load; ratios
are then formed *within* a round (:func:`round_ratios`) and summarised by their median over
rounds (:func:`median_ratios`), which keeps drifting load out of the comparison. Each single
timing is :meth:`torch.utils.benchmark.Timer.blocked_autorange`'s median (it synchronises an
accelerator around the timed blocks); :func:`median_time` is one such timing, for a figure that
compares nothing, and :func:`cpu_time` the CPU time per call, for a figure that load disturbs
less. Times paired by other means (the two sides of a step measured back to back)
go through the same :func:`round_ratios` and :func:`median_ratios`, one pair per round.
:func:`median_interval` gives a ratio's interval over the rounds.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping

__all__ = [
    "cpu_time",
    "interleaved",
    "median_interval",
    "median_ratios",
    "median_time",
    "round_ratios",
]


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


def median_time(fn: Callable[[], object], *, min_run_time: float, threads: int = 1) -> float:
    """Seconds per call of ``fn``: one timing of the harness, for a figure that compares nothing.

    Args:
        fn: function of no arguments.
        min_run_time: seconds the timing runs for at least.
        threads: torch intra-op threads of the timed code.

    Example:
        >>> median_time(lambda: None, min_run_time=1e-3) > 0
        True
    """
    return interleaved({"fn": fn}, rounds=1, min_run_time=min_run_time, threads=threads)["fn"][0]


def cpu_time(fn: Callable[[], object], *, min_run_time: float) -> float:
    """CPU seconds of this process (``time.process_time``) per call of ``fn``, after one
    warm-up call, over at least three calls and ``min_run_time`` wall seconds: steadier than wall
    time where other jobs share the cores, since it leaves out the time spent waiting for one.

    Example:
        >>> cpu_time(lambda: sum(range(1000)), min_run_time=1e-3) >= 0
        True
    """
    import time

    fn()
    calls, start, wall = 0, time.process_time(), time.perf_counter()
    while calls < 3 or time.perf_counter() - wall < min_run_time:
        fn()
        calls += 1
    return (time.process_time() - start) / calls


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


def median_interval(values: list[float], level: float = 0.9) -> tuple[float, float, float]:
    """A distribution-free interval for the median of ``values`` (e.g. per-round ratios).

    The interval runs from the k-th smallest to the k-th largest value, with the largest k whose
    coverage ``1 - 2 P(Binomial(n, 1/2) < k)`` is at least ``level``; with too few values for
    ``level`` it is the whole range, and the coverage returned says what it is worth (5 rounds:
    0.94; 3 rounds: 0.75).

    Returns:
        ``(low, high, coverage)``.

    Raises:
        ValueError: no values, or ``level`` outside (0, 1).

    Example:
        >>> median_interval([1.0, 1.2, 1.1, 1.3, 1.05])
        (1.0, 1.3, 0.9375)
        >>> median_interval([float(v) for v in range(20)])[:2]
        (5.0, 14.0)
    """
    from math import comb

    if not values:
        raise ValueError("median_interval of no values")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    ordered = sorted(values)
    n = len(ordered)

    def coverage(k: int) -> float:
        return 1.0 - 2.0 * sum(comb(n, i) for i in range(k)) / 2**n

    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(k + 1) >= level:
        k += 1
    return ordered[k - 1], ordered[n - k], coverage(k)
