"""The benchmark's report (coordbias.benchmark.report) from synthetic results."""

from __future__ import annotations

import copy
import json
import re

import pytest

from coordbias.benchmark.report import command_line, findings, statistics_text, write_report
from coordbias.benchmark.table import build_table, table_markdown

from .synthetic import cells, results, seeds_of


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
    c = table["cells"]["circles"]["mIoU"]["fourier"]["encoder"]["against"]["vanilla"]
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
    c = table["cells"]["circles"]["mIoU"]["coordbias"]["encoder"]["against"]["vanilla"]
    assert c["p"] == pytest.approx(0.1) and c["verdict"] == "not told apart"


def test_cells_not_run_or_not_applicable_are_named(tmp_path):
    data = copy.deepcopy(cells())
    data["nsc_class_uniform"]["coordconv"]["encoder"] = [{"method": "coordconv", "na": "no form"}]
    data["nsc_class_uniform"]["coordbias"]["encoder"] = []
    data["nsc_class_uniform"]["vanilla"]["encoder"] = []
    write_report({"cells": data}, tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert "- `coordconv` on `nsc_class_uniform`: no form" in report
    assert "Not finished: `vanilla` on `nsc_class_uniform`, `coordbias` on" in report
    assert "No comparison could be made" in paragraph(report, "nsc_class_uniform")


def test_findings_of_a_single_task_and_the_command_line():
    table = build_table(cells())
    assert findings(table, "nsc_class_uniform").startswith("**nsc_class_uniform** (a seed")
    res = {"scale": {"name": "standard", "seeds": 10}, "seeds": list(range(10))}
    assert command_line(res) == "coordbias benchmark --scale standard"
    res["seeds"] = [3, 4]
    assert command_line(res) == "coordbias benchmark --scale standard --seeds 3 4"


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
