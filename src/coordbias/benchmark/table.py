"""The benchmark's table, from what is on disk: per task and method the metric over the seeds
(mean ± std, Welch's test and Hedges' g against vanilla: ``coordbias.reporting.stats``), the
parameters each method adds, its training-step time ratio to vanilla, its transfer to another
resolution; and the report's Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from coordbias.benchmark.spec import BASELINE, TASKS
from coordbias.reporting.markdown import md_table
from coordbias.reporting.stats import mean_std, welch_test

__all__ = ["SIGNIFICANCE", "collect", "format_cell", "markdown_table", "summarize_cell"]

#: A cell is marked (``*``) when Welch's test against vanilla gives p below this.
SIGNIFICANCE = 0.05


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


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
    cells_dir = Path(out_dir) / "cells"
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {}
    missing = []
    for task in tasks:
        raw[task] = {}
        for method in methods:
            found = []
            for seed in seeds:
                r = _read(cells_dir / task / method / f"seed{seed}" / "result.json")
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
    timing = _read(cells_dir / "timing" / "result.json")
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
