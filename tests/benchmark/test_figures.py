"""The benchmark's figures (coordbias.benchmark.figures) from synthetic results."""

from __future__ import annotations

import copy

import matplotlib.colors as mcolors
import pytest

from coordbias.benchmark.figures import (
    VERDICT_COLORS,
    curves_figure,
    effects_figure,
    write_figures,
)
from coordbias.benchmark.spec import TASKS
from coordbias.benchmark.table import build_table, group_results

from .synthetic import cells, redgreen_seeds


@pytest.fixture(scope="module")
def data():
    c = cells()
    return c, build_table(c)


def drawn(ax) -> dict[str, str]:
    """``{verdict: colour}`` of the points an effect panel draws (each tagged with its
    verdict)."""
    return {
        line.get_gid(): mcolors.to_hex(line.get_color())
        for line in ax.get_lines()
        if line.get_gid() in VERDICT_COLORS
    }


def test_effects_grey_the_ties_and_colour_the_findings(data):
    _, table = data
    fig = effects_figure(table)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["circles", "nsc_class_uniform", "nsc_reg_uniform"]
    circles = drawn(axes[0])
    assert circles["tie"] == VERDICT_COLORS["tie"]  # param_matched
    assert circles["better"] == VERDICT_COLORS["better"]
    assert circles["not told apart"] == VERDICT_COLORS["not told apart"]
    assert drawn(axes[2])["tie"] == VERDICT_COLORS["tie"]  # fourier's 0.3 px
    # Every method and placement but vanilla has a row; the circles panel shades the margin.
    assert len(axes[0].get_yticklabels()) == len(table["rows"]) - 1
    assert axes[0].patches and not axes[1].patches


def test_effect_points_sit_at_the_tables_effects(data):
    _, table = data
    ax = next(ax for ax in effects_figure(table).axes if ax.get_title() == "circles")
    effect = table["cells"]["circles"]["mIoU"]["coordbias"]["default"]["against"]["vanilla"]
    xs = [c.lines[0].get_xdata()[0] for c in ax.containers]
    assert any(x == pytest.approx(effect["effect"]) for x in xs)


def test_curves_have_a_line_per_seed(data):
    c, _ = data
    per_method = group_results(c)["nsc_reg_uniform"]
    fig = curves_figure("nsc_reg_uniform", per_method)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["vanilla", "coordbias", "coordconv", "fourier"]
    assert all(len(ax.get_lines()) == 10 for ax in panels)


def test_write_figures_writes_what_there_is(data, tmp_path):
    c, table = data
    no_curves = copy.deepcopy(c)
    for per in no_curves["nsc_class_uniform"].values():
        for rs in per.values():
            for r in rs:
                del r["curve"]
    paths = write_figures(table, no_curves, tmp_path / "figures")
    assert set(paths) == {"effects", "curves/circles", "curves/nsc_reg_uniform"}
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "curves_circles.png",
        "curves_nsc_reg_uniform.png",
        "effects.png",
    ]  # nothing half-written left beside them


def test_a_table_that_compares_nothing_gets_no_effect_figure(tmp_path):
    table = build_table({})
    assert write_figures(table, {}, tmp_path) == {} and not list(tmp_path.iterdir())
    effects_figure(table)  # drawing it anyway does not raise


def test_each_column_of_a_task_is_labelled_by_its_own_metric_and_chance_is_orange():
    data = {
        "redgreen": {
            "vanilla": redgreen_seeds("vanilla", [(0.03 + s / 1000, 0.97) for s in range(6)]),
            "coordbias": redgreen_seeds("coordbias", [(0.01, 0.99 + s / 1000) for s in range(6)]),
            "fourier": redgreen_seeds("fourier", [(0.5, 0.5 + s / 1000) for s in range(6)]),
        }
    }
    fig = effects_figure(build_table(data, {"redgreen": TASKS["redgreen"]}))
    axes = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    assert set(axes) == {"redgreen: dissimilar", "redgreen: similar"}
    assert axes["redgreen: similar"].get_xlabel().startswith("similar")
    assert axes["redgreen: dissimilar"].get_xlabel().startswith("dissimilar")
    assert drawn(axes["redgreen: dissimilar"])["at chance"] == VERDICT_COLORS["at chance"]
