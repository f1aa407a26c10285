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
