"""The benchmark report's figures: every method's effect against ``vanilla`` with its interval
(ties greyed), and the learning curves of every cell.

Drawn with the project's one figure helper (:func:`coordbias.training.figures.new_figure`,
:func:`~coordbias.training.figures.save_figure`: no ``pyplot``, written atomically) at the
resolution of the study's figures, cropped to their content. The benchmark does not import the
study, so it does not use ``coordbias.study.style``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from coordbias.benchmark.spec import BASELINE, TASKS
from coordbias.benchmark.table import (
    AT_CHANCE,
    TRANSFER,
    group_results,
    own_placement,
    row_label,
)
from coordbias.training.figures import new_figure, save_figure

__all__ = [
    "DPI",
    "VERDICT_COLORS",
    "curves_figure",
    "effects_figure",
    "write_figures",
]

#: Dots per inch of the benchmark's figures (the study's resolution).
DPI = 110

#: The colour of each verdict in the effect figure: a tie is grey, a row at chance orange.
VERDICT_COLORS: Mapping[str, str] = {
    "better": "#2ca02c",
    "worse": "#d62728",
    "not told apart": "#1f3b73",
    "tie": "#a0a0a0",
    AT_CHANCE: "#e69f00",
}


def _panels(count: int, per_row: int, size: tuple[float, float]) -> tuple[Figure, list[Any]]:
    cols = min(per_row, max(count, 1))
    rows = max(1, math.ceil(count / cols))
    fig = new_figure((size[0] * cols, size[1] * rows), dpi=DPI)
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[count:]:
        ax.set_axis_off()
    return fig, axes[:count]


def _title(fig: Figure, title: str) -> None:
    """A figure's title in a band of 0.4 inch added above its panels (``tight_layout`` alone
    lays the top row's titles over a tall figure's title)."""
    band = 0.4
    fig.set_figheight(fig.get_figheight() + band)
    fig.suptitle(title)
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 1.0 - band / fig.get_figheight()))


def effects_figure(table: Mapping[str, Any]) -> Figure:
    """Each method's effect against ``vanilla``: a panel per task and test metric, a row per
    method and placement, the effect with its 95 % interval, coloured by the verdict
    (:data:`VERDICT_COLORS`; ties grey).

    The effect is oriented so that right is better: the difference of means (Welch's interval)
    for a continuous outcome, with the task's equivalence margin shaded; the difference of the
    shares of seeds that succeed (Newcombe's interval) for a success outcome.

    Args:
        table: :func:`coordbias.benchmark.table.build_table`'s result.
    """
    panels = [(t, c) for t, info in table["tasks"].items() for c in info["columns"]]
    rows = [tuple(r) for r in table["rows"] if r[0] != BASELINE]
    if not panels:
        fig = new_figure((4.0, 1.0), dpi=DPI)
        fig.text(0.5, 0.5, "no finished cells yet", ha="center", va="center")
        return fig
    fig, axes = _panels(len(panels), 3, (4.2, 0.32 * len(rows) + 1.3))
    for ax, (task, column) in zip(axes, panels):
        info = table["tasks"][task]
        success = info["outcome"] == "success" and column != TRANSFER
        labels, ys = [], []
        for y, (method, placement) in enumerate(reversed(rows)):
            labels.append(row_label(method, placement).replace("`", ""))
            ys.append(y)
            summary = table["cells"][task][column].get(method, {}).get(placement) or {}
            c = (summary.get("against") or {}).get(BASELINE)
            if c is None:
                continue
            colour = VERDICT_COLORS[c["verdict"]]
            if c["effect_interval"] is None:
                ax.plot([c["effect"]], [y], "o", color=colour, gid=c["verdict"])
                continue
            low, high = c["effect_interval"]
            ax.errorbar(
                [c["effect"]],
                [y],
                xerr=[[c["effect"] - low], [high - c["effect"]]],
                fmt="o",
                color=colour,
                capsize=3,
                gid=c["verdict"],
            )
        ax.axvline(0.0, color="black", linewidth=0.8)
        if not success and info["margin"] > 0:
            ax.axvspan(-info["margin"], info["margin"], color="#e6e6e6", zorder=0)
        ax.set_yticks(ys, labels, fontsize=8)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        name = task if len(info["columns"]) == 1 else f"{task}: {column}"
        if column == TRANSFER:
            name = f"{task} at {info['transfer_size']} px"
        ax.set_title(name, fontsize=9)
        if success:
            ax.set_xlabel("share of seeds succeeding, minus vanilla's →", fontsize=8)
        else:
            sign = "" if info["higher_is_better"] else "vanilla's minus the method's "
            metric = info["metric"] if column == TRANSFER else column  # a second column: its own
            ax.set_xlabel(f"{sign}{metric} (better →)", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    handles = [
        axes[0].plot([], [], "o", color=colour, label=verdict)[0]
        for verdict, colour in VERDICT_COLORS.items()
    ]
    _title(fig, "effect against vanilla, 95 % interval (grey band: the tie margin)")
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=len(handles),
        fontsize=8,
        frameon=False,
    )
    return fig


def curves_figure(
    task: str,
    per_method: Mapping[str, Mapping[str, Sequence[Any]]],
    own: str | None = None,
) -> Figure:
    """The learning curves of one task: a panel per method and placement, the validation
    metric per epoch, one line per seed (from each result's ``curve``), a dot at the epoch
    whose weights were tested (``best_epoch``, when given).

    Args:
        task: the task's name (the title).
        per_method: ``{method: {placement: [result, ...]}}`` of the task.
        own: the task's own placement, whose panels are named by the method alone (``None``:
            :func:`~coordbias.benchmark.table.own_placement` of the task).
    """
    own = own_placement(TASKS.get(task)) if own is None else own
    rows = [
        (m, p, rs)
        for m, per in per_method.items()
        for p, rs in per.items()
        if any(r.get("curve") for r in rs)
    ]
    fig, axes = _panels(len(rows), 4, (2.6, 2.0))
    for ax, (method, placement, results) in zip(axes, rows):
        for r in results:
            curve = r.get("curve") or []
            epochs = [point["epoch"] for point in curve]
            (line,) = ax.plot(
                epochs, [point["val_metric"] for point in curve], linewidth=0.9, alpha=0.7
            )
            if r.get("best_epoch") in epochs:  # the epoch whose weights were tested
                best = curve[epochs.index(r["best_epoch"])]["val_metric"]
                ax.plot([r["best_epoch"]], [best], "o", markersize=3, color=line.get_color())
        ax.set_title(row_label(method, placement, own).replace("`", ""), fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=7)
    for ax in axes[1:]:
        ax.sharey(axes[0])
    if axes:
        axes[0].set_ylabel("validation metric", fontsize=8)
        axes[-1].set_xlabel("epoch", fontsize=8)
    _title(fig, f"{task}: learning curves (one line per seed)")
    return fig


def write_figures(
    table: Mapping[str, Any], cells: Mapping[str, Any], fig_dir: str | Path
) -> dict[str, Path]:
    """Write the effect figure and each task's learning curves (when its results carry a
    ``curve``) into ``fig_dir``, atomically.

    Args:
        table: :func:`coordbias.benchmark.table.build_table`'s result.
        cells: ``results.json``'s ``cells`` (either shape).
        fig_dir: the folder of the figures.

    Returns:
        ``{"effects": path, "curves/<task>": path, ...}`` of the figures written; no
        ``effects`` when the table compares nothing (an anchor alone).
    """
    fig_dir = Path(fig_dir)
    out = {}
    if table["family"]:
        out["effects"] = save_figure(effects_figure(table), fig_dir / "effects.png", tight=True)
    for task, per_method in group_results(cells).items():
        if any(r.get("curve") for per in per_method.values() for rs in per.values() for r in rs):
            path = fig_dir / f"curves_{task}.png"
            figure = curves_figure(task, per_method, table["tasks"].get(task, {}).get("placement"))
            out[f"curves/{task}"] = save_figure(figure, path, tight=True)
    return out
