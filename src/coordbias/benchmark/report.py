"""The benchmark's ``report.md``: the setting, the table, how to read it, what could not run."""

from __future__ import annotations

from typing import Any

from coordbias.benchmark.spec import BASELINE, TASKS
from coordbias.benchmark.table import SIGNIFICANCE

__all__ = ["command_line", "markdown"]


def command_line(results: dict[str, Any]) -> str:
    """The ``coordbias benchmark`` command that reproduces ``results`` (scale, seeds)."""
    scale = results["scale"]
    words = ["coordbias benchmark", f"--scale {scale['name']}"]
    if len(results["seeds"]) != scale["seeds"] or results["seeds"] != list(range(scale["seeds"])):
        words.append("--seeds " + " ".join(map(str, results["seeds"])))
    return " ".join(words)


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
