"""``coordbias bench layers --quick``: runs end to end and writes a well-formed JSON."""

import json

import pytest
import torch

from coordbias.bench import layers as bench
from coordbias.cli.main import build_parser, main


def test_quick_benchmark_writes_the_json(tmp_path, capsys):
    assert main(["bench", "layers", "--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "median" in printed and "worst" in printed
    data = json.loads((tmp_path / "bench_layers.json").read_text())
    assert data["benchmark"] == "layers"
    assert data["torch"] == torch.__version__
    assert data["threads"] == 1 and data["device"] == "cpu" and data["quick"] is True
    assert len(data["results"]) == len(bench.QUICK_GRID)
    for result, case in zip(data["results"], bench.QUICK_GRID):
        assert (result["batch"], result["in_channels"], result["out_channels"], result["size"]) == (
            case
        )
        for mode in ("train", "infer"):
            assert set(result["ms"][mode]) == {"vanilla", "coordbias", "coordconv", "floor"}
            assert all(t > 0 for t in result["ms"][mode].values())
            assert set(result["ratio"][mode]) == {"coordbias", "coordconv", "floor"}
            assert all(r > 0 for r in result["ratio"][mode].values())
            best = result["ratio_of_best"][mode]
            assert set(best) == {"coordbias", "coordconv", "floor"}
            assert all(r > 0 for r in best.values())
        # The coordinate bias keeps no output-sized tensor for backward.
        assert result["saved_extra"]["coordbias"] < 0.5
    summary = data["summary"]
    for mode in ("train", "infer"):
        for name in ("coordbias", "coordconv", "floor"):
            ratios = [r["ratio"][mode][name] for r in data["results"]]
            assert summary[mode][name]["worst"] == max(ratios)
            assert min(ratios) <= summary[mode][name]["median"] <= max(ratios)
            best = [r["ratio_of_best"][mode][name] for r in data["results"]]
            assert summary[mode][name]["worst_of_best"] == max(best)
    assert set(summary["targets_met"]) == {"train_median", "train_worst", "infer_median"}
    assert summary["coordbias_below_coordconv_in_training"] == all(
        r["ratio"]["train"]["coordbias"] < r["ratio"]["train"]["coordconv"] for r in data["results"]
    )
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file must be renamed away"


def test_default_grid_covers_first_and_middle_layers():
    grid = bench.DEFAULT_GRID
    assert {b for b, *_ in grid} == {1, 16}
    assert any(c_in == 3 and c_out == 64 for _, c_in, c_out, _ in grid)
    assert {c for _, c, _, _ in grid if c > 3} >= {64, 128, 256}
    assert min(s for *_, s in grid) == 32 and max(s for *_, s in grid) == 128


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--rounds", "0", "--rounds must be at least 1, got 0"), ("--threads", "0", "--threads")],
)
def test_bad_flags_raise_clear_errors(tmp_path, flag, value, message):
    parser = build_parser()
    args = parser.parse_args(["bench", "layers", "--quick", "--out", str(tmp_path), flag, value])
    with pytest.raises(ValueError, match=message):
        bench.run(args)
