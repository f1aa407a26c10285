"""The benchmark (coordbias.benchmark): its methods, rows, sweep, cells and table, end to end.

Everything runs at the ``test`` scale (tiny networks and data), one torch thread per cell."""

from __future__ import annotations

import json
import math
import statistics
from types import MappingProxyType

import pytest
import torch

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
from coordbias.benchmark.nets import build_network
from coordbias.benchmark.run import CellTask, choose, dry_run, final_cells
from coordbias.benchmark.table import format_cell, summarize_cell
from coordbias.cli.main import main as cli_main
from coordbias.models import variants as variants_module
from coordbias.models.variants import VARIANTS, Variant

TEST = SCALES["test"]
# Four tasks of the four families, two methods, two seeds.
SETTING = {
    "scale": "test",
    "methods": ["coordbias"],
    "tasks": ["circles", "redgreen", "nsc_class_quadrant", "nsc_reg_uniform"],
    "seeds": 2,
}
TEST_KEYS = {"metric", "metrics", "transfer", "diagnosis"}


def _quiet(line: str) -> None:
    pass


def _metrics(results: dict) -> dict:
    """The final cells' test metrics, without timings."""
    return {
        (t, m, p): [r.get("metric") for r in found]
        for t, per in results["cells"].items()
        for m, places in per.items()
        for p, found in places.items()
    }


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


def test_rows_place_the_methods_by_the_rule():
    plan = plan_benchmark("unused", **{**SETTING, "methods": ["coordconv", "fourier"]})
    rows = set(plan.rows)
    # The placement axis: coordconv on circles (three) and Red-Green (first, all) only.
    assert {("circles", "coordconv", p) for p in ("encoder", "first", "all")} <= rows
    assert {("redgreen", "coordconv", "encoder"), ("redgreen", "coordconv", "first")} <= rows
    assert ("redgreen", "coordconv", "all") not in rows  # its encoder is every convolution
    assert [r for r in plan.rows if r[:2] == ("nsc_reg_uniform", "coordconv")] == [
        ("nsc_reg_uniform", "coordconv", "first")  # Liu et al.: coordinates once, at the input
    ]
    assert [r[2] for r in plan.rows if r[:2] == ("circles", "fourier")] == ["encoder"]
    # A family is swept on one task: the quadrant split takes the uniform split's choice.
    assert {c.task for c in plan.sweep} == {"circles"}  # the test scale's one grid of two
    nsc = plan_benchmark("unused", scale="standard", tasks="nsc_reg_quadrant", methods="vanilla")
    assert {c.row for c in nsc.sweep} == {"nsc_reg_uniform/vanilla/first"}
    assert len(nsc.sweep) == 3 * 2  # three learning rates, two sweep seeds
    # Bimodal tasks get their own seed count by default; the anchor only when named.
    default = plan_benchmark("unused", scale="test")
    assert "redgreen_paper" not in default.tasks
    scaled = plan_benchmark("unused", scale="standard", tasks="circles,nsc_reg_quadrant")
    assert len(scaled.seeds["circles"]) == 10 and len(scaled.seeds["nsc_reg_quadrant"]) == 20


def test_tiny_benchmark_fills_every_cell_with_the_contracts_fields(tiny):
    out, results = tiny
    assert results["methods"] == ["vanilla", "coordbias"]  # vanilla is always added, first
    assert results["missing"] == []
    cell = results["cells"]["circles"]["coordbias"]["first"][1]
    assert (cell["task"], cell["method"], cell["placement"], cell["seed"]) == (
        "circles",
        "coordbias",
        "first",
        1,
    )
    for task in SETTING["tasks"]:
        spec = TASKS[task]
        for method, places in results["cells"][task].items():
            for placement, found in places.items():
                assert [r["seed"] for r in found] == [0, 1], (task, method, placement)
                for r in found:
                    assert r["metric"] == r["metrics"][spec.metric]
                    assert set(r["metrics"]) == {spec.metric, *spec.columns}
                    curve = r["curve"]
                    assert [row["epoch"] for row in curve] == list(range(1, r["epochs_run"] + 1))
                    assert {"train_loss", "val_loss", "val_metric"} <= set(curve[0])
                    # The kept epoch is the best on validation (early stopping's weights).
                    best = min(curve, key=lambda row: row["val_loss"])
                    assert r["best_epoch"] == best["epoch"]
                    assert r["val_metric"] == best["val_metric"]
                    chosen = results["sweep"][task][method][placement]["chosen"]
                    assert (r["lr"], r["weight_decay"]) == (chosen["lr"], chosen["weight_decay"])
    assert set(results["cells"]["redgreen"]["coordbias"]["first"][0]["metrics"]) == {
        "similar",
        "dissimilar",
    }
    # Not-so-Clevr cells say why a seed fails: training-set scores, where the maximum falls.
    reg = results["cells"]["nsc_reg_uniform"]["vanilla"]["first"][0]["diagnosis"]
    assert {"train_error_px", "final_train_loss", "max_near_hot", "max_near_hot_at_init"} <= set(
        reg
    )
    assert (
        "train_accuracy"
        in results["cells"]["nsc_class_quadrant"]["vanilla"]["first"][0]["diagnosis"]
    )
    timing = results["timing"]
    assert [s["width"] for s in timing["settings"]] == [t.width for t in TEST.timing]
    wide = timing["ratio"]["coordbias"]  # the last setting's, with its interval
    assert wide["interval"][0] <= wide["median"] <= wide["interval"][1]
    assert timing["width"] == TEST.timing[-1].width
    # The table (coordbias.benchmark.table) reads the cells: every row, at its placements.
    table = results["table"]
    assert ["coordbias", "first"] in table["rows"] and ["coordbias", "all"] in table["rows"]
    assert set(table["cells"]["redgreen"]) == {"dissimilar", "similar"}
    assert table["cells"]["circles"]["mIoU"]["coordbias"]["first"]["n"] == 2
    report = (out / "report.md").read_text()
    assert "coordbias benchmark --scale test" in report
    assert (
        "## Learning curves" in report and "## Learning rate and weight decay of each row" in report
    )


def test_the_sweep_chooses_on_validation_and_never_tests(tiny, monkeypatch):
    out, results = tiny
    plan = plan_benchmark(out, **SETTING)
    sweep = [c for c in plan.sweep if c.row == "circles/coordbias/encoder"]
    assert len(sweep) == len(TEST.schedules.circles.grid()) * len(TEST.sweep_seeds) == 2
    for cell in sweep:
        assert not TEST_KEYS & set(cell.result())  # a sweep cell holds no test number
    losses = {(c.lr, c.weight_decay): c.result()["val_loss"] for c in sweep}
    chosen = results["sweep"]["circles"]["coordbias"]["encoder"]["chosen"]
    assert losses[chosen["lr"], chosen["weight_decay"]] == min(losses.values())
    # A test number written into a sweep cell changes nothing; its validation loss does.
    worse = max(losses, key=losses.get)
    for cell in sweep:
        data = cell.result()
        data["metric"] = 1.0 if (cell.lr, cell.weight_decay) == worse else 0.0
        if (cell.lr, cell.weight_decay) != worse:
            data["val_loss"] += 100.0
        (cell.folder / "result.json").write_text(json.dumps(data))
    assert choose(plan, "circles", "coordbias", "encoder")["chosen"] == {
        "lr": worse[0],
        "weight_decay": worse[1],
    }

    # A sweep cell never calls the task's test.
    def no_test(model):
        raise AssertionError("a sweep cell read a test set")

    problem = cells_module._problem("colour", TEST)
    monkeypatch.setattr(
        cells_module,
        "_problem",
        lambda task, scale: problem.__class__(**{**problem.__dict__, "test": no_test}),
    )
    with torch_threads(1):
        got = cells_module.run_cell(
            "colour", "vanilla", "encoder", 0, TEST, lr=0.01, weight_decay=0.0, sweep=True
        )
    assert not TEST_KEYS & set(got) and got["val_loss"] > 0


def test_rerun_skips_done_cells_and_runs_a_missing_one_only(tiny):
    out, results = tiny
    lines: list[str] = []
    plan = plan_benchmark(out, **SETTING)
    cell = next(c for c in final_cells(plan) if c.label == "redgreen/coordbias/first/seed1")
    (cell.folder / "result.json").unlink()  # as if killed while it ran
    again = run_benchmark(out, jobs=1, threads=1, log=lines.append, **SETTING)
    ran = [line for line in lines if ": ran in" in line]
    assert len(ran) == 1 and ran[0].startswith("redgreen/coordbias/first/seed1: ran")
    assert (
        _metrics(again)[("redgreen", "coordbias", "first")]
        == _metrics(results)[("redgreen", "coordbias", "first")]
    )  # the same numbers: deterministic


def test_a_killed_benchmark_resumes_without_redoing_a_finished_cell(tmp_path, monkeypatch):
    real = cells_module.run_cell
    calls = []

    def killed_at_the_third(*args, **kwargs):
        calls.append(args[:4])
        if len(calls) == 3:
            raise KeyboardInterrupt  # the process dies in the middle of a cell
        return real(*args, **kwargs)

    setting = {"scale": "test", "tasks": "colour", "methods": "vanilla", "seeds": 2}
    monkeypatch.setattr(cells_module, "run_cell", killed_at_the_third)
    with torch_threads(1), pytest.raises(KeyboardInterrupt):
        run_benchmark(tmp_path, jobs=1, threads=1, log=_quiet, **setting)
    # Two sweep cells (colour takes the circles task's sweep) finished before the kill.
    assert calls[:2] == [("circles", "vanilla", "encoder", 100)] * 2
    monkeypatch.setattr(cells_module, "run_cell", real)
    lines: list[str] = []
    with torch_threads(1):
        run_benchmark(tmp_path, jobs=1, threads=1, log=lines.append, **setting)
    assert "2 done earlier" in lines[0]
    ran = [line.split(":")[0] for line in lines if ": ran in" in line]
    assert ran == ["colour/vanilla/encoder/seed0", "colour/vanilla/encoder/seed1", "timing"]


def test_dry_run_lists_the_cells_and_their_cost(tmp_path, capsys):
    plan = plan_benchmark(tmp_path, **SETTING)
    lines: list[str] = []
    got = dry_run(plan, jobs=2, log=lines.append)
    n_final = sum(len(plan.seeds[t]) for t, _, _ in plan.rows)
    assert len(got["cells"]) == len(plan.sweep) + n_final
    assert all(c["status"] == "to run" and c["estimated_s"] > 0 for c in got["cells"])
    assert got["estimated_s"] == pytest.approx(got["sweep_s"] + got["final_s"] + got["timing_s"])
    assert any("sweep circles/coordbias/encoder/lr0.001_wd0/seed100" in line for line in lines)
    assert any("(at the sweep's choice)" in line for line in lines)
    assert lines[-1].startswith("estimated total")
    assert not (tmp_path / "cells").exists()  # nothing run, nothing written
    argv = ["benchmark", "--scale", "test", "--out", str(tmp_path), "--tasks", "colour"]
    assert cli_main([*argv, "--dry-run", "--jobs", "1"]) == 0
    assert "estimated total" in capsys.readouterr().out


def test_anchor_rows_are_the_convolution_types_at_the_protocol(tmp_path):
    plan = plan_benchmark(tmp_path, scale="test", tasks="redgreen_paper", seeds=1)
    assert [r[1] for r in plan.rows] == ["valid", "same", "circular", "full"]
    assert plan.sweep == []  # an anchor trains at its protocol's lr, unswept
    assert plan.timing is None  # its rows are convolution types, not the methods timed
    with torch_threads(1):
        results = run_benchmark(
            tmp_path, scale="test", tasks="redgreen_paper", seeds=1, jobs=1, threads=1, log=_quiet
        )
    found = results["cells"]["redgreen_paper"]["full"]["encoder"][0]
    assert found["lr"] == 1.0 and found["weight_decay"] == 5e-5
    assert "| `redgreen_paper` | `full` | 1 |" in results["anchor_table"]
    report = (tmp_path / "report.md").read_text()
    assert "## Anchors: published tables reproduced" in report
    assert results["anchor_table"] in report
    assert results["timing"] is None and "## Cost" not in report
    # Rows of convolution types are compared with nothing: no marks, tests or effect figure;
    # and trained at the paper's protocol, not the scale's sweep.
    for part in ("Marks:", "## What each task tells apart", "## How the statistics", "effects"):
        assert part not in report
    assert "(anchors alone, each trained at its paper's protocol: no sweep)" in report
    assert SCALES["test"].description not in report
    assert not (tmp_path / "figures" / "effects.png").exists()
    full = next(line for line in report.splitlines() if "| `full` | 1 | similar |" in line)
    similar = 100 * found["metrics"]["similar"]
    assert f"| {similar:.1f} ± 0.0 | 89.7 | {similar - 89.7:+.1f} |" in full


def test_the_standard_anchor_is_kayhan_and_van_gemert_protocol_in_full(tmp_path):
    from coordbias.data.redgreen import REDGREEN_SPLITS

    scale = SCALES["standard"]
    schedule = scale.schedules.redgreen_anchor
    # Adadelta lr 1.0, weight decay 5e-5 on every parameter, batch 200 in the sets' order, at
    # most 50 epochs, stopping on the 9th epoch without a better validation loss (their
    # counter reaches 8, then one more epoch), no sweep.
    assert (schedule.optimizer, schedule.lr, schedule.weight_decay) == ("adadelta", 1.0, 5e-5)
    assert (schedule.batch_size, schedule.max_epochs, schedule.patience) == (200, 50, 9)
    assert not schedule.shuffle and schedule.decay == "all" and schedule.max_steps == 0
    sizes = scale.anchor_redgreen
    assert (sizes.train_size, sizes.val_size, sizes.test_size) == (
        REDGREEN_SPLITS["train"],
        REDGREEN_SPLITS["val"],
        REDGREEN_SPLITS["dissimilar"],
    )
    plan = plan_benchmark(tmp_path, scale="standard", tasks="redgreen_paper")
    assert plan.seeds["redgreen_paper"] == list(range(10)) and plan.sweep == []
    assert [r[1] for r in plan.rows] == ["valid", "same", "circular", "full"]
    assert plan.grid("redgreen_paper") == [(1.0, 5e-5)]


def test_the_classifier_anchor_is_liu_et_al_coordconv_at_their_protocol(tmp_path):
    # Their CoordConv classifier alone, at their lr 0.005 and L2, unswept, up to their 50 epochs.
    schedule = SCALES["standard"].schedules.nsc_class_anchor
    assert (schedule.optimizer, schedule.lr, schedule.weight_decay) == ("adam", 0.005, 0.002)
    assert (schedule.batch_size, schedule.max_epochs, schedule.decay) == (16, 50, "kernels")
    assert schedule.stop_at_success == ("uniform",)  # the quadrant's validation is not its test
    assert schedule.train_through == ("quadrant",)  # so it trains their epochs through
    tasks = "nsc_class_paper_uniform,nsc_class_paper_quadrant"
    plan = plan_benchmark(tmp_path, scale="standard", tasks=tasks)
    assert plan.rows == [
        ("nsc_class_paper_uniform", "coordconv", "first"),
        ("nsc_class_paper_quadrant", "coordconv", "first"),
    ]
    assert plan.sweep == [] and plan.grid("nsc_class_paper_quadrant") == [(0.005, 0.002)]
    assert plan.seeds["nsc_class_paper_quadrant"] == list(range(10))
    with torch_threads(1):
        results = run_benchmark(
            tmp_path, scale="test", tasks=tasks, seeds=2, jobs=1, threads=1, log=_quiet
        )
    found = results["cells"]["nsc_class_paper_quadrant"]["coordconv"]["first"]
    assert [c["lr"] for c in found] == [0.005, 0.005]
    # trained through: no early stopping, tested at the last epoch whatever validation said
    assert all(not c["stopped_early"] and c["best_epoch"] == c["epochs_run"] for c in found)
    accuracy = [100 * c["metrics"]["test accuracy"] for c in found]
    solved = sum(a >= 99 for a in accuracy)
    # the held-out split scored after every epoch, as their train.py does; the last is the test
    for c in found:
        assert [row["epoch"] for row in c["curve"]] == list(range(1, c["epochs_run"] + 1))
        assert c["curve"][-1]["test_metric"] == c["metrics"]["test accuracy"]
    ever = sum(any(row["test_metric"] >= 0.99 for row in c["curve"]) for c in found)
    uniform = results["cells"]["nsc_class_paper_uniform"]["coordconv"]["first"]
    assert all("test_metric" not in row for c in uniform for row in c["curve"])
    line = next(
        row
        for row in results["anchor_table"].splitlines()
        if row.startswith("| `nsc_class_paper_quadrant` | `coordconv` | 2 | test accuracy |")
    )
    assert f"({solved}/2 seeds succeed; median {statistics.median(accuracy):.1f}, " in line
    assert f"); {ever}/2 succeed at some epoch |" in line
    assert line.endswith(f"| 100.0 | {statistics.mean(accuracy) - 100:+.1f} |")
    report = (tmp_path / "report.md").read_text()
    assert "- `nsc_class_paper_quadrant` (2 epochs or 4 steps, trained through: no early" in report


def test_a_variant_trained_through_is_tested_at_its_last_epoch(monkeypatch):
    # Liu et al. train the held-out quadrant their 50 epochs through: no early stopping, no epoch
    # chosen on a validation split that cannot see the quadrant. The uniform split keeps both.
    asked = {}
    real = cells_module.fit

    def recorded(*args, **kwargs):
        asked[kwargs["seed"]] = (kwargs["monitor"], kwargs["patience"])
        return real(*args, **kwargs)

    monkeypatch.setattr(cells_module, "fit", recorded)
    patience = TEST.schedules.nsc_class_anchor.patience
    with torch_threads(1):
        for seed, task in enumerate(("nsc_class_paper_quadrant", "nsc_class_paper_uniform")):
            got = cells_module.run_cell(
                task, "coordconv", "first", seed, TEST, lr=0.005, weight_decay=0.002
            )
            if task == "nsc_class_paper_quadrant":
                assert not got["stopped_early"] and got["best_epoch"] == got["epochs_run"]
    # (fit's seed is the cell's seed + 1)
    assert asked == {1: (None, None), 2: ("val_loss", patience)}
    # Only the quadrant's recorded settings say so: the uniform cells already run stay valid.
    settings = {
        t: cells_module.cell_settings(t, SCALES["standard"])["schedule"]
        for t in ("nsc_class_paper_quadrant", "nsc_class_paper_uniform", "nsc_class_quadrant")
    }
    assert settings["nsc_class_paper_quadrant"]["train_through"] is True
    assert "train_through" not in settings["nsc_class_paper_uniform"]
    assert "train_through" not in settings["nsc_class_quadrant"]


def test_a_method_that_cannot_run_says_so_in_its_cell(tmp_path, monkeypatch):
    real = cells_module.build_network

    def no_regression_form(family, method, placement, **kwargs):
        if family == "nsc_reg" and method == "coordbias":
            raise ValueError("conv='coordbias' has no form for this network")
        return real(family, method, placement, **kwargs)

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
    cell = results["cells"]["nsc_reg_uniform"]["coordbias"]["first"]
    assert cell[0]["na"] == "conv='coordbias' has no form for this network"
    report = (tmp_path / "report.md").read_text()
    assert "## Not applicable" in report
    assert "conv='coordbias' has no form for this network" in report


def test_cells_and_their_text():
    assert format_cell({"mean": 0.5, "std": 0.25, "welch": {"p": 0.2}}) == "0.500 ± 0.250"
    assert format_cell({"missing": True}) == "not run"
    ok = [{"metric": 0.5, "transfer": {"metric": 0.25}}, {"metric": 0.7, "transfer": {"na": "x"}}]
    assert summarize_cell(ok, None)["mean"] == pytest.approx(0.6)
    assert summarize_cell(ok, None, "transfer") == {"na": "x"}


def test_bad_settings_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(UserValueError, match="methods must be among vanilla, coordbias"):
        plan_benchmark(tmp_path, methods=["nope"])
    with pytest.raises(UserValueError, match="tasks must be among circles, colour"):
        plan_benchmark(tmp_path, tasks="circles,nope")
    with pytest.raises(UserValueError, match="scale must be one of test, quick, standard"):
        plan_benchmark(tmp_path, scale="huge")
    with pytest.raises(UserValueError, match="seeds must be at least 1"):
        plan_benchmark(tmp_path, seeds=0)
    # A folder holding a cell of another scale is not resumed at this one.
    plan = plan_benchmark(tmp_path, scale="test", tasks="colour", seeds=1)
    cell = plan.sweep[0]
    cell.folder.mkdir(parents=True)
    (cell.folder / "result.json").write_text(json.dumps({"scale": "quick"}))
    with pytest.raises(UserValueError, match="holds a cell of scale 'quick', not 'test'"):
        plan_benchmark(tmp_path, scale="test", tasks="colour", seeds=1)


def test_a_final_cell_waits_for_its_rows_sweep(tmp_path):
    plan = plan_benchmark(tmp_path, scale="test", tasks="colour", methods="vanilla", seeds=1)
    assert final_cells(plan) == []  # the sweep has not run: nothing is chosen
    pending = final_cells(plan, pending=True)
    assert len(pending) == 1 and math.isnan(pending[0].lr)
    assert isinstance(pending[0], CellTask)


@pytest.mark.slow
def test_child_processes_give_the_numbers_of_one_process(tiny, tmp_path):
    _, results = tiny
    setting = {**SETTING, "tasks": ["redgreen"], "seeds": [1]}
    parallel = run_benchmark(tmp_path, jobs=2, threads=1, log=_quiet, **setting)
    assert [r["metric"] for r in parallel["cells"]["redgreen"]["coordbias"]["encoder"]] == [
        results["cells"]["redgreen"]["coordbias"]["encoder"][1]["metric"]
    ]


def test_command_line_runs_the_benchmark(tmp_path, capsys):
    argv = ["benchmark", "--scale", "test", "--out", str(tmp_path), "--tasks", "redgreen"]
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


def test_the_standard_classification_stops_once_solved_on_validation():
    from coordbias.benchmark import cells
    from coordbias.benchmark.spec import SCALES, TASKS

    schedule = SCALES["standard"].schedules.nsc_class
    # only where validation is drawn like the test set: not on the held-out quadrant
    assert schedule.stop_at_success == ("uniform",) and schedule.max_epochs >= 10
    assert {TASKS[t].variant for t in ("nsc_class_uniform", "nsc_class_quadrant")} == {
        "uniform",
        "quadrant",
    }
    solved = cells._solved(TASKS["nsc_class_uniform"])
    assert solved({"val_metric": 0.995}) and not solved({"val_metric": 0.98})
    close = cells._solved(TASKS["nsc_reg_uniform"])  # lower is better: under 1 px
    assert close({"val_metric": 0.4}) and not close({"val_metric": 1.0})
    with pytest.raises(ValueError, match="no success threshold"):
        cells._solved(TASKS["circles"])


def test_a_smoke_scale_scores_centres_spread_over_each_set():
    # The Not-so-Clevr sets are ordered by position: a prefix of the held-out quadrant would be
    # its first rows only. A cut takes centres from the first to the last, evenly.
    from coordbias.data.notsoclevr import centres, paper_split_indices

    scale = SCALES["quick"]
    _, val, test = cells_module._nsc_sets(TASKS["nsc_class_quadrant"], scale)
    full = centres()[paper_split_indices("quadrant")[1]]
    assert test.shape[0] == scale.nsc_eval_size == 256 and val.shape[0] <= 256
    assert bool((test >= 33).all()) and test[0].tolist() == full[0].tolist()
    assert test[-1].tolist() == full[-1].tolist()
    assert len({tuple(c) for c in test.tolist()}) == 256  # no centre twice
    whole = cells_module._nsc_sets(TASKS["nsc_class_quadrant"], SCALES["standard"])[2]
    assert torch.equal(whole, full)  # the standard scale scores every centre


@pytest.mark.parametrize("family", ["nsc_class", "nsc_reg"])
def test_liu_et_al_networks_are_built_channels_last(family):
    # Their 1x1 convolutions over the whole canvas are cheaper in channels-last
    # (scripts/classifier_layout.py). A 1x1 kernel is "contiguous" in both formats: its strides
    # tell them apart.
    weight = build_network(family, "coordbias", "first").convs[1].weight
    assert weight.stride() == torch.empty(weight.shape, memory_format=torch.channels_last).stride()
    assert weight.stride() != torch.empty(weight.shape).stride()


def _flushed() -> bool:
    # with denormals flushed, a subnormal input counts as zero
    return bool((torch.tensor([1e-39]) * 1.0 == 0).item())


def test_the_classifier_trains_with_denormals_flushed_and_only_its_cells_record_it(monkeypatch):
    # Its step slows as it trains into subnormal floats (scripts/classifier_denormals.py). The
    # flag is the classifier family's alone, recorded only in its cells' settings (the other
    # families' cells already run stay valid), and the process is as before after the cell.
    seen = []
    real = cells_module.fit

    def recorded(*args, **kwargs):
        seen.append(_flushed())
        return real(*args, **kwargs)

    monkeypatch.setattr(cells_module, "fit", recorded)
    assert not _flushed()
    with torch_threads(1):
        for task in ("nsc_class_uniform", "nsc_reg_uniform"):
            cells_module.run_cell(task, "coordbias", "first", 0, TEST, lr=0.005, weight_decay=0.0)
    assert seen == [True, False] and not _flushed()
    settings = {t: cells_module.cell_settings(t, SCALES["standard"])["schedule"] for t in TASKS}
    assert {t for t, s in settings.items() if s.get("flush_denormal")} == {
        t for t in TASKS if TASKS[t].family == "nsc_class"
    }
    assert all("flush_denormal" not in s for t, s in settings.items() if "nsc_class" not in t)
