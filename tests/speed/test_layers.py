"""``coordbias speed layers --quick``: runs end to end and writes a well-formed JSON."""

import json
import statistics

import pytest
import torch

from coordbias._util.errors import UserValueError
from coordbias.cli.main import build_parser, main
from coordbias.speed import alternatives
from coordbias.speed import layers as bench

# The eager paths; compile has a test of its own (it compiles every layer: slow).
QUICK_PATHS = ("fp32", "channels_last", "autocast", "half")


def _check_path(name, entry):
    assert len(entry["results"]) == len(bench.QUICK_GRID)
    for result, case in zip(entry["results"], bench.QUICK_GRID):
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
        assert result["saved_extra"]["coordbias"] < 0.5, name
    summary = entry["summary"]
    for mode in ("train", "infer"):
        for layer in ("coordbias", "coordconv", "floor"):
            ratios = [r["ratio"][mode][layer] for r in entry["results"]]
            assert summary[mode][layer]["worst"] == max(ratios)
            assert min(ratios) <= summary[mode][layer]["median"] <= max(ratios)
            best = [r["ratio_of_best"][mode][layer] for r in entry["results"]]
            assert summary[mode][layer]["worst_of_best"] == max(best)
        checks = summary["targets"][mode]
        expected = {"median", "shape_above_floor", "median_vs_coordconv"}
        if name in bench.TARGETS["below_coordconv_paths"]:
            expected.add("below_coordconv_share")
        assert set(checks) == expected
        gaps = [r["ratio"][mode]["coordbias"] - r["ratio"][mode]["floor"] for r in entry["results"]]
        assert checks["shape_above_floor"]["value"] == max(gaps)
        assert checks["shape_above_floor"]["met"] == (max(gaps) <= 0.15)
    assert summary["targets_met"] == all(
        c["met"] for mode in ("train", "infer") for c in summary["targets"][mode].values()
    )


def test_quick_benchmark_writes_the_json(tmp_path, capsys):
    paths = ",".join(QUICK_PATHS)
    argv = ["speed", "layers", "--quick", "--paths", paths, "--out", str(tmp_path)]
    assert main([*argv, "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "median" in printed and "worst" in printed
    for name in QUICK_PATHS:
        assert f"path {name} (" in printed
    data = json.loads((tmp_path / "bench_layers.json").read_text())
    assert data["benchmark"] == "layers"
    assert data["torch"] == torch.__version__
    assert data["threads"] == 1 and data["device"] == "cpu" and data["quick"] is True
    assert list(data["paths"]) == list(QUICK_PATHS)
    assert "bfloat16" in data["paths"]["half"]["setup"]
    assert "autocast bfloat16" in data["paths"]["autocast"]["setup"]
    for name, entry in data["paths"].items():
        _check_path(name, entry)
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file must be renamed away"


def test_quick_benchmark_compile_path(tmp_path):
    assert main(["speed", "layers", "--quick", "--paths", "compile", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "bench_layers.json").read_text())
    _check_path("compile", data["paths"]["compile"])
    assert "torch.compile aot_eager" in data["paths"]["compile"]["setup"]
    torch._dynamo.reset()


def test_default_grid_covers_first_and_middle_layers():
    grid = bench.DEFAULT_GRID
    assert {b for b, *_ in grid} == {1, 16}
    assert any(c_in == 3 and c_out == 64 for _, c_in, c_out, _ in grid)
    assert {c for _, c, _, _ in grid if c > 3} >= {64, 128, 256}
    assert min(s for *_, s in grid) == 32 and max(s for *_, s in grid) == 128


def test_paths_default_to_all_and_parse_in_order():
    args = build_parser().parse_args(["speed", "layers"])
    assert bench.parse_paths(args.paths) == list(bench.PATHS)
    assert bench.parse_paths("half, fp32") == ["fp32", "half"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("rounds", 0, "--rounds must be at least 1, got 0"),
        ("threads", 0, "--threads"),
        ("paths", "fp32,fp8", "--paths must be a comma-separated subset of"),
        ("paths", "", "--paths must be a comma-separated subset of"),
        ("device", "tpu", "device 'tpu' is not a device name"),
        ("device", "cuda:0" if not torch.cuda.is_available() else "tpu", "device '"),
    ],
)
def test_bad_options_are_user_errors_before_any_timing(tmp_path, option, value, message):
    # The library function takes typed options and refuses a bad one as the user's mistake (a
    # UserError: the command line prints it on one line), before it times anything.
    with pytest.raises(UserValueError, match=message):
        bench.run(out=tmp_path, quick=True, **{option: value})
    assert not (tmp_path / "bench_layers.json").exists()


def test_a_bad_flag_is_one_line_from_the_command(tmp_path, capsys):
    assert main(["speed", "layers", "--quick", "--out", str(tmp_path), "--rounds", "0"]) == 2
    err = capsys.readouterr().err
    assert err == "coordbias speed layers: error: --rounds must be at least 1, got 0\n"


def test_unwritable_out_is_one_line_before_any_timing(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    timed = []
    monkeypatch.setattr(bench, "_measure", lambda *a, **k: timed.append(a))
    assert main(["speed", "layers", "--quick", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coordbias speed layers: error: --out") and "Traceback" not in err
    assert err.count("\n") == 1
    assert timed == [], "no timing may start before the options are checked"


def test_the_small_grid_is_a_first_and_a_middle_layer_of_the_whole_grid():
    small = bench.GRIDS["small"]
    assert bench.GRIDS["default"] == bench.DEFAULT_GRID
    assert set(small) <= set(bench.DEFAULT_GRID)
    assert [case[1] for case in small] == [3, 64]  # input channels: a first, a middle layer


def test_variants_are_timed_beside_the_layers_in_the_same_rounds(tmp_path, capsys):
    argv = ["speed", "layers", "--quick", "--paths", "fp32,half", "--out", str(tmp_path)]
    assert main([*argv, "--variants", "native,traced,reduce", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "bench_layers.json").read_text())
    names = ["traced", "reduce", "native"]  # in the alternatives' order
    assert data["variants"] == {name: alternatives.ALTERNATIVES[name] for name in names}
    extra = [f"coordbias[{v}]" for v in names]
    for name, entry in data["paths"].items():
        for result in entry["results"]:
            for mode in ("train", "infer"):
                assert list(result["ratio"][mode]) == ["coordbias", "coordconv", "floor", *extra]
                assert set(result["ms"][mode]) == {"vanilla", "coordbias", "coordconv", "floor"} | (
                    set(extra)
                )
                for ratios in (result["ratio"][mode], result["ratio_of_best"][mode]):
                    assert all(0 < r < float("inf") for r in ratios.values())
        for mode in ("train", "infer"):
            for layer in extra:
                ratios = [r["ratio"][mode][layer] for r in entry["results"]]
                assert entry["summary"][mode][layer]["median"] == statistics.median(ratios)
        table = printed[printed.index(f"path {name} (") :]
        head = table.splitlines()[1]
        assert "train CB[traced]" in head and "infer CB[native]" in head
        # Each row has a cell per column: the three layers and the variants, per mode.
        assert len(table.splitlines()[3].split()) == 3 + 2 * 6  # label of three words, 12 cells


def test_without_variants_the_output_is_unchanged(tmp_path, capsys):
    argv = ["speed", "layers", "--quick", "--paths", "fp32", "--out", str(tmp_path)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "CB[" not in printed
    data = json.loads((tmp_path / "bench_layers.json").read_text())
    assert "variants" not in data
    assert list(data["paths"]["fp32"]["results"][0]["ratio"]["train"]) == [
        "coordbias",
        "coordconv",
        "floor",
    ]
    cells = [f"{mode} {short}" for mode in ("train", "infer") for short in ("CB", "CC", "floor")]
    head = f"{'shape':<24}" + "".join(f"{cell:>12}" for cell in cells)
    assert head in printed.splitlines()


@pytest.mark.parametrize(
    ("paths", "variants", "message"),
    [
        ("fp32", "traced,plain", "--variants must be a comma-separated subset of"),
        ("fp32,compile", "traced", "leave compile out of --paths"),
    ],
)
def test_bad_variants_are_user_errors(tmp_path, paths, variants, message):
    with pytest.raises(UserValueError, match=message):
        bench.run(out=tmp_path, quick=True, paths=paths, variants=variants)
