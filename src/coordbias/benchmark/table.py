"""The benchmark's table: per task, test metric, method and placement the seeds' outcome, and
every method compared with ``vanilla`` and with ``coordbias``, the comparisons of the whole table
corrected together (``coordbias.reporting.stats``).

What a cell of the table holds, from the ``result.json`` of each of its seeds:

- a **continuous** outcome (``TaskSpec.outcome``): the mean, its 95 % Student-t interval, n;
- a **success** outcome (bimodal: a seed solves the task or not): k of n seeds succeeded (a
  seed's metric at least ``TaskSpec.success``, below it when lower is better), Wilson's 95 %
  interval of the share, the median.

A comparison of a row with a reference row on one column: the difference of means with Welch's
95 % interval; the test is the exact permutation test of the difference of means (continuous)
or Fisher's exact test of the success counts (success). Every comparison of the table is one
family for Holm's adjustment. Its verdict (:func:`coordbias.reporting.stats.verdict`): ``tie``
when the difference's interval lies inside the task's ``(-margin, margin)``; ``better`` /
``worse`` when the adjusted p is below :data:`~coordbias.reporting.stats.ALPHA` (the direction
from the task's ``higher_is_better``; for success counts, from the shares); else
``not told apart``. A comparison with a row *at chance* (every seed within the margin of the
task's ``TaskSpec.chance`` on every column: it did not learn the task) is :data:`AT_CHANCE`
instead, whatever its test says.

Each row is compared with (the keys of its ``against``):

- ``"vanilla"``: :data:`~coordbias.benchmark.spec.BASELINE`;
- ``"coordbias"``: :data:`COORDBIAS`, the library's method;
- ``"default"`` (:data:`DEFAULT_ROW`): for a row at another placement, the same method at the
  task's own placement, which answers "every convolution, or only the first?".

**Rows.** Each method has one row at each task's own placement
(:data:`coordbias.benchmark.spec.DEFAULT_PLACEMENT` of its family: ``first`` on Not-so-Clevr,
``encoder`` elsewhere), keyed :data:`DEFAULT_ROW`; a method that also ran at another placement
of a task has a row for that placement (the placement axis), empty on the tasks it did not run.
So a Not-so-Clevr cell at ``first`` sits in the method's own row, not beside the circles'
``first`` cells.

A reference row is the reference method at the row's placement, else at the task's own, else
its only one; a row is never compared with itself, and each pair once (``vanilla`` has no
comparison with ``coordbias``: ``coordbias`` has it with ``vanilla``).

:func:`build_table` reads the ``cells`` of ``results.json`` in either shape,
``{task: {method: {placement: [result, ...]}}}`` or ``{task: {method: [result, ...]}}`` (a
result that names no placement is at its task's own); :func:`table_markdown` writes the table
with the marks of :data:`MARKS`.
"""

from __future__ import annotations

import dataclasses
import math
import statistics as pystats
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from coordbias._util.errors import UserValueError
from coordbias._util.files import read_json
from coordbias.benchmark import spec as _spec
from coordbias.benchmark.spec import BASELINE, TASKS, TaskSpec
from coordbias.reporting.markdown import md_table
from coordbias.reporting.stats import (
    ALPHA,
    difference_interval,
    fisher_test,
    holm,
    mean_interval,
    mean_std,
    permutation_test,
    share_difference_interval,
    verdict,
    welch_test,
    wilson_interval,
)

__all__ = [
    "AT_CHANCE",
    "COORDBIAS",
    "DEFAULT_PLACEMENT",
    "DEFAULT_ROW",
    "MARKS",
    "PLACEMENTS",
    "ROLES",
    "SIGNIFICANCE",
    "TRANSFER",
    "build_table",
    "collect",
    "columns",
    "compare",
    "digits",
    "format_cell",
    "format_summary",
    "group_results",
    "markdown_table",
    "own_placement",
    "read_cell_result",
    "recorded_spec",
    "row_label",
    "summarize",
    "summarize_cell",
    "table_markdown",
]

#: The library's method: the second reference every row is compared with.
COORDBIAS = "coordbias"

#: Where a method's position enters the network: the first convolution, every encoder
#: convolution (the default), every convolution.
PLACEMENTS = ("first", "encoder", "all")

#: The placement of a task outside :data:`~coordbias.benchmark.spec.TASKS` whose spec names no
#: known family (see :func:`own_placement`).
DEFAULT_PLACEMENT = "encoder"

#: The key of a method's row at each task's own placement (in ``rows``, in ``cells`` and as the
#: role of the placement comparison in ``against``).
DEFAULT_ROW = "default"

#: The comparisons of a row (the keys of its ``against``), in order.
ROLES = (BASELINE, COORDBIAS, DEFAULT_ROW)

#: The verdict of a comparison in which the row or its reference did not learn the task.
AT_CHANCE = "at chance"

#: The mark of a verdict against each reference in the table (``not told apart``: none).
MARKS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        BASELINE: MappingProxyType(
            {"better": "▲", "worse": "▼", "tie": "=", "not told apart": "", AT_CHANCE: "⊘"}
        ),
        COORDBIAS: MappingProxyType(
            {"better": "△", "worse": "▽", "tie": "≈", "not told apart": "", AT_CHANCE: "⊘"}
        ),
    }
)


def own_placement(spec: TaskSpec | None) -> str:
    """A task's own placement: its family's
    (:data:`coordbias.benchmark.spec.DEFAULT_PLACEMENT`), else :data:`DEFAULT_PLACEMENT`.

    Example:
        >>> own_placement(TASKS["nsc_reg_uniform"]), own_placement(TASKS["circles"])
        ('first', 'encoder')
    """
    family = getattr(spec, "family", None)
    return _spec.DEFAULT_PLACEMENT.get(family, DEFAULT_PLACEMENT) if family else DEFAULT_PLACEMENT


def group_results(
    cells: Mapping[str, Any], specs: Mapping[str, TaskSpec] | None = None
) -> dict[str, dict[str, dict[str, list[dict]]]]:
    """``{task: {method: {placement: [result, ...]}}}`` from ``results.json``'s ``cells`` in
    either shape (a result without a placement, as a list of such results per method, is at
    its task's :func:`own_placement`).

    Args:
        cells: ``results.json``'s ``cells``.
        specs: the tasks by name (``None``: :data:`~coordbias.benchmark.spec.TASKS`).

    Raises:
        ValueError: a method's cell is neither a list nor a mapping of placements to lists.

    Example:
        >>> group_results({"circles": {"vanilla": [{"metric": 0.5}]}})
        {'circles': {'vanilla': {'encoder': [{'metric': 0.5}]}}}
    """
    specs = TASKS if specs is None else specs
    out: dict[str, dict[str, dict[str, list[dict]]]] = {}
    for task, per_method in cells.items():
        out[task] = {}
        own = own_placement(specs.get(task))
        for method, cell in per_method.items():
            if isinstance(cell, list):
                placed: dict[str, list[dict]] = {}
                for r in cell:
                    placed.setdefault(r.get("placement", own), []).append(r)
                out[task][method] = placed or {own: []}
            elif isinstance(cell, Mapping) and all(isinstance(v, list) for v in cell.values()):
                out[task][method] = {p: list(rs) for p, rs in cell.items()}
            else:
                raise ValueError(
                    f"cells[{task!r}][{method!r}] must be a list of results or a mapping of "
                    f"placements to lists of results; got {type(cell).__name__}"
                )
    return out


def columns(spec: TaskSpec) -> tuple[str, ...]:
    """The test metrics a task reports, one column each: the spec's ``columns`` when it has
    them, else its ``metric`` alone.

    Example:
        >>> columns(TASKS["circles"])
        ('mIoU',)
    """
    return tuple(getattr(spec, "columns", None) or (spec.metric,))


#: The column of a task's transfer to another resolution (circles tasks, when measured).
TRANSFER = "transfer"


def _value(result: Mapping[str, Any], spec: TaskSpec, column: str) -> float:
    if column == TRANSFER:
        return float(result["transfer"]["metric"])
    named = result.get("metrics") or {}
    if column in named:
        return float(named[column])
    if column == columns(spec)[0] or column == spec.metric:
        return float(result["metric"])
    raise KeyError(f"result of {result.get('method')!r} has no metric {column!r}")


def _na(results: Sequence[Mapping[str, Any]], column: str) -> str | None:
    for r in results:
        if isinstance(r.get("na"), str):
            return r["na"]
        if column == TRANSFER and isinstance(r.get("transfer", {}).get("na"), str):
            return r["transfer"]["na"]
    return None


def _successes(values: Sequence[float], spec: TaskSpec) -> int:
    return sum(spec.succeeded(v) for v in values)


def summarize(results: Sequence[Mapping[str, Any]], spec: TaskSpec, column: str) -> dict:
    """One cell of the table: the outcome of its seeds on one column.

    Returns:
        ``{"na": reason}`` when a seed could not run or gave a non-finite value;
        ``{"missing": True}`` when none finished;
        else ``n``, ``values``, ``seeds``, ``mean``, ``median`` and: continuous ``interval``
        (Student's t, ``None`` from one seed); success ``successes`` (k), ``share`` and
        ``share_interval`` (Wilson).
    """
    reason = _na(results, column)
    if reason is not None:
        return {"na": reason}
    if not results:
        return {"missing": True}
    values = [_value(r, spec, column) for r in results]
    diverged = [r.get("seed") for r, v in zip(results, values) if not math.isfinite(v)]
    if diverged:  # no mean, interval or test of an infinite value: the cell says why
        return {"na": f"non-finite {column} in seed(s) {', '.join(map(str, diverged))}"}
    out: dict[str, Any] = {
        "n": len(values),
        "values": values,
        "seeds": [r.get("seed") for r in results],
        "mean": math.fsum(values) / len(values),
        "median": float(pystats.median(values)),
    }
    if spec.outcome == "success":
        k = _successes(values, spec)
        out.update(
            successes=k, share=k / len(values), share_interval=wilson_interval(k, len(values))
        )
    else:
        out["interval"] = mean_interval(values)
    return out


def compare(row: Mapping[str, Any], reference: Mapping[str, Any], spec: TaskSpec) -> dict:
    """A row's summary against a reference's (both from :func:`summarize`), before the
    family's correction (``p_holm`` and ``verdict`` are added by :func:`build_table`).

    Returns:
        ``test`` (``"permutation"`` or ``"fisher"``), ``p``, ``difference`` (mean of the row
        minus mean of the reference) and its Welch ``interval``; ``effect`` and
        ``effect_interval``: the difference oriented so that positive is better (continuous),
        or the difference of success shares with Newcombe's interval (success); for the
        permutation test its ``method``, ``splits`` and ``draws``.
    """
    a, b = row["values"], reference["values"]
    out: dict[str, Any] = {
        "difference": row["mean"] - reference["mean"],
        "interval": difference_interval(a, b),
    }
    if spec.outcome == "success":
        k_a, n_a, k_b, n_b = row["successes"], row["n"], reference["successes"], reference["n"]
        out.update(
            test="fisher",
            p=fisher_test(k_a, n_a, k_b, n_b),
            effect=k_a / n_a - k_b / n_b,
            effect_interval=share_difference_interval(k_a, n_a, k_b, n_b),
        )
        return out
    test = permutation_test(a, b)
    sign = 1.0 if spec.higher_is_better else -1.0
    interval = out["interval"]
    out.update(
        test="permutation",
        p=test["p"],
        method=test["method"],
        splits=test["splits"],
        draws=test["draws"],
        effect=sign * out["difference"],
        effect_interval=None if interval is None else tuple(sorted(sign * v for v in interval)),
    )
    return out


def _reference_row(placed: Mapping[str, Any], placement: str) -> str | None:
    """Which row of a reference method a row at ``placement`` is compared with."""
    if placement in placed:
        return placement
    if DEFAULT_ROW in placed:
        return DEFAULT_ROW
    return next(iter(placed)) if len(placed) == 1 else None


def _ordered(names: Sequence[str], first: Sequence[str]) -> list[str]:
    return [n for n in first if n in names] + [n for n in names if n not in first]


def build_table(
    cells: Mapping[str, Any],
    specs: Mapping[str, TaskSpec] | None = None,
    methods: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The benchmark's table (JSON-able) from ``results.json``'s ``cells``.

    Args:
        cells: ``{task: {method: {placement: [result, ...]}}}`` or ``{task: {method: [...]}}``
            (the ``result.json`` of each finished seed; ``{"na": reason}`` results allowed).
        specs: the tasks by name; ``None``: :data:`~coordbias.benchmark.spec.TASKS`.
        methods: the order of the rows (``None``: ``vanilla``, ``coordbias``, then as found).

    Returns:
        ``tasks``: per task ``columns``, ``outcome``, ``metric``, ``higher_is_better``,
        ``margin``, ``success``, ``placement`` (its own, :func:`own_placement`); ``methods``;
        ``rows``: ``[method, row]`` pairs in order, ``row`` :data:`DEFAULT_ROW` (the method at
        each task's own placement) or another placement; ``cells``: ``{task: {column: {method:
        {row: summary}}}}``, each summary (:func:`summarize`) with ``placement`` (where the
        method ran) and ``against`` (role -> :func:`compare` plus ``reference``, its row,
        ``p_holm`` and ``verdict``); ``family``: the number of comparisons Holm's adjustment
        covers; ``alpha``.

    Raises:
        ValueError: a task missing from ``specs``.
    """
    specs = TASKS if specs is None else specs
    unknown = [t for t in cells if t not in specs]
    if unknown:
        raise ValueError(f"tasks {unknown} are not among {', '.join(specs)}")
    grouped = {
        task: {
            m: {_row_key(p, own_placement(specs[task])): rs for p, rs in per.items()}
            for m, per in per_method.items()
        }
        for task, per_method in group_results(cells, specs).items()
    }
    found = list(dict.fromkeys(m for per in grouped.values() for m in per))
    order = _ordered(found, list(methods) if methods is not None else [BASELINE, COORDBIAS])
    row_keys = {
        m: _ordered(
            list({p for per in grouped.values() for p in per.get(m, {})}),
            (DEFAULT_ROW, *PLACEMENTS),
        )
        for m in order
    }
    rows = [[m, p] for m in order for p in row_keys[m]]
    table: dict[str, Any] = {"tasks": {}, "methods": order, "rows": rows, "cells": {}}
    family: list[dict[str, Any]] = []
    for task, per_method in grouped.items():
        spec = specs[task]
        own = own_placement(spec)
        cols = list(columns(spec))
        if any(r.get("transfer") for pm in per_method.values() for rs in pm.values() for r in rs):
            cols.append(TRANSFER)
        table["tasks"][task] = {
            "columns": cols,
            "outcome": spec.outcome,
            "metric": spec.metric,
            "higher_is_better": spec.higher_is_better,
            "margin": spec.margin,
            "success": spec.success,
            "transfer_size": _transfer_size(per_method),
            "placement": own,
        }
        table["cells"][task] = {}
        for column in cols:
            # a transfer is a continuous outcome, whatever the task's own
            col_spec = spec
            if column == TRANSFER and spec.outcome != "continuous":
                col_spec = dataclasses.replace(spec, outcome="continuous", success=None)
            summaries = {
                m: {
                    p: {
                        **summarize(rs, col_spec, column),
                        "placement": own if p == DEFAULT_ROW else p,
                    }
                    for p, rs in per_method[m].items()
                }
                for m in order
                if m in per_method
            }
            table["cells"][task][column] = summaries
            for m, per_place in summaries.items():
                for p, summary in per_place.items():
                    if "values" not in summary:
                        continue
                    summary["against"] = {}
                    for role in ROLES:
                        ref = _reference(summaries, role, m, p)
                        if ref is None:
                            continue
                        ref_m, ref_p = ref
                        comparison = compare(summary, summaries[ref_m][ref_p], col_spec)
                        comparison["reference"] = [ref_m, ref_p]
                        summary["against"][role] = comparison
                        family.append({"comparison": comparison, "spec": col_spec})
        if spec.chance is not None:
            _flag_chance(table["cells"][task], spec.chance, spec.margin)
    adjusted = holm([f["comparison"]["p"] for f in family])
    for f, p_holm in zip(family, adjusted):
        c, spec = f["comparison"], f["spec"]
        c["p_holm"] = p_holm
        success = spec.outcome == "success"
        c["verdict"] = (
            AT_CHANCE
            if c.get("at_chance")
            else verdict(
                c["interval"],
                p_holm,
                spec.margin,
                difference=c["effect"] if success else c["difference"],
                higher_is_better=True if success else spec.higher_is_better,
            )
        )
    table["family"] = len(family)
    table["alpha"] = ALPHA
    return table


def _flag_chance(per_column: Mapping[str, Any], chance: float, margin: float) -> None:
    """Flag the summaries of the rows of one task that scored at chance, and every comparison
    made with one of them (``at_chance``)."""
    flagged = None
    for per_method in per_column.values():
        here = {
            (m, p)
            for m, per in per_method.items()
            for p, s in per.items()
            if "values" in s and all(abs(v - chance) <= margin for v in s["values"])
        }
        flagged = here if flagged is None else flagged & here
    for per_method in per_column.values():
        for m, per in per_method.items():
            for p, s in per.items():
                if (m, p) in flagged:
                    s["at_chance"] = True
                for c in s.get("against", {}).values():
                    if (m, p) in flagged or tuple(c["reference"]) in flagged:
                        c["at_chance"] = True


def _row_key(placement: str, own: str) -> str:
    """The row of a result at ``placement`` on a task whose own placement is ``own``."""
    return DEFAULT_ROW if placement == own else placement


def _transfer_size(per_method: Mapping[str, Mapping[str, list[dict]]]) -> int | None:
    for per_place in per_method.values():
        for results in per_place.values():
            for r in results:
                size = (r.get("transfer") or {}).get("size")
                if size is not None:
                    return int(size)
    return None


def _reference(
    summaries: Mapping[str, Mapping[str, Any]], role: str, method: str, placement: str
) -> tuple[str, str] | None:
    """The row (method, placement) that ``role`` compares ``method`` at ``placement`` with."""
    ref: tuple[str, str] | None = None
    if role == DEFAULT_ROW:
        if placement != DEFAULT_ROW and DEFAULT_ROW in summaries[method]:
            ref = (method, DEFAULT_ROW)
    elif role == COORDBIAS and method == BASELINE:
        return None  # the mirror of coordbias against vanilla: one test per pair
    elif role != method and role in summaries:  # a method's own placements: the last role
        place = _reference_row(summaries[role], placement)
        ref = None if place is None else (role, place)
    if ref is None or "values" not in summaries[ref[0]][ref[1]]:
        return None
    return ref


def digits(spec: TaskSpec) -> int:
    """Decimals a task's numbers are written with: one finer than its margin (3 without one).

    Example:
        >>> digits(TASKS["circles"]), digits(TASKS["nsc_reg_uniform"])
        (3, 2)
    """
    if spec.margin <= 0:
        return 3
    return max(0, 1 - math.floor(math.log10(spec.margin)))


def row_label(method: str, placement: str, own: str = DEFAULT_PLACEMENT) -> str:
    """A row's name: ```method``` at the task's own placement (:data:`DEFAULT_ROW`, or
    ``own``), else ```method``` (placement).

    Example:
        >>> row_label("coordconv", "first"), row_label("vanilla", "encoder")
        ('`coordconv` (first)', '`vanilla`')
        >>> row_label("coordconv", "default"), row_label("coordconv", "first", own="first")
        ('`coordconv`', '`coordconv`')
    """
    if placement in (DEFAULT_ROW, own):
        return f"`{method}`"
    return f"`{method}` ({placement})"


def format_summary(summary: Mapping[str, Any], spec: TaskSpec, *, n: int | None = None) -> str:
    """A cell's numbers without marks: ``0.943 [0.931, 0.955]``, ``7/10 (40-89%), median 0.13``,
    ``n/a: reason`` or ``not run``; ``(n=k)`` added when ``k`` differs from ``n``.

    Example:
        >>> format_summary({"n": 3, "mean": 0.5, "interval": (0.25, 0.75)}, TASKS["circles"])
        '0.500 [0.250, 0.750]'
    """
    if "na" in summary:
        return "n/a: " + " ".join(str(summary["na"]).split()).replace("|", "/")
    if summary.get("missing"):
        return "not run"
    d = digits(spec)
    if "successes" in summary:
        low, high = summary["share_interval"]
        text = (
            f"{summary['successes']}/{summary['n']} ({100 * low:.0f}–{100 * high:.0f}%), "
            f"median {summary['median']:.{d}f}"
        )
    elif summary.get("interval") is None:
        text = f"{summary['mean']:.{d}f}"
    else:
        low, high = summary["interval"]
        text = f"{summary['mean']:.{d}f} [{low:.{d}f}, {high:.{d}f}]"
    if n is not None and summary["n"] != n:
        text += f" (n={summary['n']})"
    return text


def _marks(summary: Mapping[str, Any]) -> str:
    against = summary.get("against") or {}
    return "".join(MARKS[r][against[r]["verdict"]] for r in MARKS if r in against)


def table_markdown(table: Mapping[str, Any]) -> str:
    """The table as Markdown: a row per method and placement, a column per task and test
    metric; each cell's numbers and its marks (:data:`MARKS`); the header gives the metric, its
    direction and the seeds (a cell with fewer says so)."""
    headers = ["method"]
    cols: list[tuple[str, str, TaskSpec, int]] = []
    for task, info in table["tasks"].items():
        spec = recorded_spec(task, info)
        for column in info["columns"]:
            ns = [
                s["n"]
                for per in table["cells"][task][column].values()
                for s in per.values()
                if "n" in s
            ]
            n = max(ns) if ns else 0
            arrow = "↑" if spec.higher_is_better else "↓"
            name = task if len(info["columns"]) == 1 else f"{task}: {column}"
            if column == TRANSFER:
                name = f"{task} at {info['transfer_size']} px"
            what = column if column != TRANSFER else spec.metric
            if spec.outcome == "success" and column != TRANSFER:
                what = f"{what} {'≥' if spec.higher_is_better else '<'} {spec.success:g}"
            headers.append(f"{name} ({what} {arrow}, {n} seeds)")
            cols.append((task, column, spec, n))
    rows = []
    for method, placement in table["rows"]:
        row = [row_label(method, placement)]
        for task, column, spec, n in cols:
            summary = table["cells"][task][column].get(method, {}).get(placement)
            if summary is None:
                row.append("")
                continue
            text = format_summary(summary, spec, n=n)
            marks = _marks(summary)
            row.append(f"{text} {marks}" if marks else text)
        rows.append(row)
    return md_table(headers, rows)


def recorded_spec(task: str, info: Mapping[str, Any]) -> TaskSpec:
    """The task as the table recorded it (``table["tasks"][task]``): enough to write its
    numbers and read its verdicts without the task list it was built with."""
    return TaskSpec(
        name=task,
        family="",
        variant="",
        metric=info["metric"],
        higher_is_better=info["higher_is_better"],
        description="",
        outcome=info["outcome"],
        success=info["success"],
        margin=info["margin"],
    )


def read_cell_result(path: Path) -> dict[str, Any] | None:
    """A cell's ``result.json``; ``None`` when it is missing or damaged (a warning names the
    damaged file, which the cell's next run replaces)."""
    if not path.is_file():
        return None
    try:
        result = read_json(path)
    except UserValueError as error:
        warnings.warn(f"{error}; that cell runs again", stacklevel=2)
        return None
    if not isinstance(result, dict):
        warnings.warn(f"'{path}' is damaged (not a mapping); that cell runs again", stacklevel=2)
        return None
    return result


# ----------------------------------------------------------------- the table before issue 21
# The former table (mean ± std, Welch's test against vanilla), which ``run.py`` no longer writes:
# kept for one release for callers of its public names; :func:`collect` and
# :func:`markdown_table` say so with a DeprecationWarning. Superseded by :func:`build_table` and
# :func:`table_markdown`.

#: A cell is marked (``*``) when Welch's test against vanilla gives p below this.
SIGNIFICANCE = 0.05


def _former(name: str, instead: str) -> None:
    warnings.warn(
        f"coordbias.benchmark.table.{name} is the former table's and goes in the next release; "
        f"use {instead}",
        DeprecationWarning,
        stacklevel=3,
    )


def summarize_cell(
    results: list[dict[str, Any]], baseline: list[float] | None, key: str = "metric"
) -> dict[str, Any]:
    """One cell from the results of its seeds (those that finished).

    Args:
        results: the cell's ``result.json`` of each finished seed.
        baseline: vanilla's values on the same task (``None``: this is vanilla, or it has none).
        key: ``"metric"``, or ``"transfer"`` for the transfer's metric.

    Returns:
        ``{"na": reason}`` when any seed could not run; ``{"missing": True}`` when none finished;
        else ``values``, ``mean``, ``std``, ``n`` and, against a baseline, ``welch`` (the
        :func:`~coordbias.reporting.stats.welch_test` dict).
    """
    for r in results:
        if isinstance(r.get("na"), str):
            return {"na": r["na"]}
        if key == "transfer" and isinstance(r["transfer"].get("na"), str):
            return {"na": r["transfer"]["na"]}
    if not results:
        return {"missing": True}
    values = [float(r["transfer"]["metric"] if key == "transfer" else r["metric"]) for r in results]
    out: dict[str, Any] = {"values": values, **mean_std(values), "n": len(values)}
    if baseline:
        out["welch"] = welch_test(values, baseline)
    return out


def collect(
    out_dir: Path, methods: list[str], tasks: list[str], seeds: list[int], transfer_size: int
) -> dict[str, Any]:
    """``results.json``'s benchmark part, read from ``out_dir/cells``.

    Returns:
        ``cells`` (task -> method -> :func:`summarize_cell`), ``transfer`` (method -> the
        ``circles`` task's transfer, when it is among ``tasks``), ``timing`` (the timing's
        result or ``None``), ``added_params`` (method -> parameters added to vanilla's circles
        FCN, or ``{"na": reason}``), ``step_time_ratio`` (method -> ratio, or ``{"na": ...}``),
        ``missing`` (labels of the cells not finished), ``transfer_size``.
    """
    _former("collect", "build_table")
    cells_dir = Path(out_dir) / "cells"
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {}
    missing = []
    for task in tasks:
        raw[task] = {}
        for method in methods:
            found = []
            for seed in seeds:
                r = read_cell_result(cells_dir / task / method / f"seed{seed}" / "result.json")
                if r is None:
                    missing.append(f"{task}/{method}/seed{seed}")
                else:
                    found.append(r)
            raw[task][method] = found
    cells: dict[str, dict[str, Any]] = {}
    for task in tasks:
        base = summarize_cell(raw[task].get(BASELINE, []), None)
        base_values = base.get("values")
        cells[task] = {
            m: summarize_cell(rs, None if m == BASELINE else base_values)
            for m, rs in raw[task].items()
        }
    transfer: dict[str, Any] = {}
    if "circles" in raw:
        base_t = summarize_cell(raw["circles"].get(BASELINE, []), None, "transfer")
        for m, rs in raw["circles"].items():
            ref = None if m == BASELINE else base_t.get("values")
            transfer[m] = summarize_cell(rs, ref, "transfer")
    timing = read_cell_result(cells_dir / "timing" / "result.json")
    added: dict[str, Any] = {}
    ratio: dict[str, Any] = {}
    for m in methods:
        if timing is None:
            added[m] = ratio[m] = {"missing": True}
        elif m in timing.get("na", {}):
            added[m] = ratio[m] = {"na": timing["na"][m]}
        else:
            added[m] = timing["added_params"]["circles"].get(m, {"missing": True})
            ratio[m] = timing["ratio"].get(m, {"missing": True})
    return {
        "cells": cells,
        "transfer": transfer,
        "timing": timing,
        "added_params": added,
        "step_time_ratio": ratio,
        "missing": missing,
        "transfer_size": transfer_size,
    }


def format_cell(cell: dict[str, Any], unit_digits: int = 3) -> str:
    """A cell's text: ``0.936 ± 0.010`` (``*`` when p < :data:`SIGNIFICANCE` against vanilla;
    the mean alone from one seed), ``n/a: reason``, or ``not run``.

    Example:
        >>> format_cell({"mean": 0.9361, "std": 0.0104, "welch": {"p": 0.01}})
        '0.936 ± 0.010*'
        >>> format_cell({"na": "conv='x' has no transposed form"})
        "n/a: conv='x' has no transposed form"
    """
    if "na" in cell:
        return "n/a: " + " ".join(str(cell["na"]).split()).replace("|", "/")
    if cell.get("missing"):
        return "not run"
    if cell.get("n") == 1:  # one seed: no spread to show
        return f"{cell['mean']:.{unit_digits}f}"
    p = (cell.get("welch") or {}).get("p")
    mark = "*" if p is not None and p < SIGNIFICANCE else ""
    return f"{cell['mean']:.{unit_digits}f} ± {cell['std']:.{unit_digits}f}{mark}"


def _plain(value: Any, text: str) -> str:
    if isinstance(value, dict):
        return format_cell(value)
    return text


def markdown_table(bench: dict[str, Any], methods: list[str], tasks: list[str]) -> str:
    """The methods x tasks table with the cost and transfer columns."""
    _former("markdown_table", "table_markdown")
    headers = ["method"]
    for task in tasks:
        spec = TASKS[task]
        arrow = "↑" if spec.higher_is_better else "↓"
        headers.append(f"{task} ({spec.metric} {arrow})")
    headers += ["added params", "step time / vanilla"]
    if bench["transfer"]:
        headers.append(f"circles at {bench['transfer_size']} px (mIoU ↑)")
    rows = []
    for m in methods:
        row = [f"`{m}`"]
        for task in tasks:
            digits = 1 if TASKS[task].family == "nsc_reg" else 3
            row.append(format_cell(bench["cells"][task][m], digits))
        added = bench["added_params"][m]
        row.append(_plain(added, f"{added:+,}" if not isinstance(added, dict) else ""))
        ratio = bench["step_time_ratio"][m]
        row.append(_plain(ratio, f"{ratio:.2f}×" if not isinstance(ratio, dict) else ""))
        if bench["transfer"]:
            row.append(format_cell(bench["transfer"].get(m, {"missing": True})))
        rows.append(row)
    return md_table(headers, rows)
