"""The benchmark's report (coordbias.benchmark.report) from synthetic results."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shlex

import pytest

from coordbias.benchmark.report import command_line, findings, statistics_text, write_report
from coordbias.benchmark.spec import SCALES, TASKS, benchmark_methods
from coordbias.benchmark.spec import seeds_of as scale_seeds
from coordbias.benchmark.table import build_table, table_markdown

from .synthetic import cells, noisy, results, seeds_of


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    res = results()
    for r in res["cells"]["circles"]["coordbias"]["encoder"]:
        r.update(lr=3e-3, weight_decay=1e-4, epochs_run=12, best_epoch=2, stopped_early=True)
    table = write_report(res, out)
    return out, table, (out / "report.md").read_text()


def paragraph(report: str, task: str) -> str:
    return report.split(f"### `{task}`")[1].split("###")[0]


def test_the_report_holds_the_table_its_figures_and_a_section_per_task(written):
    out, table, report = written
    assert table_markdown(table) in report
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", report)
    assert links[0] == "figures/effects.png"
    assert "figures/curves_circles.png" in links
    assert all((out / link).is_file() for link in links)
    for task in ("circles", "nsc_class_uniform", "nsc_reg_uniform"):
        assert f"### `{task}`" in report
    json.dumps(table)  # the table goes into results.json as it is


def test_paragraphs_say_what_is_told_apart_with_numbers(written):
    _, table, report = written
    circles = paragraph(report, "circles")
    against_vanilla = circles.split("- Against `vanilla`")[1].split("\n")[0]
    assert "**better**: `coordbias` (first) 0.900" in against_vanilla
    assert "**tie**: `param_matched` 0.643 (difference +0.001" in against_vanilla
    assert "**not told apart**: `fourier` 0.610" in against_vanilla
    c = table["cells"]["circles"]["mIoU"]["fourier"]["default"]["against"]["vanilla"]
    assert c["verdict"] == "not told apart" and f"p = {c['p_holm']:.3g}" in against_vanilla
    placement = circles.split("- Placement")[1]
    assert "**worse**: `coordbias` (first) against `coordbias` 0.900" in placement
    assert "**not told apart**: `coordbias` (all)" in placement
    reg = paragraph(report, "nsc_reg_uniform")
    assert "`coordconv` (9/10 succeeded, median 0.15; share +0.90 [+0.49, +0.98], Fisher's p" in reg
    assert "**tie**: `coordbias` (0/10 succeeded" in reg
    assert "tie margin ±0.5; 10 seeds" in reg


def test_the_statistics_are_explained(written):
    _, table, report = written
    text = report.split("## How the statistics were done")[1]
    assert f"Holm's step-down correction over all {table['family']} comparisons" in text
    assert "permutation test" in text and "Fisher's exact test" in text
    assert "`circles` ±0.01 (mIoU)" in text and "`nsc_reg_uniform` ±0.5" in text
    assert "▲ better, ▼ worse, = tie" in text
    assert "`circles` 10 (smallest p 1.08e-05)" in text
    assert "can show ties, never a difference" not in text


def test_the_training_and_the_chosen_settings_are_listed(written):
    _, _, report = written
    assert "- `circles`: 10 cell(s) ran 12 to 12 epochs (median 12); 10 stopped early" in report
    assert "- `nsc_reg_uniform`" not in report.split("## Convergence")[1]  # no epochs recorded
    assert "| `circles` | `coordbias` | 0.003 | 0.0001 |" in report


def test_three_seeds_can_show_no_difference():
    data = {
        "circles": {
            "vanilla": seeds_of("circles", "vanilla", [0.0] * 3, placement=None),
            "coordbias": seeds_of("circles", "coordbias", [1.0] * 3, placement=None),
        }
    }
    table = build_table(data)
    text = statistics_text(table)
    assert "`circles` 3 (smallest p 0.1)" in text
    assert "can show ties, never a difference" in text
    c = table["cells"]["circles"]["mIoU"]["coordbias"]["default"]["against"]["vanilla"]
    assert c["p"] == pytest.approx(0.1) and c["verdict"] == "not told apart"


def test_cells_not_run_or_not_applicable_are_named(tmp_path):
    data = copy.deepcopy(cells())
    data["nsc_class_uniform"]["coordconv"]["first"] = [{"method": "coordconv", "na": "no form"}]
    data["nsc_class_uniform"]["coordbias"]["first"] = []
    data["nsc_class_uniform"]["vanilla"]["first"] = []
    write_report({"cells": data}, tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert "- `coordconv` on `nsc_class_uniform`: no form" in report
    assert "Not finished: `vanilla` on `nsc_class_uniform`, `coordbias` on" in report
    assert "No comparison could be made" in paragraph(report, "nsc_class_uniform")


def test_findings_of_a_single_task():
    table = build_table(cells())
    assert findings(table, "nsc_class_uniform").startswith("**nsc_class_uniform** (a seed")


def test_the_report_counts_the_cells_that_hit_the_epoch_cap(tmp_path):
    data = cells()
    for i, r in enumerate(data["circles"]["coordbias"]["encoder"]):
        # 3 stop early; 7 run to the cap of 8, of which 5 are best at their last epoch
        r.update(epochs_run=6 if i < 3 else 8, stopped_early=i < 3, best_epoch=3 if i < 5 else 8)
    scale = {"name": "standard", "schedules": {"circles": {"max_epochs": 8, "patience": 3}}}
    write_report({"cells": data, "scale": scale}, tmp_path)
    report = (tmp_path / "report.md").read_text()
    line = report.split("## Convergence")[1].split("- `circles`")[1].splitlines()[0]
    assert line.startswith(" (cap 8 epochs, patience 3): 10 cell(s) ran 6 to 8 epochs")
    assert "3 stopped early on validation; **7 hit the cap**, 5 of them still improving" in line


def parse(command: str):
    from coordbias.cli.main import build_parser

    words = shlex.split(command, comments=True)
    assert words[:2] == ["coordbias", "benchmark"]
    return build_parser().parse_args(words[1:])


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, {"seeds": None, "tasks": None, "methods": None, "out": "runs/benchmark"}),
        ({"tasks": ["redgreen_paper"]}, {"tasks": ["redgreen_paper"], "seeds": None}),
        ({"tasks": ["circles", "colour"]}, {"tasks": ["circles,colour"]}),
        ({"task_seeds": 3}, {"seeds": 3}),
        ({"methods": ["vanilla", "coordconv"], "out": "runs/b 2"}, {"out": "runs/b 2"}),
        ({"methods": ["vanilla", "coordconv"]}, {"methods": ["vanilla,coordconv"]}),
    ],
)
def test_the_command_line_reproduces_the_run(extra, expected):
    from coordbias.benchmark.run import plan_benchmark

    standard = SCALES["standard"]
    res = {
        "scale": dataclasses.asdict(standard),
        "out": "runs/benchmark",
        "tasks": {t: {} for t, spec in TASKS.items() if not spec.anchor},
        "methods": benchmark_methods(),
        **extra,
    }
    res["tasks"] = list(res["tasks"])
    n = res.pop("task_seeds", None)
    res["task_seeds"] = {t: list(range(n or scale_seeds(t, standard))) for t in res["tasks"]}
    args = parse(command_line(res))
    assert args.scale == "standard"
    for key, value in expected.items():
        assert getattr(args, key) == value
    # The parsed command plans the same cells as the results hold.
    from coordbias.cli._commands import split_names

    plan = plan_benchmark(
        args.out,
        scale=args.scale,
        tasks=split_names(args.tasks),
        methods=split_names(args.methods),
        seeds=args.seeds,
    )
    assert plan.tasks == list(res["tasks"])
    assert plan.methods == list(res["methods"])
    assert plan.seeds == res["task_seeds"]


def test_seeds_the_command_cannot_take_are_said_in_a_comment():
    res = {"scale": {"name": "standard", "seeds": 10}, "task_seeds": {"circles": [3, 4]}}
    command = command_line(res)
    assert command.startswith("coordbias benchmark --scale standard  # seeds")
    assert parse(command).seeds is None


def test_the_cost_of_each_method_when_timed(tmp_path):
    timing = {
        "ratio": {"vanilla": 1.0, "coordbias": {"median": 1.07, "interval": [1.02, 1.11]}},
        "added_params": {"circles": {"vanilla": 0, "coordbias": 1344}},
        "na": {"fourier": "no timing"},
        "width": 64,
        "rounds": 7,
    }
    write_report({"cells": cells(), "timing": timing}, tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert "| `coordbias` | 1.07× [1.02, 1.11] | +1,344 |" in report
    assert "| `fourier` | n/a: no timing |  |" in report
    assert "Measured at width 64, rounds 7." in report


def test_what_the_run_cost_sums_every_cell_once(tmp_path):
    data = cells()
    for r in data["circles"]["coordbias"]["encoder"]:
        r["seconds"] = 36.0  # 10 seeds: 0.1 h
    grid = [{"lr": lr, "seeds": 2, "seconds": 90.0} for lr in (1e-3, 1e-2)]  # 0.05 h
    record = {"on": "nsc_reg_uniform", "grid": grid, "chosen": {"lr": 1e-3}}
    # nsc_reg_quadrant's row is set by nsc_reg_uniform's sweep: its cells are counted once
    sweep = {t: {"coordconv": {"first": record}} for t in ("nsc_reg_uniform", "nsc_reg_quadrant")}
    write_report({"cells": data, "sweep": sweep}, tmp_path)
    report = (tmp_path / "report.md").read_text()
    section = report.split("## What the run cost")[1].split("##")[0]
    n = {t: sum(len(rs) for per in data[t].values() for rs in per.values()) for t in data}
    assert f"| `circles` | {n['circles']} | 0.10 | 0 | 0.00 |" in section
    assert f"| `nsc_reg_uniform` | {n['nsc_reg_uniform']} | 0.00 | 4 | 0.05 |" in section
    assert "| all | " in section and "0.15 hours of cells in all" in section
    write_report({"cells": cells()}, tmp_path)  # no cell says what it took: no section
    assert "## What the run cost" not in (tmp_path / "report.md").read_text()


def test_a_second_column_is_described_by_its_own_metric(tmp_path):
    # Red-Green's table has a "similar" column beside the main "dissimilar": its paragraph
    # names "similar", not the task's main metric.
    def rows(method, centre, seed):
        return seeds_of("redgreen", method, noisy(centre, 0.01, seed))

    per_method = {"vanilla": {"encoder": rows("vanilla", 0.1, 1)}}
    per_method["coordbias"] = {"encoder": rows("coordbias", 0.6, 2)}
    for method_rows in per_method.values():
        for r in method_rows["encoder"]:
            r["metrics"] = {"dissimilar": r["metric"], "similar": 1.0}
    write_report(results({"redgreen": per_method}), tmp_path)
    report = (tmp_path / "report.md").read_text()
    section = paragraph(report, "redgreen")
    assert "**redgreen: similar** (similar, higher is better" in section
    assert "**redgreen: dissimilar** (dissimilar, higher is better" in section


def test_the_report_says_why_failed_seeds_failed(tmp_path):
    def reg(seed, error, train_error, near_init, near_end, best_epoch):
        diagnosis = {
            "train_error_px": train_error,
            "max_near_hot_at_init": near_init,
            "max_near_hot": near_end,
        }
        return {
            "task": "nsc_reg_uniform",
            "method": "coordconv",
            "placement": "first",
            "seed": seed,
            "metric": error,
            "epochs_run": 5,
            "best_epoch": best_epoch,
            "stopped_early": False,
            "diagnosis": diagnosis,
        }

    # Two seeds solve (0.1 px), three fail on the training set as well (about 20 px); one of
    # those was still improving at its last epoch. A class seed that fits its training set
    # but misses the test set is a different failure.
    rows = [reg(0, 0.1, 0.1, 0.0, 0.9, 5), reg(1, 0.2, 0.1, 0.0, 0.8, 4)]
    rows += [reg(2, 20.0, 18.0, 0.0, 0.0, 5), reg(3, 22.0, 21.0, 0.0, 0.0, 3)]
    rows += [reg(4, 14.0, 15.0, 0.1, 0.2, 2)]
    fitted = {"task": "nsc_class_uniform", "method": "coordbias", "placement": "first"}
    fitted.update(seed=0, metric=0.5, diagnosis={"train_accuracy": 1.0}, reached_success=True)
    data = {
        "nsc_reg_uniform": {"coordconv": {"first": rows}},
        "nsc_class_uniform": {"coordbias": {"first": [fitted]}},
    }
    write_report({"cells": data}, tmp_path)
    section = (tmp_path / "report.md").read_text().split("## Why seeds fail")[1].split("\n## ")[0]
    [line] = [x for x in section.splitlines() if "on `nsc_reg_uniform`" in x]
    assert "3 of 5 seeds failed" in line
    assert "median training-set score 18 px (the solved seeds' 0.1 px)" in line
    assert "they fail on the training set too" in line
    assert "0% of images at initialisation and 0% at the end (solved seeds at the end: 85%)" in line
    assert "still improving at the cap: 1 of them" in line
    [line] = [x for x in section.splitlines() if "on `nsc_class_uniform`" in x]
    assert "median training-set score 100.0%: they fit the training set and miss" in line
    assert "stopped once solved on validation: 1 of them" in line


def test_a_cell_stopped_once_solved_did_not_hit_the_cap(tmp_path):
    data = cells()
    for i, r in enumerate(data["circles"]["coordbias"]["encoder"]):
        r.update(epochs_run=3 if i < 4 else 10, stopped_early=False, reached_success=i < 4)
        r.update(best_epoch=3 if i < 4 else 10)
    write_report({"cells": data}, tmp_path)
    line = (tmp_path / "report.md").read_text().split("## Convergence")[1].split("- `circles`")[1]
    assert (
        "4 stopped once solved on validation; **6 hit the cap**, 6 of them" in line.splitlines()[0]
    )


def test_the_report_says_how_far_from_converged_the_capped_cells_were(tmp_path):
    # How much a row was still improving at the cap, in the metric's units and its better
    # direction: circles mIoU (higher is better) and the regression's error in px (lower).
    data = cells()

    def curve(*values):
        curve = [{"epoch": i + 1, "val_metric": v} for i, v in enumerate(values)]
        return {"curve": curve, "epochs_run": len(values), "best_epoch": len(values)}

    for i, r in enumerate(data["circles"]["coordbias"]["encoder"]):
        # the 2 that stopped early do not count; of the 8 capped 5 gained 0.02 and 3 gained 0.04
        r.update(curve(0.5, 0.9, 0.92, 0.9 + (0.04 if i > 6 else 0.02)), stopped_early=i < 2)
    for r in data["nsc_reg_uniform"]["vanilla"]["first"]:
        r.update(curve(22.0, 21.8, 21.5), stopped_early=False)  # error down by 0.5 px
    write_report({"cells": data}, tmp_path)
    report = (tmp_path / "report.md").read_text().split("## Convergence")[1]
    circles = report.split("- `circles`")[1].splitlines()[1]
    assert "validation score (the task's metric, in its units) improved" in circles
    assert re.search(r"`coordbias` \+0\.02[;.]", circles)
    regression = report.split("- `nsc_reg_uniform`")[1].splitlines()[1]
    assert re.search(r"`vanilla` \+0\.5[;.]", regression)


def test_a_cell_trained_through_is_still_improving_only_if_its_curve_says_so(tmp_path):
    # A cell trained through records its last epoch as its best, whatever its validation loss
    # did: the curve decides. Seed 0's loss was lowest 2 epochs before the end, seed 1's last.
    def through(seed, losses):
        curve = [{"epoch": e + 1, "val_loss": v, "val_metric": 1 - v} for e, v in enumerate(losses)]
        cell = {"task": "nsc_class_quadrant", "method": "coordconv", "placement": "first"}
        cell.update(seed=seed, metric=0.5, diagnosis={"train_accuracy": 1.0}, curve=curve)
        return {**cell, "epochs_run": 4, "best_epoch": 4, "stopped_early": False}

    rows = [through(0, [0.9, 0.2, 0.3, 0.4]), through(1, [0.9, 0.5, 0.3, 0.2])]
    write_report({"cells": {"nsc_class_quadrant": {"coordconv": {"first": rows}}}}, tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert "**2 hit the cap**, 1 of them still improving" in report
    assert "still improving at the cap: 1 of them" in report.split("## Why seeds fail")[1]
