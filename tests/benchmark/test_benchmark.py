"""The benchmark (coordbias.benchmark): its methods, its cells, its table, end to end.

Everything runs at the ``test`` scale (tiny networks and data), one torch thread per cell."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from coordbias._util.errors import UserValueError
from coordbias._util.experiment import torch_threads
from coordbias.benchmark import (
    SCALES,
    TASKS,
    benchmark_methods,
    plan_benchmark,
    run_benchmark,
)
from coordbias.benchmark import cells as cells_module
from coordbias.benchmark import spec as spec_module
from coordbias.benchmark.table import format_cell, summarize_cell
from coordbias.cli.main import main as cli_main
from coordbias.models import variants as variants_module
from coordbias.models.variants import VARIANTS, Variant

TEST = SCALES["test"]
# Four tasks of the three families, two methods, two seeds: 16 cells and the timing.
SETTING = {
    "scale": "test",
    "methods": ["coordbias"],
    "tasks": ["circles", "shifted", "nsc_class_quadrant", "nsc_reg_uniform"],
    "seeds": 2,
}


def _quiet(line: str) -> None:
    pass


def _metrics(results: dict) -> dict:
    """The cells' values, without timings."""
    cells = results["cells"]
    return {t: {m: c.get("values", c) for m, c in per.items()} for t, per in cells.items()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmark")
    with torch_threads(1):
        results = run_benchmark(out, jobs=1, threads=1, log=_quiet, **SETTING)
    return out, results


def test_methods_are_the_variants_that_change_only_the_convolution(monkeypatch):
    methods = benchmark_methods()
    assert methods[0] == "vanilla" and set(methods) <= set(VARIANTS)
    assert {"coordbias", "coordconv", "param_matched"} <= set(methods)
    # BatchNorm, a decoder scope or another padding is not a way of adding position.
    assert not {"vanilla_bn", "coordbias_bn", "coordbias_all", "vanilla_circular"} & set(methods)
    # A variant added to the registry is a method without a change of the benchmark's code.
    added = dict(VARIANTS)
    added["coordbias_new"] = Variant("coordbias_new", "a new layer", {"conv": "coordbias"})
    monkeypatch.setattr(variants_module, "VARIANTS", MappingProxyType(added))
    monkeypatch.setattr(spec_module, "VARIANTS", MappingProxyType(added))
    assert benchmark_methods()[-1] == "coordbias_new"


def test_tiny_benchmark_fills_every_cell_and_the_table(tiny):
    out, results = tiny
    assert results["methods"] == ["vanilla", "coordbias"]  # vanilla is always added, first
    for task in SETTING["tasks"]:
        for method in results["methods"]:
            cell = results["cells"][task][method]
            assert cell["n"] == 2 and len(cell["values"]) == 2
            assert cell["mean"] == pytest.approx(sum(cell["values"]) / 2)
        assert "welch" in results["cells"][task]["coordbias"]
        assert "welch" not in results["cells"][task]["vanilla"]
    assert results["missing"] == []
    # The cost columns: parameters the coordinate bias adds (2 per output channel of the
    # encoder's convolutions), a step-time ratio, the transfer at the other size.
    assert results["added_params"]["vanilla"] == 0
    assert results["added_params"]["coordbias"] == 2 * TEST.width * (1 + 1 + 2 + 2 + 4 + 4)
    assert results["step_time_ratio"]["vanilla"] == 1.0
    assert results["step_time_ratio"]["coordbias"] > 0
    assert results["transfer"]["coordbias"]["n"] == 2
    table = results["table"].splitlines()
    assert len(table) == 2 + 2
    assert "nsc_reg_uniform (test error (px) ↓)" in table[0]
    assert f"circles at {TEST.transfer_size} px" in table[0]
    assert table[3].startswith("| `coordbias` |") and "+112" in table[3]
    report = (out / "report.md").read_text()
    assert results["table"] in report and "coordbias benchmark --scale test" in report
    assert json.loads((out / "results.json").read_text())["table"] == results["table"]


def test_rerun_resumes_nothing_and_a_missing_cell_only(tiny, tmp_path):
    out, results = tiny
    lines: list[str] = []
    again = run_benchmark(out, jobs=1, threads=1, log=lines.append, **SETTING)
    assert _metrics(again) == _metrics(results)
    assert "17 done earlier" in lines[0]
    cell = out / "cells" / "circles" / "coordbias" / "seed1" / "result.json"
    cell.unlink()
    lines.clear()
    again = run_benchmark(out, jobs=1, threads=1, log=lines.append, **SETTING)
    assert any(line.startswith("circles/coordbias/seed1: ran") for line in lines)
    assert sum(": ran in" in line for line in lines) == 1
    assert _metrics(again) == _metrics(results)  # the same numbers: deterministic


def test_cell_is_a_pure_function_of_its_arguments():
    with torch_threads(1):
        a = cells_module.run_cell("colour", "coordbias", 1, TEST)
        b = cells_module.run_cell("colour", "coordbias", 1, TEST)
        c = cells_module.run_cell("colour", "coordbias", 0, TEST)
    timings = ("seconds", "cpu_seconds", "step_s")
    assert {k: v for k, v in a.items() if k not in timings} == {
        k: v for k, v in b.items() if k not in timings
    }
    assert a["metric"] != c["metric"] or a["final_loss"] != c["final_loss"]


def test_a_method_that_cannot_run_says_so_in_its_cell(tmp_path, monkeypatch):
    real = cells_module.build_network

    def no_regression_form(family, method, width, *args, **kwargs):
        if family == "nsc_reg" and method == "coordbias":
            raise ValueError("conv='coordbias' has no form for this network")
        return real(family, method, width, *args, **kwargs)

    monkeypatch.setattr(cells_module, "build_network", no_regression_form)
    with torch_threads(1):
        results = run_benchmark(
            tmp_path,
            scale="test",
            methods="coordbias",
            tasks="nsc_reg_uniform",
            seeds=1,
            jobs=1,
            threads=1,
            log=_quiet,
        )
    cell = results["cells"]["nsc_reg_uniform"]["coordbias"]
    assert cell == {"na": "conv='coordbias' has no form for this network"}
    assert "| n/a: conv='coordbias' has no form for this network |" in results["table"]
    assert "Not applicable:" in (tmp_path / "report.md").read_text()
    assert "values" in results["cells"]["nsc_reg_uniform"]["vanilla"]


def test_cells_and_their_text():
    assert format_cell({"mean": 0.5, "std": 0.25, "welch": {"p": 0.2}}) == "0.500 ± 0.250"
    assert format_cell({"mean": 21.25, "std": 0.5, "welch": {"p": 0.001}}, 1) == "21.2 ± 0.5*"
    assert format_cell({"mean": 0.5, "std": 0.0, "n": 1}) == "0.500"
    assert format_cell({"missing": True}) == "not run"
    assert format_cell({"na": "a | b\n c"}) == "n/a: a / b c"
    ok = [{"metric": 0.5, "transfer": {"metric": 0.25}}, {"metric": 0.7, "transfer": {"na": "x"}}]
    assert summarize_cell(ok, None)["mean"] == pytest.approx(0.6)
    assert summarize_cell(ok, None, "transfer") == {"na": "x"}
    assert summarize_cell([], None) == {"missing": True}
    assert summarize_cell([{"na": "why"}, {"metric": 1.0}], None) == {"na": "why"}
    welch = summarize_cell(ok, [0.1, 0.2])["welch"]
    assert welch["mean_diff"] == pytest.approx(0.45)


def test_bad_settings_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(UserValueError, match="methods must be among vanilla, coordbias"):
        plan_benchmark(tmp_path, methods=["nope"])
    with pytest.raises(UserValueError, match="tasks must be among circles, colour"):
        plan_benchmark(tmp_path, tasks="circles,nope")
    with pytest.raises(UserValueError, match="scale must be one of quick, test"):
        plan_benchmark(tmp_path, scale="huge")
    with pytest.raises(UserValueError, match="seeds must be at least 1"):
        plan_benchmark(tmp_path, seeds=0)
    # A folder holding a cell of another scale is not resumed at this one.
    plan = plan_benchmark(tmp_path, scale="test", tasks="colour", seeds=1)
    plan.cells[0].folder.mkdir(parents=True)
    (plan.cells[0].folder / "result.json").write_text(json.dumps({"scale": "quick"}))
    with pytest.raises(UserValueError, match="holds a cell of scale 'quick', not 'test'"):
        plan_benchmark(tmp_path, scale="test", tasks="colour", seeds=1)
    assert list(plan_benchmark(tmp_path).tasks) == list(TASKS)


@pytest.mark.slow
def test_child_processes_give_the_numbers_of_one_process(tiny, tmp_path):
    _, results = tiny
    setting = {**SETTING, "tasks": ["circles"], "seeds": [1]}
    parallel = run_benchmark(tmp_path, jobs=2, threads=1, log=_quiet, **setting)
    assert parallel["cells"]["circles"]["coordbias"]["values"] == [
        results["cells"]["circles"]["coordbias"]["values"][1]
    ]
    assert (tmp_path / "cells" / "circles" / "vanilla" / "seed1" / "task.log").is_file()


def test_command_line_runs_the_benchmark(tmp_path, capsys):
    argv = ["benchmark", "--scale", "test", "--out", str(tmp_path), "--tasks", "colour"]
    assert cli_main([*argv, "--methods", "vanilla", "--seeds", "1", "--jobs", "1"]) == 0
    assert "table written" in capsys.readouterr().out
    assert (tmp_path / "report.md").is_file()
    assert cli_main([*argv, "--methods", "nope"]) == 2
    assert "methods must be among" in capsys.readouterr().err


def test_the_old_path_still_works_with_a_deprecation_warning():
    import coordbias.benchmark
    import coordbias.study.benchmark as old

    with pytest.warns(DeprecationWarning, match="moved to coordbias.benchmark.run_benchmark"):
        assert old.run_benchmark is coordbias.benchmark.run_benchmark
    with pytest.warns(DeprecationWarning):
        assert old.spec is coordbias.benchmark.spec
