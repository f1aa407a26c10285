"""The benchmark's ``report.md``: the setting, the table, how to read it, what could not run."""

from __future__ import annotations

from typing import Any

from coordbias.benchmark.spec import BASELINE, TASKS
from coordbias.benchmark.table import SIGNIFICANCE

__all__ = ["command_line", "markdown"]


def command_line(results: dict[str, Any]) -> str:
    """The ``coordbias benchmark`` command that reproduces ``results`` (scale, tasks, seeds)."""
    scale = results["scale"]
    words = ["coordbias benchmark", f"--scale {scale['name']}"]
    if any(TASKS[t].anchor for t in results["tasks"]):
        words.append("--tasks " + ",".join(results["tasks"]))
    seeds = results["seeds"]
    default = {
        t: list(range(scale["bimodal_seeds" if TASKS[t].bimodal else "seeds"])) for t in seeds
    }
    if seeds != default:  # --seeds N: seeds 0..N-1 of every task
        words.append(f"--seeds {len(next(iter(seeds.values())))}")
    return " ".join(words)


def markdown(results: dict[str, Any]) -> str:
    """``report.md`` of the benchmark ``results`` (the ``results.json`` dict)."""
    scale = results["scale"]
    timing = results.get("timing") or {}
    sched = scale["schedules"]
    seeds = sorted({len(v) for v in results["seeds"].values()})
    lines = [
        "# Benchmark: ways to give a CNN position, methods x tasks",
        "",
        f"Scale `{scale['name']}` ({scale['description']}); "
        f"{' or '.join(map(str, seeds))} seeds per row; {results['threads']} torch thread(s) "
        f"per cell. Reproduce with `{command_line(results)}` (resumable; `--jobs N` runs N "
        "cells at once).",
        "",
        results["table"],
        "",
        *([results["anchor_table"], ""] if results.get("anchor_table") else []),
        "How to read it:",
        "",
        f"- Each task cell: the task's test metric over the seeds, mean ± sample std; `*` marks "
        f"a difference from `{BASELINE}` with Welch's p < {SIGNIFICANCE} (an interim test until "
        "the corrected statistics land). ↑: higher is better, ↓: lower is better. "
        "`method@placement`: the method at another placement than the task's own. "
        "`n/a: reason`: the method cannot run there; `not run`: the cell has not finished yet.",
        "- Every cell trains with early stopping on its validation loss and keeps its best "
        "epoch; its learning rate and weight decay are the sweep's choice on validation "
        "(`results.json`: `sweep`). Schedules (optimiser, lr, batch, max epochs, patience): "
        + "; ".join(
            f"{f} {s['optimizer']} {s['lr']:g}, batch {s['batch_size']}, <= {s['max_epochs']} "
            f"epochs, patience {s['patience']}, lr grid {', '.join(map(str, s['lr_grid']))}"
            for f, s in sched.items()
        )
        + ".",
        f"- Circles tasks: the study's FCN (width {scale['circles']['width']}, "
        f"{scale['circles']['image_size']} px, {scale['circles']['train_size']} training "
        f"images), mIoU on {scale['circles']['test_size']} test images. Red-Green: accuracy "
        "on the dissimilar test set (the similar one beside it). Not-so-Clevr: Liu et al.'s "
        "networks and splits; classification: share of test centres whose arg-max pixel is "
        "right; regression: mean distance in pixels between predicted and true centre.",
        f"- Added params: parameters beyond `{BASELINE}`'s on the circles FCN. Step time: a "
        "training step (forward, loss, backward, Adam) of the circles FCN on one batch, as the "
        f"median over {timing.get('rounds', '?')} interleaved rounds of the per-round ratio to "
        f"`{BASELINE}` ({timing.get('threads', '?')} thread(s), measured alone after the "
        "cells)."
        + "".join(
            f" At width {t['width']}, {t['image_size']} px, batch {t['batch_size']} (median "
            f"[smallest, largest] round over {t['rounds']} rounds): "
            + ", ".join(
                f"`{m}` {r:.2f} [{t['interval'][m][0]:.2f}, {t['interval'][m][1]:.2f}]"
                for m, r in t["ratio"].items()
                if m != BASELINE
            )
            + "."
            for t in timing.get("settings", [])[1:]
        ),
        f"- Transfer: the `circles` cells evaluated at {results['summary']['transfer_size']} px "
        "without retraining (mIoU).",
        "",
        "Tasks:",
        "",
    ]
    lines += [f"- `{t}`: {TASKS[t].description}." for t in results["tasks"]]
    na = [
        f"- `{m}` at `{p}` on `{t}`: {found[0]['na']}"
        for t, per in results["cells"].items()
        for m, places in per.items()
        for p, found in places.items()
        if found and "na" in found[0]
    ]
    if na:
        lines += ["", "Not applicable:", "", *na]
    if results["missing"]:
        lines += ["", f"Not finished: {', '.join(results['missing'])}."]
    return "\n".join(lines) + "\n"
