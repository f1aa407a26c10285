"""The one timing harness: rotation, one entry per round, ratios within rounds, bad options."""

import pytest

from coordbias._util.timing import interleaved, median_ratios, round_ratios


def test_every_function_is_timed_once_per_round_in_rotating_order(monkeypatch):
    import torch.utils.benchmark as benchmark

    timed: list[str] = []
    names = {}

    class RecordingTimer:
        def __init__(self, stmt, globals, num_threads):
            self.fn = globals["fn"]

        def blocked_autorange(self, min_run_time):
            timed.append(names[self.fn])
            return type("Measurement", (), {"median": float(len(timed))})()

    monkeypatch.setattr(benchmark, "Timer", RecordingTimer)
    warmed: list[str] = []
    fns = {}
    for name in ("a", "b", "c"):
        fns[name] = lambda name=name: warmed.append(name)
        names[fns[name]] = name
    times = interleaved(fns, rounds=4, min_run_time=1e-4)
    assert warmed == ["a", "b", "c"]  # one warm-up call each, before any timing
    assert timed == list("abcbcacababc")
    assert times["b"] == [2.0, 4.0, 9.0, 11.0]  # one entry per round, in round order


def test_real_timings_are_positive():
    times = interleaved(
        {"a": lambda: None, "b": lambda: sum(range(100))}, rounds=2, min_run_time=1e-3
    )
    assert all(len(t) == 2 and min(t) > 0 for t in times.values())


def test_ratios_are_formed_within_rounds():
    times = {"x": [2.0, 4.0, 30.0], "ref": [1.0, 2.0, 10.0]}
    assert round_ratios(times, "ref")["x"] == [2.0, 2.0, 3.0]
    assert median_ratios(times, "ref") == {"x": 2.0, "ref": 1.0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rounds": 0, "min_run_time": 0.1}, "rounds"),
        ({"rounds": 1, "min_run_time": 0.0}, "min_run_time"),
        ({"rounds": 1, "min_run_time": 0.1, "threads": 0}, "threads"),
    ],
)
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        interleaved({"a": lambda: None}, **kwargs)


def test_median_interval_covers_as_the_binomial_says():
    from math import comb

    from coordbias._util.timing import median_interval

    values = [float(v) for v in (7, 1, 9, 3, 5, 8, 2, 6, 4, 0, 10)]  # 11 values, 0..10
    low, high, coverage = median_interval(values, level=0.9)
    # k-th smallest to k-th largest: coverage 1 - 2 P(B < k), B ~ Binomial(11, 1/2)
    k = int(low) + 1
    assert high == 10.0 - low
    assert coverage == pytest.approx(1 - 2 * sum(comb(11, i) for i in range(k)) / 2**11)
    assert coverage >= 0.9
    wider_k_fails = 1 - 2 * sum(comb(11, i) for i in range(k + 1)) / 2**11
    assert wider_k_fails < 0.9  # the largest k that still covers
    assert median_interval([1.0, 2.0, 3.0]) == (1.0, 3.0, 0.75)  # too few: the whole range
    with pytest.raises(ValueError):
        median_interval([])
    with pytest.raises(ValueError):
        median_interval([1.0], level=1.0)


def test_median_time_is_one_timing_of_the_harness(monkeypatch):
    import coordbias._util.timing as timing

    calls = []

    def fake(fns, *, rounds, min_run_time, threads):
        calls.append((list(fns), rounds, min_run_time, threads))
        return {"fn": [0.25]}

    monkeypatch.setattr(timing, "interleaved", fake)
    assert timing.median_time(lambda: None, min_run_time=0.1, threads=2) == 0.25
    assert calls == [(["fn"], 1, 0.1, 2)]
