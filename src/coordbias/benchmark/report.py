"""The benchmark's ``report.md``: the table, its figures, what each task tells apart and what it
does not, and how the statistics were done.

:func:`write_report` is the one call: it builds the table from ``results.json``'s ``cells``
(:func:`coordbias.benchmark.table.build_table`), draws the figures
(:mod:`coordbias.benchmark.figures`) and writes ``report.md`` (:func:`render`), all atomically;
it returns the table for ``results.json``. Every sentence of a task's paragraph
(:func:`findings`) is made from the verdicts, with its numbers, so that a guide written from the
report rests on a corrected test or says that the methods were not told apart.
"""

from __future__ import annotations

import math
import shlex
import statistics as pystats
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from coordbias._util.files import write_text
from coordbias.benchmark.spec import BASELINE, TASKS, TaskSpec
from coordbias.benchmark.table import (
    AT_CHANCE,
    COORDBIAS,
    DEFAULT_ROW,
    MARKS,
    SIGNIFICANCE,
    TRANSFER,
    build_table,
    digits,
    format_summary,
    group_results,
    own_placement,
    recorded_spec,
    row_label,
    table_markdown,
)
from coordbias.reporting.markdown import figure_link, fmt_sci, md_table
from coordbias.reporting.stats import ALPHA, DRAWS, MAX_SPLITS

__all__ = ["command_line", "findings", "markdown", "render", "statistics_text", "write_report"]

#: The order in which a paragraph lists the verdicts.
_ORDER = ("better", "worse", "tie", "not told apart", AT_CHANCE)


def _column_name(task: str, column: str, info: Mapping[str, Any]) -> str:
    if column == TRANSFER:
        return f"{task} at {info['transfer_size']} px"
    return task if len(info["columns"]) == 1 else f"{task}: {column}"


def _p(value: float | None) -> str:
    return "no test" if value is None else f"p = {fmt_sci(value)}"


def _interval(pair: Sequence[float] | None, d: int) -> str:
    if pair is None:
        return "no interval from one seed"
    return f"[{pair[0]:+.{d}f}, {pair[1]:+.{d}f}]"


def _item(
    label: str, summary: Mapping[str, Any], c: Mapping[str, Any], spec: TaskSpec, success: bool
) -> str:
    """One method in a paragraph: its numbers, the difference and the corrected p."""
    d = digits(spec)
    diff = f"{c['difference']:+.{d}f} {_interval(c['interval'], d)}"
    if success:
        what = f"{summary['successes']}/{summary['n']} succeeded, median {summary['median']:.{d}f}"
        if c["verdict"] == "tie":
            return f"{label} ({what}; difference of means {diff} inside ±{spec.margin:g})"
        share = f"{c['effect']:+.2f} {_interval(c['effect_interval'], 2)}"
        return f"{label} ({what}; share {share}, Fisher's {_p(c['p_holm'])})"
    mean = f"{summary['mean']:.{d}f}"
    if c["verdict"] == "tie":
        return f"{label} {mean} (difference {diff} inside ±{spec.margin:g})"
    return f"{label} {mean} (difference {diff}, {_p(c['p_holm'])})"


def findings(table: Mapping[str, Any], task: str) -> str:
    """The paragraph of one task: per test metric and reference, which methods are better,
    worse, tied or not told apart, each with its numbers and its corrected p (Holm).

    Args:
        table: :func:`coordbias.benchmark.table.build_table`'s result.
        task: a task of the table.
    """
    info = table["tasks"][task]
    spec = recorded_spec(task, info)
    lines = []
    for column in info["columns"]:
        success = info["outcome"] == "success" and column != TRANSFER
        per_method = table["cells"][task][column]
        groups: dict[str, dict[str, list[str]]] = {}
        reference = {
            role: format_summary(per_method[role][DEFAULT_ROW], spec)
            for role in (BASELINE, COORDBIAS)
            if DEFAULT_ROW in per_method.get(role, {})
        }
        for method, per_place in per_method.items():
            for placement, summary in per_place.items():
                for role, c in (summary.get("against") or {}).items():
                    ref_m, ref_p = c["reference"]
                    label = row_label(method, placement)
                    if role == DEFAULT_ROW:
                        label = f"{label} against {row_label(ref_m, ref_p)}"
                    elif (ref_m, ref_p) != (role, DEFAULT_ROW):
                        label = f"{label} (against {row_label(ref_m, ref_p)})"
                    text = _item(label, summary, c, spec, success)
                    groups.setdefault(role, {}).setdefault(c["verdict"], []).append(text)
        title = _column_name(task, column, info)
        direction = "higher" if spec.higher_is_better else "lower"
        metric = spec.metric if column == TRANSFER else column  # a task's second column: its own
        if success:
            what = (
                f"a seed succeeds when its {metric} is "
                f"{'at least' if spec.higher_is_better else 'below'} {spec.success:g}"
            )
        else:
            what = f"{metric}, {direction} is better"
        seeds = max(
            (x["n"] for per in per_method.values() for x in per.values() if "n" in x), default=0
        )
        out = [f"**{title}** ({what}; tie margin ±{spec.margin:g}; {seeds} seeds)."]
        if not groups:
            out.append("- No comparison could be made (cells missing or not applicable).")
        for role in (BASELINE, COORDBIAS, DEFAULT_ROW):
            if role not in groups:
                continue
            if role == DEFAULT_ROW:
                own = info.get("placement", "encoder")
                opening = f"Placement, against the same method at the task's own (`{own}`):"
            else:
                ref = reference.get(role)
                opening = f"Against `{role}`" + (f" ({ref})" if ref else "") + ":"
            parts = [
                f"**{verdict}**: " + "; ".join(groups[role][verdict])
                for verdict in _ORDER
                if verdict in groups[role]
            ]
            out.append(f"- {opening} " + ". ".join(parts) + ".")
        lines.append("\n".join(out))
    return "\n\n".join(lines)


def _smallest_p(n: int) -> float:
    """The smallest two-sided p of the permutation or Fisher test with n seeds a side."""
    return 2.0 / math.comb(2 * n, n) if n > 0 else 1.0


def statistics_text(table: Mapping[str, Any]) -> str:
    """How the numbers and the marks were made: the summaries, the tests, the correction, the
    margins, the verdicts, the marks and what the seeds allow."""
    family = table["family"]
    methods = {"exact": 0, "monte carlo": 0}
    ns: dict[str, int] = {}
    for task, per_column in table["cells"].items():
        for per_method in per_column.values():
            for per_place in per_method.values():
                for summary in per_place.values():
                    if "n" in summary:
                        ns[task] = max(ns.get(task, 0), summary["n"])
                    for c in (summary.get("against") or {}).values():
                        if c["test"] == "permutation":
                            methods[c["method"]] += 1
    v, cb = MARKS[BASELINE], MARKS[COORDBIAS]
    lines = [
        "- A cell of a continuous task: the mean over the seeds and its 95 % Student-t "
        "interval. A cell of a success task (a bimodal outcome: a seed solves the task or "
        "not, and a mean ± std would describe neither mode): how many seeds succeeded, the "
        "95 % Wilson interval of that share, and the median. The header gives the seeds per "
        "cell; a cell with fewer says `(n=k)`.",
        f"- Every method (and placement) is compared with `{BASELINE}` and with `{COORDBIAS}` "
        "(at the same placement when it was run there), and a placement other than the task's "
        "own with the same method at the task's own placement; each pair "
        "once. Continuous tasks: the two-sided permutation test of the difference of means "
        f"(exact, every split of the pooled seeds, up to {MAX_SPLITS:,} splits: "
        f"{methods['exact']} comparison(s); beyond, {DRAWS:,} seeded random splits with "
        f"p = (1 + hits) / (1 + draws): {methods['monte carlo']}). It estimates no variance, so "
        "two groups that each give one value every seed are tested like any others. Success "
        "tasks: Fisher's exact test of the success counts.",
        f"- Holm's step-down correction over all {family} comparisons of the table: an "
        f"adjusted p below {ALPHA:g} keeps the chance of any false finding in the whole table "
        f"at most {ALPHA:g}. The p-values quoted are the adjusted ones.",
        "- Verdicts: **tie** when the 95 % Welch interval of the difference of means lies "
        "inside the task's equivalence margin (below), whatever the test; **better** / "
        f"**worse** when the adjusted p is below {ALPHA:g} (for a success task the direction is "
        "that of the share of seeds succeeding); else **not told apart**, which does not mean "
        "equal: the seeds cannot tell. **at chance** instead when the row or its reference "
        "scored at the task's chance level on every column in every seed (within the margin): "
        "it did not learn the task, and no verdict is drawn from its number.",
        f"- Marks: against `{BASELINE}` {v['better']} better, {v['worse']} worse, {v['tie']} "
        f"tie; against `{COORDBIAS}` {cb['better']} better, {cb['worse']} worse, {cb['tie']} "
        f"tie; {v[AT_CHANCE]} at chance; no mark: not told apart. Placements are compared in "
        "the paragraphs of each task.",
        "- Margins: "
        + ", ".join(
            f"`{t}` ±{info['margin']:g} ({info['metric']})" for t, info in table["tasks"].items()
        )
        + ".",
    ]
    if ns:
        reachable = {t: _smallest_p(n) for t, n in ns.items()}
        seeds = ", ".join(f"`{t}` {n} (smallest p {fmt_sci(reachable[t])})" for t, n in ns.items())
        lines.append(
            f"- Seeds per cell: {seeds}. The smallest p a test can give with n seeds a side is "
            "2 / C(2n, n)"
            + (
                f"; after Holm the smallest p of the table is multiplied by {family}."
                if family
                else "."
            )
        )
        if family and all(family * p >= ALPHA for p in reachable.values()):
            lines.append(
                f"- With these seeds no comparison can reach adjusted p < {ALPHA:g}: this table "
                "can show ties, never a difference."
            )
    return "\n".join(lines)


def _settings(cells: Mapping[str, Any]) -> str:
    """The learning rate and weight decay each task x method used (chosen on validation, or an
    anchor's paper's)."""
    rows = []
    for task, per_method in group_results(cells).items():
        own = own_placement(TASKS.get(task))
        for method, per_place in per_method.items():
            for placement, results in per_place.items():
                lrs = sorted({r["lr"] for r in results if "lr" in r})
                wds = sorted({r.get("weight_decay", 0.0) for r in results if "lr" in r})
                if lrs:
                    rows.append(
                        [
                            f"`{task}`",
                            row_label(method, placement, own),
                            ", ".join(f"{x:g}" for x in lrs),
                            ", ".join(f"{x:g}" for x in wds),
                        ]
                    )
    return md_table(["task", "method", "learning rate", "weight decay"], rows) if rows else ""


def _cap(scale: Mapping[str, Any], task: str) -> str:
    """The epoch (or step) cap of ``task`` in ``results.json``'s ``scale``, as words ("" when
    the scale does not record it)."""
    spec = TASKS.get(task)
    schedules = scale.get("schedules") if isinstance(scale, Mapping) else None
    if spec is None or not isinstance(schedules, Mapping):
        return ""
    schedule = schedules.get(f"{spec.family}_anchor" if spec.anchor else spec.family)
    if not isinstance(schedule, Mapping) or "max_epochs" not in schedule:
        return ""
    text = f"{schedule['max_epochs']} epochs"
    if schedule.get("max_steps"):
        text += f" or {schedule['max_steps']} steps"
    if spec.variant in schedule.get("train_through", ()):
        return f" ({text}, trained through: no early stopping, tested at the last epoch)"
    patience = f", patience {schedule['patience']}" if "patience" in schedule else ""
    return f" (cap {text}{patience})"


def _hit_cap(result: Mapping[str, Any]) -> bool:
    """Whether a cell trained until its cap: it stopped neither on validation nor once solved."""
    return not result.get("stopped_early") and not result.get("reached_success")


def _still_improving(result: Mapping[str, Any]) -> bool:
    """Whether a cell's validation loss was lowest at its last epoch. From the learning curve
    where there is one: a cell trained through (tested at its last epoch) records that epoch as
    its best whatever its validation loss did."""
    losses = [p["val_loss"] for p in result.get("curve") or () if p.get("val_loss") is not None]
    if losses:
        return losses[-1] < min(losses[:-1], default=math.inf)
    return result.get("best_epoch") == result.get("epochs_run")


def _training(cells: Mapping[str, Any], scale: Mapping[str, Any] | None = None) -> list[str]:
    """Per task: epochs run, how many cells stopped early on validation and how many hit the
    epoch cap instead (a cell that did not stop early ran until the cap), of those how many
    were still improving at their last epoch (:func:`_still_improving`), and by how
    much each row's capped cells were still improving (:func:`_late_gains`)."""
    out = []
    for task, per_method in group_results(cells).items():
        results = [r for per in per_method.values() for rs in per.values() for r in rs]
        trained = [r for r in results if "epochs_run" in r]
        if not trained:
            continue
        epochs = [r["epochs_run"] for r in trained]
        stopped = sum(bool(r.get("stopped_early")) for r in trained)
        solved = sum(bool(r.get("reached_success")) for r in trained)
        capped = [r for r in trained if _hit_cap(r)]
        improving = sum(_still_improving(r) for r in capped)
        solved_text = f"{solved} stopped once solved on validation; " if solved else ""
        out.append(
            f"- `{task}`{_cap(scale or {}, task)}: {len(epochs)} cell(s) ran {min(epochs)} to "
            f"{max(epochs)} epochs (median {pystats.median(epochs):g}); {stopped} stopped early "
            f"on validation; {solved_text}**{len(capped)} hit the cap**, {improving} of them "
            "still improving at their last epoch."
        )
        gains = _late_gains(task, per_method)
        if gains:
            out.append(
                "  How far their validation score (the task's metric, in its units) improved "
                "over their last two epochs, the median per row (negative: it got worse): "
                + "; ".join(gains)
                + "."
            )
    return out


def _late_gains(task: str, per_method: Mapping[str, Mapping[str, list[dict]]]) -> list[str]:
    """Per row, the median over its capped cells (3 epochs or more) of how far the validation
    metric moved in the better direction over the last two epochs: how far from converged the
    cap left the row, in the metric's units."""
    spec = TASKS.get(task)
    sign = 1.0 if spec is None or spec.higher_is_better else -1.0
    own = own_placement(spec)
    out = []
    for method, per_place in per_method.items():
        for placement, results in per_place.items():
            moved = [
                sign * (r["curve"][-1]["val_metric"] - r["curve"][-3]["val_metric"])
                for r in results
                if _hit_cap(r) and len(r.get("curve") or ()) >= 3
            ]
            if moved:
                out.append(f"{row_label(method, placement, own)} {pystats.median(moved):+.3g}")
    return out


def _failures(cells: Mapping[str, Any]) -> list[str]:
    """Per row of a success task with failed seeds: why they failed, from the cells'
    ``diagnosis``: the same score on (part of) the training set, and for the regression where the
    output's maximum falls, against the seeds that succeeded; and how many of the failed seeds
    stopped once solved on validation or were still improving at the cap."""
    out = []
    for task, per_method in group_results(cells).items():
        spec = TASKS.get(task)
        if spec is None or spec.success is None:
            continue
        for method, per_place in per_method.items():
            for placement, results in per_place.items():
                final = [r for r in results if "metric" in r and "diagnosis" in r]
                failed = [r for r in final if not spec.succeeded(r["metric"])]
                if not failed:
                    continue
                solved = [r for r in final if spec.succeeded(r["metric"])]
                out.append(
                    f"- {row_label(method, placement)} on `{task}`: " + _why(spec, failed, solved)
                )
    return out


def _median_of(results: Sequence[Mapping[str, Any]], key: str) -> float | None:
    values = [r["diagnosis"][key] for r in results if r["diagnosis"].get(key) is not None]
    return pystats.median(values) if values else None


def _why(spec: TaskSpec, failed: list[dict], solved: list[dict]) -> str:
    """One sentence of numbers on the failed seeds of one row (see :func:`_failures`)."""
    regression = spec.family == "nsc_reg"
    train_key = "train_error_px" if regression else "train_accuracy"

    def score(value: float) -> str:
        return f"{value:.3g} px" if regression else f"{value:.1%}"

    parts = [f"{len(failed)} of {len(failed) + len(solved)} seeds failed"]
    train_failed = _median_of(failed, train_key)
    if train_failed is not None:
        text = f"their median training-set score {score(train_failed)}"
        train_solved = _median_of(solved, train_key)
        if train_solved is not None:
            text += f" (the solved seeds' {score(train_solved)})"
        fits = spec.succeeded(train_failed)
        parts.append(
            text
            + (
                ": they fit the training set and miss the test set"
                if fits
                else ": they fail on the training set too, an optimisation failure"
            )
        )
    if spec.family == "nsc_reg":
        at_init, at_end = (_median_of(failed, k) for k in ("max_near_hot_at_init", "max_near_hot"))
        if at_init is not None and at_end is not None:
            text = (
                f"the output's maximum lay within 2 px of the hot pixel in a median {at_init:.0%} "
                f"of images at initialisation and {at_end:.0%} at the end"
            )
            solved_end = _median_of(solved, "max_near_hot")
            if solved_end is not None:
                text += f" (solved seeds at the end: {solved_end:.0%})"
            parts.append(text)
    solved_on_val = sum(bool(r.get("reached_success")) for r in failed)
    if solved_on_val:
        parts.append(f"stopped once solved on validation: {solved_on_val} of them")
    improving = sum(_hit_cap(r) and _still_improving(r) for r in failed)
    parts.append(f"still improving at the cap: {improving} of them")
    return "; ".join(parts) + "."


def _cost(timing: Mapping[str, Any] | None) -> str:
    """The timing's table: each method's training-step time over vanilla's (a number, or
    ``{"median", "interval"}``) and the parameters it adds (per network, when given)."""
    if not timing or not isinstance(timing.get("ratio"), Mapping):
        return ""
    added = timing.get("added_params") or {}
    networks = [k for k, v in added.items() if isinstance(v, Mapping)]
    rows = []
    for method, ratio in timing["ratio"].items():
        if isinstance(ratio, Mapping) and "median" in ratio:
            low, high = ratio.get("interval") or (None, None)
            text = f"{ratio['median']:.2f}×"
            if low is not None:
                text += f" [{low:.2f}, {high:.2f}]"
        elif isinstance(ratio, (int, float)):
            text = f"{ratio:.2f}×"
        else:
            text = "n/a"
        params = [added[n].get(method) for n in networks]
        rows.append([f"`{method}`", text, *("" if p is None else f"{p:+,}" for p in params)])
    for method, reason in (timing.get("na") or {}).items():
        rows.append([f"`{method}`", f"n/a: {reason}", *([""] * len(networks))])
    headers = ["method", f"step time / `{BASELINE}`", *(f"added params ({n})" for n in networks)]
    setting = ", ".join(
        f"{k} {timing[k]}"
        for k in ("width", "image_size", "batch_size", "rounds", "threads")
        if k in timing
    )
    return md_table(headers, rows) + (f"\n\nMeasured at {setting}." if setting else "")


def _run_cost(results: Mapping[str, Any]) -> str:
    """What the run's cells took, per task: the final cells' seconds and, once per sweep, the
    sweep cells' (each cell's training and scoring, from its ``result.json``)."""
    # task -> [final cells, their seconds, sweep cells, their seconds]
    per_task: dict[str, list[float]] = {}
    for task, per_method in group_results(results.get("cells") or {}).items():
        entry = per_task.setdefault(task, [0, 0.0, 0, 0.0])
        for found in (rs for per_place in per_method.values() for rs in per_place.values()):
            entry[0] += len(found)
            entry[1] += math.fsum(r.get("seconds") or 0.0 for r in found)
    swept = set()
    for per_method in (results.get("sweep") or {}).values():
        for method, per_place in per_method.items():
            for placement, record in per_place.items():
                key = (record.get("on"), method, placement)
                if key[0] is None or key in swept:  # no sweep, or one shared by two rows
                    continue
                swept.add(key)
                entry = per_task.setdefault(key[0], [0, 0.0, 0, 0.0])
                for pair in record.get("grid") or []:
                    entry[2] += pair.get("seeds") or 0
                    entry[3] += pair.get("seconds") or 0.0
    if not any(e[1] or e[3] for e in per_task.values()):
        return ""

    def hours(seconds: float) -> str:
        return f"{seconds / 3600:.2f}"

    rows = [[f"`{t}`", e[0], hours(e[1]), e[2], hours(e[3])] for t, e in per_task.items()]
    total = [sum(e[k] for e in per_task.values()) for k in range(4)]
    rows.append(["all", total[0], hours(total[1]), total[2], hours(total[3])])
    headers = ["task", "final cells", "hours", "sweep cells", "hours"]
    both = total[1] + total[3]
    return md_table(headers, rows) + (
        f"\n\n{hours(both)} hours of cells in all, each cell's training and scoring from its "
        "`result.json` (not its process's start, nor the timing): with `--jobs N` on N free "
        "cores about that over N of wall time."
    )


def _unfinished(table: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    na, missing = [], []
    for task, per_column in table["cells"].items():
        first = next(iter(per_column.values()), {})
        for method, per_place in first.items():
            for placement, summary in per_place.items():
                name = f"{row_label(method, placement)} on `{task}`"
                if "na" in summary:
                    na.append(f"- {name}: {summary['na']}")
                elif summary.get("missing"):
                    missing.append(name)
    return na, missing


def render(results: Mapping[str, Any], table: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    """``report.md`` from ``results`` (``results.json``), its ``table``
    (:func:`~coordbias.benchmark.table.build_table`) and its ``figures`` (name -> path relative
    to the report, as :func:`write_report` names them)."""
    scale = results.get("scale") or {}
    title = "# Benchmark: ways to give a CNN position, methods x tasks"
    lines = [title, ""]
    compared = table["family"] > 0  # an anchor alone compares nothing: no marks to explain
    if scale:
        # The scale's description is its methods' (the sweep, early stopping); an anchor's rows
        # train at its paper's protocol instead.
        how = scale.get("description", "")
        if not compared:
            how = "anchors alone, each trained at its paper's protocol: no sweep"
        lines += [
            f"Scale `{scale.get('name', '?')}` ({how}). Reproduce with "
            f"`{command_line(results)}` (resumable).",
            "",
        ]
    lines += [table_markdown(table), ""]
    placed: dict[str, list[str]] = {}
    for task, info in table["tasks"].items():
        if "placement" in info:
            placed.setdefault(info["placement"], []).append(f"`{task}`")
    if placed:
        own = "; ".join(f"`{p}` on {', '.join(ts)}" for p, ts in placed.items())
        lines += [
            "Rows: each method at each task's own placement (where the task's published network "
            f"puts position: {own}); a placement in parentheses is the placement axis, run on "
            "the tasks where its cells are filled.",
            "",
        ]
    if compared:
        lines += [
            f"Marks: {MARKS[BASELINE]['better']} / {MARKS[BASELINE]['worse']} better / worse than "
            f"`{BASELINE}`, {MARKS[BASELINE]['tie']} a tie with it; {MARKS[COORDBIAS]['better']} / "
            f"{MARKS[COORDBIAS]['worse']} / {MARKS[COORDBIAS]['tie']} the same against "
            f"`{COORDBIAS}`; {MARKS[BASELINE][AT_CHANCE]} at chance (the row did not learn the "
            "task); no mark: not told apart (see How the statistics were done).",
            "",
        ]
    if "effects" in figures:
        lines += [f"![Effect against {BASELINE}]({figures['effects']})", ""]
    training = _training(results.get("cells", {}), scale)
    if training:
        lines += [
            "## Convergence",
            "",
            "Each cell trains until its validation loss has not improved for the patience, or "
            "until the scale's cap. A cell that hit the cap is not shown to have converged; "
            "one whose validation loss was lowest at its last epoch was still improving when it "
            "stopped.",
            "",
            *training,
            "",
        ]
    if results.get("anchor_table"):
        lines += [
            "## Anchors: published tables reproduced",
            "",
            "Each anchor's rows with their paper's protocol, accuracy in % (mean ± sample std "
            "over the seeds; for a success task also how many seeds succeed) beside the "
            "published mean. Kayhan and van Gemert's Red-Green table (`redgreen_paper`: their "
            "four convolution types on their exact sets; issue 21 asks for each mean within 3 "
            "points); Liu et al.'s CoordConv classifier (`nsc_class_paper_*`: 100 % on both "
            "splits, which issue 21 asks for in every seed).",
            "",
            str(results["anchor_table"]),
            "",
        ]
    failures = _failures(results.get("cells", {}))
    if failures:
        lines += [
            "## Why seeds fail",
            "",
            "For the success tasks, each row with failed seeds: the same score on training "
            "images, and for the regression where the output's maximum falls.",
            "",
            *failures,
            "",
        ]
    if compared:
        lines += ["## What each task tells apart", ""]
        for task in table["tasks"]:
            description = TASKS[task].description if task in TASKS else ""
            lines += [f"### `{task}`" + (f": {description}" if description else ""), ""]
            lines += [findings(table, task), ""]
        lines += ["## How the statistics were done", "", statistics_text(table), ""]
    curves = {k.split("/", 1)[1]: v for k, v in figures.items() if k.startswith("curves/")}
    if curves:
        lines += ["## Learning curves", ""]
        for task, path in curves.items():
            lines += [f"![{task}: learning curves]({path})", ""]
    cost = _cost(results.get("timing"))
    if cost:
        lines += ["## Cost", "", cost, ""]
    run_cost = _run_cost(results)
    if run_cost:
        lines += ["## What the run cost", "", run_cost, ""]
    settings = _settings(results.get("cells", {}))
    if settings:
        lines += [
            "## Learning rate and weight decay of each row",
            "",
            "Chosen on validation by the sweep where the scale sweeps; an anchor's rows train at "
            "their paper's settings, unswept.",
            "",
            settings,
            "",
        ]
    na, missing = _unfinished(table)
    if na:
        lines += ["## Not applicable", "", *na, ""]
    if missing:
        lines += [f"Not finished: {', '.join(missing)}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(
    results: Mapping[str, Any],
    out_dir: str | Path,
    *,
    specs: Mapping[str, TaskSpec] | None = None,
    fig_dir: str = "figures",
) -> dict[str, Any]:
    """Build the table of ``results`` and write its figures (``out_dir/fig_dir``) and
    ``out_dir/report.md``, atomically.

    Args:
        results: the ``results.json`` dict: ``cells`` (either shape of
            :func:`~coordbias.benchmark.table.group_results`), and when present ``scale``
            (``name``, ``description``, ``seeds``), ``seeds``, ``methods`` (the rows' order).
        out_dir: the benchmark folder.
        specs: the tasks by name (``None``: :data:`~coordbias.benchmark.spec.TASKS`).
        fig_dir: the figures' folder, relative to ``out_dir``.

    Returns:
        The table (:func:`~coordbias.benchmark.table.build_table`), JSON-able, for
        ``results.json``.
    """
    from coordbias.benchmark.figures import write_figures

    out_dir = Path(out_dir)
    table = build_table(results["cells"], specs, results.get("methods"))
    paths = write_figures(table, results["cells"], out_dir / fig_dir)
    figures = {name: figure_link(fig_dir, path.name) for name, path in paths.items()}
    write_text(out_dir / "report.md", render(results, table, figures))
    return table


# ----------------------------------------------------------------- the report before issue 21
# What ``run.py`` writes until the cells carry placements and curves. Superseded by
# :func:`write_report`.


def command_line(results: Mapping[str, Any]) -> str:
    """The ``coordbias benchmark`` command that reproduces ``results``: its scale, its folder
    (``out``, when not the default), its tasks and methods (when not the default ones) and its
    seeds (``--seeds N``, the count the command takes, when not the scale's). Seeds that are not
    ``0..N-1`` for every task can only be given through
    :func:`~coordbias.benchmark.run.run_benchmark`: a shell comment says so.

    Example:
        >>> command_line({"scale": {"name": "standard"}, "tasks": ["redgreen_paper"]})
        'coordbias benchmark --scale standard --tasks redgreen_paper'
    """
    from coordbias.benchmark.spec import benchmark_methods

    scale = results["scale"]
    words = ["coordbias", "benchmark", "--scale", scale["name"]]
    out = results.get("out")
    if out and str(out) != "runs/benchmark":
        words += ["--out", shlex.quote(str(out))]
    tasks = list(results.get("tasks") or [])
    if tasks and tasks != [t for t, spec in TASKS.items() if not spec.anchor]:
        words += ["--tasks", ",".join(tasks)]
    methods = list(results.get("methods") or [])
    if methods and set(methods) | {BASELINE} != set(benchmark_methods()):
        words += ["--methods", ",".join(methods)]
    per_task = results.get("task_seeds")
    if not per_task and results.get("seeds") is not None:
        per_task = {t: results["seeds"] for t in tasks or ["circles"]}
    note = ""
    if per_task:
        lists = {t: list(v) for t, v in per_task.items()}
        counts = {len(v) for v in lists.values()}
        ranges = all(v == list(range(len(v))) for v in lists.values())
        own = {
            t: scale.get("bimodal_seeds" if t in TASKS and TASKS[t].bimodal else "seeds")
            for t in lists
        }
        if ranges and all(len(v) == own[t] for t, v in lists.items()):
            pass  # the scale's own seeds
        elif ranges and len(counts) == 1:
            words += ["--seeds", str(counts.pop())]
        else:
            note = f"  # seeds {lists} through run_benchmark(seeds=...)"
    return " ".join(words) + note


def markdown(results: dict[str, Any]) -> str:
    """``report.md`` of the benchmark ``results`` (the ``results.json`` dict)."""
    scale = results["scale"]
    timing = results.get("timing") or {}
    lines = [
        "# Benchmark: ways to give a CNN position, methods x tasks",
        "",
        f"Scale `{scale['name']}` ({scale['description']}); seeds "
        f"{', '.join(map(str, results['seeds']))}; {results['threads']} torch thread(s) per cell. "
        f"Reproduce with `{command_line(results)}` (resumable; `--jobs N` runs N cells at once).",
        "",
        results["table"],
        "",
        "How to read it:",
        "",
        f"- Each task cell: the task's metric over the seeds, mean ± sample std; `*` marks a "
        f"difference from `{BASELINE}` with Welch's p < {SIGNIFICANCE} (the study's test; with "
        f"{len(results['seeds'])} seeds only large effects can reach it). ↑: higher is better, "
        "↓: lower is better. `n/a: reason`: the method cannot run there; `not run`: the cell "
        "has not finished yet (run the command again).",
        f"- Circles tasks: the study's FCN (width {scale['width']}, {scale['image_size']} px, "
        f"{scale['train_size']} training images x {scale['epochs']} epoch(s), Adam "
        f"{scale['lr']:g}, batch {scale['batch_size']}), mIoU on {scale['test_size']} test "
        "images; every seed sees the same images (seeds differ in initialisation and batch "
        "order).",
        f"- Not-so-Clevr tasks: four convolutions of width {scale['nsc_width']} "
        f"({scale['nsc_epochs']} epoch(s), Adam {scale['nsc_lr']:g}, weight decay "
        f"{scale['nsc_weight_decay']:g}, batch {scale['nsc_batch_size']}); the seed also draws "
        "the uniform split. Classification: share of test centres whose arg-max pixel is right. "
        "Regression: mean distance in pixels between predicted and true centre (predicting the "
        "mean centre gives about 21 px).",
        f"- Added params: parameters beyond `{BASELINE}`'s on the circles FCN. Step time: a "
        "training step (forward, loss, backward, Adam) of the circles FCN on one batch, as the "
        f"median over {timing.get('rounds', '?')} interleaved rounds of the per-round ratio to "
        f"`{BASELINE}` ({timing.get('threads', '?')} thread(s), measured alone after the "
        "cells).",
        f"- Transfer: the `circles` cells evaluated at {results['transfer_size']} px without "
        "retraining (mIoU).",
        "",
        "Tasks:",
        "",
    ]
    lines += [f"- `{t}`: {TASKS[t].description}." for t in results["tasks"]]
    na = [
        f"- `{m}` on `{t}`: {cell['na']}"
        for t, per in results["cells"].items()
        for m, cell in per.items()
        if "na" in cell
    ]
    if na:
        lines += ["", "Not applicable:", "", *na]
    if results["missing"]:
        lines += ["", f"Not finished: {', '.join(results['missing'])}."]
    return "\n".join(lines) + "\n"
