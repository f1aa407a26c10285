"""The benchmark's table (coordbias.benchmark.table) from synthetic results: what each cell
shows, which comparisons are made, their correction and their verdicts."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest

from coordbias.benchmark.spec import TASKS, TaskSpec
from coordbias.benchmark.table import (
    build_table,
    columns,
    group_results,
    own_placement,
    summarize,
    table_markdown,
)
from coordbias.reporting.stats import fisher_test, holm, permutation_test

from .synthetic import cells, redgreen_seeds, result, seeds_of


@pytest.fixture(scope="module")
def table():
    return build_table(cells())


def comparisons(table: dict) -> list[dict]:
    return [
        c
        for per_column in table["cells"].values()
        for per_method in per_column.values()
        for per_place in per_method.values()
        for summary in per_place.values()
        for c in summary.get("against", {}).values()
    ]


def against(table, task, method, placement="default", column=None):
    column = column or columns(TASKS[task])[0]
    return table["cells"][task][column][method][placement]["against"]


def test_cells_of_both_shapes_are_grouped_by_placement():
    flat = {"circles": {"vanilla": [result("circles", "vanilla", 0, 0.5, placement=None)]}}
    assert group_results(flat) == {"circles": {"vanilla": {"encoder": flat["circles"]["vanilla"]}}}
    placed = [result("circles", "coordbias", 0, 0.9, "first")]
    assert group_results({"circles": {"coordbias": placed}})["circles"]["coordbias"] == {
        "first": placed
    }
    with pytest.raises(ValueError, match="must be a list of results or a mapping"):
        group_results({"circles": {"vanilla": {"metric": 0.5}}})


def test_the_old_shape_gives_the_table_of_the_new_one():
    # A result that names no placement is at its task's own (Not-so-Clevr's: first).
    new = cells()
    own = {t: own_placement(TASKS[t]) for t in new}
    old = {t: {m: per[own[t]] for m, per in ms.items()} for t, ms in new.items()}
    for per in old.values():
        for rs in per.values():
            for r in rs:
                del r["placement"]
    own_only = {t: {m: {own[t]: per[own[t]]} for m, per in ms.items()} for t, ms in new.items()}
    assert build_table(old)["cells"] == build_table(own_only)["cells"]
    assert build_table(old)["rows"] == [[m, "default"] for m in build_table(old)["methods"]]


def test_a_continuous_cell_is_the_mean_with_its_t_interval(table):
    spec = TASKS["circles"]
    summary = table["cells"]["circles"]["mIoU"]["vanilla"]["default"]
    values = [r["metric"] for r in cells()["circles"]["vanilla"]["encoder"]]
    assert summary["n"] == 10 and summary["values"] == values
    mean = sum(values) / 10
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 9)
    half = 2.262157 * sd / math.sqrt(10)  # t(0.975, 9)
    assert summary["mean"] == pytest.approx(mean)
    assert summary["interval"] == pytest.approx((mean - half, mean + half), rel=1e-6)
    assert "successes" not in summary
    assert summarize([], spec, "mIoU") == {"missing": True}
    assert summarize([result("circles", "x", 0, 0.1), {"na": "why"}], spec, "mIoU") == {"na": "why"}


def test_a_success_cell_counts_the_seeds_past_the_threshold():
    spec = TASKS["nsc_reg_uniform"]  # lower is better: a success is an error below 1 px
    rs = seeds_of("nsc_reg_uniform", "coordconv", [0.12, 0.99, 1.0, 21.4, 0.5])
    summary = summarize(rs, spec, spec.metric)
    assert summary["successes"] == 3 and summary["share"] == pytest.approx(0.6)
    assert summary["median"] == pytest.approx(0.99)
    low, high = summary["share_interval"]
    assert low < 0.6 < high
    higher = summarize(rs, TASKS["nsc_class_uniform"], "test accuracy")  # at least 0.99
    assert higher["successes"] == 3  # 0.99, 1.0 and 21.4


def test_the_audits_constant_cell_is_now_told_apart(table):
    # coordconv 1.000 +- 0 against vanilla 0.000 +- 0: before, p = None and no mark.
    c = against(table, "nsc_class_uniform", "coordconv")["vanilla"]
    assert c["test"] == "fisher" and c["p"] == pytest.approx(fisher_test(10, 10, 0, 10))
    assert c["verdict"] == "better"
    # Both at 1.0 in every seed: equal within the margin, a tie.
    assert against(table, "nsc_class_uniform", "coordconv")["coordbias"]["verdict"] == "tie"


def test_a_negligible_difference_is_a_tie_not_a_star(table):
    # fourier 0.3 px worse than vanilla on the regression, both failing: inside the 0.5 px margin.
    c = against(table, "nsc_reg_uniform", "fourier")["vanilla"]
    assert 0.2 < c["difference"] < 0.4 and c["verdict"] == "tie"
    assert against(table, "circles", "param_matched")["vanilla"]["verdict"] == "tie"


def test_better_worse_and_not_told_apart(table):
    assert against(table, "circles", "coordbias")["vanilla"]["verdict"] == "better"
    assert against(table, "circles", "param_matched")["coordbias"]["verdict"] == "worse"
    noisy = against(table, "circles", "fourier")["vanilla"]
    assert noisy["test"] == "permutation" and noisy["method"] == "exact"
    assert noisy["verdict"] == "not told apart"
    # Lower is better: coordconv's smaller error is better (9 of 10 succeed against 0 of 10).
    reg = against(table, "nsc_reg_uniform", "coordconv")["vanilla"]
    assert reg["difference"] < 0 and reg["effect"] == pytest.approx(0.9)
    assert reg["verdict"] == "better"


def test_every_comparison_is_holm_corrected_over_the_whole_table(table):
    found = comparisons(table)
    assert table["family"] == len(found)
    assert [c["p_holm"] for c in found] == pytest.approx(holm([c["p"] for c in found]))
    assert all(c["p"] <= c["p_holm"] <= 1.0 for c in found)
    # The permutation test's p is the one of the reference function on the same values.
    data = cells()["circles"]
    c = against(table, "circles", "fourier")["vanilla"]
    values = [[r["metric"] for r in data[m]["encoder"]] for m in ("fourier", "vanilla")]
    assert c["p"] == permutation_test(*values)["p"]


def test_which_rows_are_compared_with_which(table):
    refs = {
        (m, p): {role: tuple(c["reference"]) for role, c in s["against"].items()}
        for m, per in table["cells"]["circles"]["mIoU"].items()
        for p, s in per.items()
    }
    assert refs[("vanilla", "default")] == {}  # coordbias against vanilla is the one test
    assert refs[("coordbias", "default")] == {"vanilla": ("vanilla", "default")}
    assert refs[("coordbias", "first")] == {
        "vanilla": ("vanilla", "default"),
        "default": ("coordbias", "default"),
    }
    assert refs[("coordconv", "first")] == {
        "vanilla": ("vanilla", "default"),
        "coordbias": ("coordbias", "first"),  # the same placement
        "default": ("coordconv", "default"),
    }
    assert refs[("fourier", "default")] == {
        "vanilla": ("vanilla", "default"),
        "coordbias": ("coordbias", "default"),
    }
    assert table["rows"][:4] == [
        ["vanilla", "default"],
        ["coordbias", "default"],
        ["coordbias", "first"],
        ["coordbias", "all"],
    ]


def test_a_task_with_several_test_metrics_gets_a_column_each():
    @dataclasses.dataclass(frozen=True)
    class Spec(TaskSpec):
        columns: tuple[str, ...] = ("dissimilar", "similar")

    spec = Spec("redgreen", "redgreen", "", "dissimilar", True, "Red-Green", margin=0.01)
    data = {
        "redgreen": {
            "vanilla": redgreen_seeds("vanilla", [(0.5 + s / 100, 0.99) for s in range(5)]),
            "coordbias": redgreen_seeds("coordbias", [(0.9 + s / 100, 0.99) for s in range(5)]),
        }
    }
    t = build_table(data, {"redgreen": spec})
    assert t["tasks"]["redgreen"]["columns"] == ["dissimilar", "similar"]
    dissimilar = t["cells"]["redgreen"]["dissimilar"]["coordbias"]["default"]
    similar = t["cells"]["redgreen"]["similar"]["coordbias"]["default"]
    assert dissimilar["mean"] == pytest.approx(0.92) and similar["mean"] == pytest.approx(0.99)
    assert similar["against"]["vanilla"]["verdict"] == "tie"
    header = table_markdown(t).splitlines()[0]
    assert "redgreen: dissimilar (dissimilar ↑, 5 seeds)" in header
    assert "redgreen: similar" in header
    with pytest.raises(ValueError, match="not among redgreen"):
        build_table({"circles": {}}, {"redgreen": spec})


def test_a_row_at_chance_gets_no_verdict_on_any_column():
    # Red-Green: a network that did not learn answers 0.5 on both test sets, which on the
    # dissimilar set (vanilla near 0) would otherwise read as "better".
    spec = TASKS["redgreen"]
    assert spec.chance == 0.5
    data = {
        "redgreen": {
            "vanilla": redgreen_seeds("vanilla", [(0.03 + s / 1000, 0.97) for s in range(6)]),
            "coordbias": redgreen_seeds("coordbias", [(0.01, 0.99 + s / 1000) for s in range(6)]),
            # half the seeds learn the order: 0.5 on one set alone is not chance
            "coordconv": redgreen_seeds("coordconv", [(0.5 + s / 1000, 0.99) for s in range(6)]),
            "fourier": redgreen_seeds("fourier", [(0.5, 0.5 + s / 1000) for s in range(6)]),
        }
    }
    t = build_table(data, {"redgreen": spec})
    for column in ("dissimilar", "similar"):
        cells = t["cells"]["redgreen"][column]
        fourier = cells["fourier"]["default"]
        assert fourier["at_chance"]
        assert {c["verdict"] for c in fourier["against"].values()} == {"at chance"}
        assert "at_chance" not in cells["coordconv"]["default"]
    conv = t["cells"]["redgreen"]["dissimilar"]["coordconv"]["default"]["against"]["vanilla"]
    assert conv["verdict"] == "better"
    fourier_row = next(r for r in table_markdown(t).splitlines() if r.startswith("| `fourier`"))
    assert fourier_row.count("⊘") == 4  # against vanilla and coordbias, on both columns
    # Without a chance level the same numbers give the misleading verdict.
    plain = build_table(data, {"redgreen": dataclasses.replace(spec, chance=None)})
    vs_vanilla = plain["cells"]["redgreen"]["dissimilar"]["fourier"]["default"]["against"]
    assert vs_vanilla["vanilla"]["verdict"] == "better"


def test_the_transfer_is_a_column_of_its_own():
    data = {
        "circles": {
            m: seeds_of(
                "circles", m, [c + s / 100 for s in range(4)], transfer={"size": 96, "metric": c}
            )
            for m, c in (("vanilla", 0.5), ("coordbias", 0.8))
        }
    }
    t = build_table(data)
    assert t["tasks"]["circles"]["columns"] == ["mIoU", "transfer"]
    assert t["cells"]["circles"]["transfer"]["coordbias"]["default"]["mean"] == pytest.approx(0.8)
    assert "circles at 96 px (mIoU ↑, 4 seeds)" in table_markdown(t)


def test_the_markdown_table_shows_numbers_marks_and_seeds(table):
    lines = table_markdown(table).splitlines()
    assert "circles (mIoU ↑, 10 seeds)" in lines[0]
    assert "nsc_reg_uniform (test error (px) < 1 ↓, 10 seeds)" in lines[0]
    row = {line.split(" | ")[0][2:]: line[:-2].split(" | ")[1:] for line in lines[2:]}
    assert row["`coordbias`"][0].endswith("▲") and "[" in row["`coordbias`"][0]
    assert row["`param_matched`"][0].endswith("=▽")  # a tie with vanilla, worse than coordbias
    assert row["`fourier`"][0].endswith("▽")
    assert row["`coordconv`"][1].startswith("10/10 (72–100%), median 1.000 ▲≈")
    assert row["`fourier`"][2].endswith("=≈")
    assert row["`coordbias` (first)"][1].strip() == ""  # not run at that placement there


def test_a_cell_with_fewer_seeds_or_none_says_so():
    data = copy.deepcopy(cells())
    data["circles"]["fourier"]["encoder"].pop()
    data["circles"]["coordconv"]["encoder"] = []
    data["circles"]["coordconv"]["first"] = [{"task": "circles", "na": "no | form"}]
    text = table_markdown(build_table(data))
    assert "(n=9)" in text and "not run" in text and "n/a: no / form" in text


def test_each_method_has_one_row_at_every_task_own_placement():
    # Not-so-Clevr's cells run at "first", its networks' own placement; circles' "first" is the
    # placement axis. The Not-so-Clevr cells belong in the method's own row, not in "(first)".
    t = build_table(cells())
    assert t["tasks"]["nsc_reg_uniform"]["placement"] == "first"
    assert t["tasks"]["circles"]["placement"] == "encoder"
    rows = [tuple(r) for r in t["rows"]]
    assert ("coordconv", "default") in rows and ("coordconv", "first") in rows
    assert [p for m, p in rows if m == "fourier"] == ["default"]  # one placement: one row
    assert [p for m, p in rows if m == "vanilla"] == ["default"]
    nsc = t["cells"]["nsc_class_uniform"]["test accuracy"]["coordconv"]
    assert list(nsc) == ["default"] and nsc["default"]["placement"] == "first"
    first = t["cells"]["circles"]["mIoU"]["coordconv"]["first"]
    assert first["placement"] == "first"
    assert first["against"]["default"]["reference"] == ["coordconv", "default"]
