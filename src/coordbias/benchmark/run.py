"""``run_benchmark``: plan the cells, run the sweep, choose on validation, run the final cells,
time the methods, write the results; ``dry_run``: the same plan listed with its cost.

Layout of a benchmark folder ``DIR``::

    DIR/sweep/<task>/<method>/<placement>/lr<lr>_wd<wd>/seed<k>/result.json   a sweep cell
    DIR/cells/<task>/<method>/<placement>/seed<k>/result.json   a final cell
    DIR/cells/<...>/seed<k>.lock                                held by whoever runs it
    DIR/cells/timing/result.json                                the step timing of every method
    DIR/results.json, DIR/report.md                             rebuilt from what is on disk
    DIR/benchmark.lock                                          held while they are written

A *row* is a task, a method and a placement (:func:`coordbias.benchmark.spec.placements_of`).
Every cell is a :class:`CellTask` (a task of ``coordbias.scheduler``): ``execute_task`` takes
its lock and writes its ``result.json``; ``coordbias.scheduler.launch`` runs the cells in this
process (``jobs=1``) or in child processes (``jobs > 1``). The sweep cells of every row run
first; each row's setting is then the grid pair of lowest mean validation loss over the sweep
seeds (:func:`choose`; sweep cells hold no test numbers); the final cells train at it. A
finished cell is never redone, so an interrupted benchmark resumes by running the same command
again. The timing runs last and alone, since a cell training beside it would distort its times.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from filelock import FileLock

from coordbias._util.errors import UserValueError, check_folder_destination
from coordbias._util.experiment import resolve_seeds
from coordbias._util.files import write_json
from coordbias.benchmark.spec import (
    ANCHOR_PUBLISHED,
    BASELINE,
    DEFAULT_PLACEMENT,
    TASKS,
    BenchmarkScale,
    anchor_rows,
    benchmark_methods,
    get_scale,
    placements_of,
    resolve_names,
    seeds_of,
    sweep_row,
)
from coordbias.benchmark.table import read_cell_result
from coordbias.scheduler.execute import TaskFiles, TaskLog
from coordbias.scheduler.launch import (
    makespan,
    resolve_parallelism,
    run_in_process,
    run_local,
    run_rounds,
)
from coordbias.scheduler.progress import Log, Progress, fmt_duration

__all__ = [
    "PRELOAD",
    "TIMING",
    "BenchmarkFailed",
    "BenchmarkPlan",
    "CellTask",
    "choose",
    "dry_run",
    "final_cells",
    "plan_benchmark",
    "run_benchmark",
]

#: The task name of a benchmark's timing (:class:`CellTask`).
TIMING = "timing"

#: What the fork server of ``run_local`` imports once, so that each child starts with it loaded.
PRELOAD = ("coordbias.benchmark.cells", "coordbias.training.metrics")

# Seconds a cell costs beyond its epochs (building data and network, the tests), for the dry run.
CELL_OVERHEAD_S = 2.0


def _num(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class CellTask(TaskFiles):
    """One cell of the benchmark (final or of the sweep), or (``task == TIMING``) its step
    timing of ``methods``: a task of the scheduler, with its lock beside its folder and its log
    in it.

    Attributes:
        task: a task of ``coordbias.benchmark.TASKS``, or :data:`TIMING`.
        method: the method (a network variant; an anchor's row); ``""`` for the timing.
        placement: where the method's convolution enters the network.
        seed: the cell's seed.
        study_dir: the benchmark folder.
        scale: the name of the benchmark scale (``coordbias.benchmark.SCALES``).
        lr: the learning rate it trains at.
        weight_decay: the weight decay it trains at.
        sweep: a sweep cell (validation only, in ``sweep/``).
        threads: torch intra-op threads while it runs; ``None`` keeps the process's own.
        methods: the methods the timing compares (empty for a cell).
    """

    task: str
    method: str
    placement: str
    seed: int
    study_dir: Path
    scale: str
    lr: float = math.nan
    weight_decay: float = math.nan
    sweep: bool = False
    threads: int | None = None
    methods: tuple[str, ...] = ()
    kind: ClassVar[str] = "run"

    @property
    def row(self) -> str:
        """``<task>/<method>/<placement>``."""
        return f"{self.task}/{self.method}/{self.placement}"

    @property
    def label(self) -> str:
        """``<task>/<method>/<placement>/seed<k>`` (a sweep cell: with ``sweep`` and its
        setting), or ``timing``."""
        if self.task == TIMING:
            return TIMING
        if self.sweep:
            return f"sweep {self.row}/lr{_num(self.lr)}_wd{_num(self.weight_decay)}/seed{self.seed}"
        return f"{self.row}/seed{self.seed}"

    @property
    def folder(self) -> Path:
        """Where its ``result.json`` goes (see the module docstring)."""
        if self.task == TIMING:
            return self.study_dir / "cells" / TIMING
        if self.sweep:
            setting = f"lr{_num(self.lr)}_wd{_num(self.weight_decay)}"
            return self.study_dir / "sweep" / self.row / setting / f"seed{self.seed}"
        return self.study_dir / "cells" / self.row / f"seed{self.seed}"

    def result(self) -> dict[str, Any] | None:
        """Its ``result.json``, or ``None`` before it finished (and when the file is damaged:
        cut short, not JSON or not a mapping, which a warning names; the cell is a pure function
        of its settings, so it is run again).

        Raises:
            UserValueError: the cell on disk was trained with other settings than its scale's
                today (:func:`coordbias.benchmark.cells.cell_settings`): it is neither used nor
                overwritten; another ``--out``, or moving it away, runs it again.
        """
        result = read_cell_result(self.folder / "result.json")
        if result is None or self.task == TIMING or "settings" not in result:
            return result  # cells written before their settings were recorded are taken as is
        from coordbias.benchmark.cells import cell_settings

        expected = cell_settings(self.task, get_scale(self.scale))
        if result["settings"] != expected:
            changed = sorted(
                f"{group}.{key}"
                for group in expected
                for key in set(expected[group]) | set(result["settings"].get(group, {}))
                if expected[group].get(key) != result["settings"].get(group, {}).get(key)
            )
            raise UserValueError(
                f"'{self.folder / 'result.json'}' was trained with other settings than scale "
                f"{self.scale!r} has now ({', '.join(changed) or 'their layout'}); it is not "
                "overwritten: give another --out, or move that cell away to run it again"
            )
        return result

    @property
    def done(self) -> bool:
        """Its ``result.json`` exists (and, for the timing, covers ``methods``)."""
        result = self.result()
        if result is None:
            return False
        if self.task != TIMING:
            return True
        return set(self.methods) <= set(result.get("ratio", {})) | set(result.get("na", {}))

    def execute(self, log: TaskLog, **options: Any) -> str:
        """Run the cell (or the timing) and write its ``result.json``."""
        if self.done:
            return "finished earlier"
        from coordbias.benchmark import cells

        scale = get_scale(self.scale)
        log(f"running {self.label} at scale {self.scale} (pid {os.getpid()})")
        if self.task == TIMING:
            result = cells.run_timing(list(self.methods), scale)
        else:
            result = cells.run_cell(
                self.task,
                self.method,
                self.placement,
                self.seed,
                scale,
                lr=self.lr,
                weight_decay=self.weight_decay,
                sweep=self.sweep,
            )
        if self.task != TIMING:  # (the timing's own "settings" are its measurements')
            result = {**result, "settings": cells.cell_settings(self.task, scale)}
        write_json(self.folder / "result.json", {**result, "scale": self.scale})
        log(f"{self.label} finished")
        return "n/a: " + result["na"] if isinstance(result.get("na"), str) else "ran"


class BenchmarkFailed(RuntimeError):
    """Some cells did not finish; the table was written without them (they say "not run")."""


@dataclass(frozen=True)
class BenchmarkPlan:
    """Everything ``run_benchmark`` will do, before it does it.

    Attributes:
        out_dir: the benchmark folder.
        scale: the scale.
        methods: the methods (vanilla first).
        tasks: the tasks.
        seeds: task -> its final seeds.
        rows: ``(task, method, placement)`` in table order.
        sweep: the sweep cells of every row.
        timing: the timing task; ``None`` when every task is an anchor (its rows are a
            published table's, not the methods the timing compares).
        threads: torch threads of each cell (``None``: the process's own).
    """

    out_dir: Path
    scale: BenchmarkScale
    methods: list[str]
    tasks: list[str]
    seeds: dict[str, list[int]]
    rows: list[tuple[str, str, str]]
    sweep: list[CellTask]
    timing: CellTask | None
    threads: int | None = None

    @property
    def timings(self) -> list[CellTask]:
        """The timing task as a list: empty when there is none (anchors alone)."""
        return [] if self.timing is None else [self.timing]

    def grid(self, task: str) -> list[tuple[float, float]]:
        """The ``(lr, weight_decay)`` pairs a row of ``task`` may train at (an anchor: its
        protocol's one)."""
        spec = TASKS[task]
        schedule = self.scale.schedules.of(spec.family, spec.anchor)
        if spec.anchor:
            return [(schedule.lr, schedule.weight_decay)]
        return schedule.grid()


def _listed(names: Sequence[str] | str | None) -> list[str] | str | None:
    return names if names is None or isinstance(names, str) else list(names)


def plan_benchmark(
    out_dir: str | Path = "runs/benchmark",
    *,
    scale: str | BenchmarkScale = "quick",
    methods: Sequence[str] | str | None = None,
    tasks: Sequence[str] | str | None = None,
    seeds: int | Sequence[int] | None = None,
    threads: int | None = None,
) -> BenchmarkPlan:
    """Resolve a benchmark's rows and sweep without running or writing anything.

    Args:
        out_dir: the benchmark folder.
        scale: ``test``, ``quick``, ``standard`` or a :class:`BenchmarkScale`.
        methods: variants (list or comma-separated); ``None``: every method
            (:func:`~coordbias.benchmark.benchmark_methods`). ``vanilla`` is always added.
        tasks: task names; ``None``: every task but the anchors (which run when named; their
            rows are their published tables', :func:`~coordbias.benchmark.spec.anchor_rows`).
        seeds: a count (0..n-1) or a list, for every task; ``None``: the scale's counts
            (``bimodal_seeds`` for the tasks with a success outcome).
        threads: torch threads of each cell (``None``: the launcher decides).

    Raises:
        UserValueError: an unknown scale, method or task, bad seeds, or a folder that holds
            cells of another scale.
    """
    try:
        scale = get_scale(scale)
        known = benchmark_methods()
        names = resolve_names("methods", _listed(methods), known)
        default_tasks = [t for t, spec in TASKS.items() if not spec.anchor]
        task_names = resolve_names("tasks", _listed(tasks), list(TASKS))
        if tasks is None:
            task_names = default_tasks
    except ValueError as err:
        raise UserValueError(str(err)) from None
    if BASELINE not in names:
        names = [BASELINE, *names]
    try:
        seed_lists = {t: resolve_seeds(seeds, seeds_of(t, scale)) for t in task_names}
    except (TypeError, ValueError) as err:
        raise UserValueError(str(err)) from None
    out = Path(out_dir)
    rows = []
    for task in task_names:
        row_methods = anchor_rows(task) if TASKS[task].anchor else names
        for method in row_methods:
            rows += [(task, method, p) for p in placements_of(task, method)]
    plan = BenchmarkPlan(out, scale, names, task_names, seed_lists, rows, [], None, threads)  # type: ignore[arg-type]
    sweep: list[CellTask] = []
    swept = []
    for row in rows:
        task, method, placement = sweep_row(*row)
        grid = plan.grid(row[0])
        if len(grid) < 2 or (task, method, placement) in swept:  # nothing (new) to choose
            continue
        swept.append((task, method, placement))
        sweep += [
            CellTask(task, method, placement, s, out, scale.name, lr, wd, True, threads)
            for lr, wd in grid
            for s in scale.sweep_seeds
        ]
    timing = None
    if not all(TASKS[t].anchor for t in task_names):
        timing = CellTask(TIMING, "", "", 0, out, scale.name, threads=threads, methods=tuple(names))
    plan = BenchmarkPlan(out, scale, names, task_names, seed_lists, rows, sweep, timing, threads)
    for cell in [*sweep, *plan.timings]:
        _check_scale(cell)
    for cell in final_cells(plan, pending=True):
        _check_scale(cell)
    return plan


def choose(plan: BenchmarkPlan, task: str, method: str, placement: str) -> dict[str, Any]:
    """A row's setting, from the sweep cells of its :func:`~coordbias.benchmark.spec.sweep_row`
    on disk: the grid pair of lowest mean validation loss over the sweep seeds (the first in
    grid order on a tie). Test numbers are never read.

    Returns:
        ``{"on": the sweep's task, "grid": [{"lr", "weight_decay", "val_loss", "val_metric",
        "seeds", "seconds"}], "chosen":
        {"lr", "weight_decay"} or None}``: ``None`` while a sweep cell is missing; an anchor's
        or a one-pair grid's pair without sweep cells; with ``"na"`` when the method cannot run.
    """
    grid = plan.grid(task)
    if len(grid) < 2:
        lr, wd = grid[0]
        return {"grid": [], "chosen": {"lr": lr, "weight_decay": wd}}
    task, method, placement = sweep_row(task, method, placement)
    rows, complete = [], True
    for lr, wd in grid:
        found = []
        for s in plan.scale.sweep_seeds:
            cell = CellTask(task, method, placement, s, plan.out_dir, plan.scale.name, lr, wd, True)
            result = cell.result()
            if result is None:
                complete = False
            elif isinstance(result.get("na"), str):
                return {"grid": [], "chosen": {"lr": lr, "weight_decay": wd}, "na": result["na"]}
            else:
                found.append((result["val_loss"], result["val_metric"], result.get("seconds")))
        n = len(found)
        rows.append(
            {
                "lr": lr,
                "weight_decay": wd,
                "val_loss": sum(f[0] for f in found) / n if n else None,
                "val_metric": sum(f[1] for f in found) / n if n else None,
                "seeds": n,
                "seconds": math.fsum(f[2] for f in found if isinstance(f[2], (int, float))),
            }
        )
    if not complete:
        return {"on": task, "grid": rows, "chosen": None}
    scored = [r for r in rows if r["val_loss"] is not None and not math.isnan(r["val_loss"])]
    best = min(scored, key=lambda r: r["val_loss"]) if scored else rows[0]
    return {
        "on": task,
        "grid": rows,
        "chosen": {"lr": best["lr"], "weight_decay": best["weight_decay"]},
    }


def final_cells(plan: BenchmarkPlan, *, pending: bool = False) -> list[CellTask]:
    """The final cells of every row whose setting is chosen (with ``pending``, also those of
    rows whose sweep has not finished, at a ``nan`` setting: for listing only)."""
    out = []
    for task, method, placement in plan.rows:
        chosen = choose(plan, task, method, placement)["chosen"]
        if chosen is None and not pending:
            continue
        lr, wd = (chosen["lr"], chosen["weight_decay"]) if chosen else (math.nan, math.nan)
        out += [
            CellTask(
                task,
                method,
                placement,
                s,
                plan.out_dir,
                plan.scale.name,
                lr,
                wd,
                False,
                plan.threads,
            )
            for s in plan.seeds[task]
        ]
    return out


def _check_scale(cell: CellTask) -> None:
    """Refuse a folder whose finished cell was run at another scale."""
    result = cell.result() if cell.folder.parent.exists() else None
    if result is None:
        return
    if result.get("scale") != cell.scale:
        raise UserValueError(
            f"{cell.folder} holds a cell of scale {result.get('scale')!r}, not {cell.scale!r}; "
            "choose another --out or delete that folder"
        )


def _estimate_s(cell: CellTask, scale: BenchmarkScale) -> float:
    """An upper bound of a cell's CPU seconds: every epoch at the scale's measured rate."""
    if cell.task == TIMING:
        per_round = sum(2 * t.min_run_time + 1.0 for t in scale.timing)
        return per_round * len(cell.methods) * max(t.rounds for t in scale.timing)
    spec = TASKS[cell.task]
    schedule = scale.schedules.of(spec.family, spec.anchor)
    if schedule.max_steps:
        return CELL_OVERHEAD_S + schedule.est_epoch_s
    return CELL_OVERHEAD_S + schedule.max_epochs * schedule.est_epoch_s


def dry_run(plan: BenchmarkPlan, *, jobs: int | None = None, log: Log = print) -> dict[str, Any]:
    """List the sweep and final cells, the jobs and the estimated cost; run and write nothing.

    Each cell is costed at ``max_epochs`` x the scale's measured CPU seconds per epoch plus
    :data:`CELL_OVERHEAD_S` (an upper bound: early stopping ends most cells sooner); the cells
    are placed on the jobs in the order they run (the sweep, then the final cells) with the
    scheduler's ``makespan``, and the timing is added alone.

    Returns:
        ``{"cells": [{"label", "status", "estimated_s"}], "sweep_s", "final_s", "timing_s",
        "estimated_s", "jobs", "threads"}``.
    """
    parallelism = resolve_parallelism(
        plan.scale, jobs=jobs, threads=plan.threads, accelerator="cpu"
    )
    finals = final_cells(plan, pending=True)
    listed = []
    for cell in [*plan.sweep, *finals]:
        done = cell.done if not math.isnan(cell.lr) else False
        listed.append(
            {
                "label": cell.label
                if not math.isnan(cell.lr)
                else f"{cell.row}/seed{cell.seed} (at the sweep's choice)",
                "status": "done" if done else "to run",
                "estimated_s": 0.0 if done else _estimate_s(cell, plan.scale),
            }
        )
    n_sweep = len(plan.sweep)
    sweep_s = makespan([c["estimated_s"] for c in listed[:n_sweep]], parallelism.jobs)
    final_s = makespan([c["estimated_s"] for c in listed[n_sweep:]], parallelism.jobs)
    timing_s = sum(_estimate_s(t, plan.scale) for t in plan.timings if not t.done)
    total = sweep_s + final_s + timing_s
    log(
        f"benchmark at scale {plan.scale.name!r} into {plan.out_dir}: {len(plan.rows)} rows "
        f"(task x method x placement), {n_sweep} sweep cells, {len(finals)} final cells"
        + (", the timing" if plan.timing else "")
    )
    log(f"launcher local: {parallelism.describe()}")
    for i, row in enumerate(listed, 1):
        log(
            f"  [{i}/{len(listed)}] {row['label']:<60} {row['status']:<6} "
            f"~{fmt_duration(row['estimated_s'])}"
        )
    log(
        f"estimated total ~{fmt_duration(total)} on {parallelism.jobs} job(s): sweep "
        f"~{fmt_duration(sweep_s)}, final cells ~{fmt_duration(final_s)}, timing "
        f"~{fmt_duration(timing_s)} (upper bound: every cell costed at its max epochs x the "
        "scale's measured CPU seconds per epoch, from a busy 2-core machine)"
    )
    return {
        "cells": listed,
        "sweep_s": sweep_s,
        "final_s": final_s,
        "timing_s": timing_s,
        "estimated_s": total,
        "jobs": parallelism.jobs,
        "threads": parallelism.threads,
    }


def run_benchmark(
    out_dir: str | Path = "runs/benchmark",
    *,
    scale: str | BenchmarkScale = "quick",
    methods: Sequence[str] | str | None = None,
    tasks: Sequence[str] | str | None = None,
    seeds: int | Sequence[int] | None = None,
    jobs: int | None = None,
    threads: int | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Run (or resume) the benchmark and write ``results.json`` and ``report.md`` into
    ``out_dir``.

    Args:
        out_dir: the benchmark folder.
        scale: as :func:`plan_benchmark`.
        methods: as :func:`plan_benchmark`.
        tasks: as :func:`plan_benchmark`.
        seeds: as :func:`plan_benchmark`.
        jobs: cells at once: ``1`` one after another in this process; more, each in a child
            process. ``None``: ``cores // scale.threads_per_run`` (one thread each).
        threads: torch threads per cell; ``None``: ``cores // jobs`` (with one job, this
            process's own count).
        log: receives the progress lines.

    Returns:
        The ``results.json`` dict.

    Raises:
        UserValueError: a bad setting (nothing was run).
        BenchmarkFailed: some cells failed; the table was written with "not run" in their
            place, and the same call resumes them.
    """
    import torch

    try:
        scale_obj = get_scale(scale)
    except ValueError as err:
        raise UserValueError(str(err)) from None
    # The cells run on the CPU: the scale's measured thread count decides the jobs.
    parallelism = resolve_parallelism(scale_obj, jobs=jobs, threads=threads, accelerator="cpu")
    plan = plan_benchmark(
        out_dir,
        scale=scale_obj,
        methods=methods,
        tasks=tasks,
        seeds=seeds,
        threads=parallelism.threads,
    )
    check_folder_destination(plan.out_dir, "--out")
    start = time.perf_counter()
    n_final = sum(len(plan.seeds[t]) for t, _, _ in plan.rows)
    timing = plan.timings
    total = len(plan.sweep) + n_final + len(timing)
    done = sum(c.done for c in [*plan.sweep, *final_cells(plan), *timing])
    log(
        f"benchmark at scale {plan.scale.name!r} into {plan.out_dir}: {len(plan.rows)} rows "
        f"(task x method x placement) over {len(plan.tasks)} tasks, {len(plan.sweep)} sweep "
        f"cells, {n_final} final cells{' and the timing' if timing else ''}; {done} done earlier"
    )
    log(f"launcher local: {parallelism.describe()}")
    progress = Progress(
        total_runs=total,
        total_experiments=0,
        done_runs=done,
        done_experiments=0,
        jobs=parallelism.jobs,
        log=log,
    )

    def pool(batch: list[CellTask]) -> tuple[list[Any], list[Any]]:
        if parallelism.jobs == 1:
            return run_in_process(batch, progress)
        return run_local(batch, parallelism, progress, log=log, preload=PRELOAD)

    def one_alone(batch: list[CellTask]) -> tuple[list[Any], list[Any]]:
        progress.jobs = 1
        return run_in_process(batch, progress)

    failures = run_rounds([c for c in plan.sweep if not c.done], pool, log)
    # The rows whose sweep finished are chosen now; the others wait for the next run.
    failures += run_rounds([c for c in final_cells(plan) if not c.done], pool, log)
    if not failures and timing and not timing[0].done:  # it compares every method, alone
        failures += run_rounds(timing, one_alone, log)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(plan.out_dir / "benchmark.lock")):
        results = write_results(plan, parallelism.threads or torch.get_num_threads())
    log(
        f"table written: {plan.out_dir / 'report.md'}, {plan.out_dir / 'results.json'} "
        f"(elapsed {fmt_duration(time.perf_counter() - start)})"
    )
    if failures:
        raise BenchmarkFailed(
            "these cells did not finish: "
            + "; ".join(f.describe() for f in failures)
            + ". The table says 'not run' in their place; run the same command again to resume."
        )
    return results


def write_results(plan: BenchmarkPlan, threads: int) -> dict[str, Any]:
    """``results.json`` and ``report.md`` (with its figures) of ``plan`` from what is on disk.

    ``cells`` is task -> method -> placement -> the ``result.json`` of every finished final
    seed; ``sweep`` is task -> method -> placement -> :func:`choose`'s record; ``table`` is
    :func:`coordbias.benchmark.report.write_report`'s table.
    """
    from coordbias.benchmark.report import write_report

    cells: dict[str, Any] = {}
    sweep: dict[str, Any] = {}
    missing = []
    for task, method, placement in plan.rows:
        choice = choose(plan, task, method, placement)
        sweep.setdefault(task, {}).setdefault(method, {})[placement] = choice
        found = []
        for s in plan.seeds[task]:
            # A final cell's folder does not depend on its setting (its result records it).
            cell = CellTask(task, method, placement, s, plan.out_dir, plan.scale.name)
            result = cell.result()
            if result is None:
                missing.append(cell.label)
            else:
                found.append(result)
        cells.setdefault(task, {}).setdefault(method, {})[placement] = found
    continuous = [t for t in plan.tasks if not TASKS[t].bimodal] or plan.tasks
    results: dict[str, Any] = {
        "scale": asdict(plan.scale),
        "out": str(plan.out_dir),
        "methods": plan.methods,
        "tasks": {t: asdict(TASKS[t]) for t in plan.tasks},
        "seeds": plan.seeds[continuous[0]],
        "task_seeds": plan.seeds,
        "threads": threads,
        "cells": cells,
        "sweep": sweep,
        "timing": plan.timing.result() if plan.timing else None,
        "missing": missing,
    }
    anchor = _anchor_table(plan, cells)
    if anchor:
        results["anchor_table"] = anchor
    results["table"] = write_report(results, plan.out_dir)
    write_json(plan.out_dir / "results.json", results)
    return results


def _anchor_table(plan: BenchmarkPlan, cells: dict[str, Any]) -> str:
    """The anchors' rows as their papers report them, in %, beside the published mean
    (:data:`ANCHOR_PUBLISHED`) and the difference of the mean from it: one line per row and
    metric, the mean ± sample std over the seeds, and for a success task how many seeds
    succeeded, the median and the lowest; for a task trained through (its cells score the test
    set every epoch, as its paper's code), also how many seeds succeeded at some epoch."""
    from coordbias.reporting.markdown import md_table
    from coordbias.reporting.stats import mean_std

    rows = []
    for task in [t for t in plan.tasks if TASKS[t].anchor]:
        spec = TASKS[task]
        for method in anchor_rows(task):
            placed = cells[task][method][DEFAULT_PLACEMENT[spec.family]]
            found = [r for r in placed if "metrics" in r]
            for name, published in ANCHOR_PUBLISHED[task][method].items():
                values = [100 * r["metrics"][name] for r in found]
                if not values:
                    rows.append([f"`{task}`", f"`{method}`", "0", name, "not run", "", ""])
                    continue
                got = mean_std(values) if len(values) > 1 else {"mean": values[0], "std": 0.0}
                text = f"{got['mean']:.1f} ± {got['std']:.1f}"
                if spec.outcome == "success":
                    ok = sum(spec.succeeded(r["metrics"][name]) for r in found)
                    middle = statistics.median(values)
                    text += f" ({ok}/{len(found)} seeds succeed; median {middle:.1f}, "
                    text += f"lowest {min(values):.1f})"
                    if all("test_metric" in row for r in found for row in r["curve"]):
                        ever = sum(
                            any(spec.succeeded(row["test_metric"]) for row in r["curve"])
                            for r in found
                        )
                        text += f"; {ever}/{len(found)} succeed at some epoch"
                rows.append(
                    [
                        f"`{task}`",
                        f"`{method}`",
                        str(len(found)),
                        name,
                        text,
                        f"{published:.1f}",
                        f"{got['mean'] - published:+.1f}",
                    ]
                )
    headers = ["task", "row", "seeds", "test set", "%", "paper", "difference"]
    return md_table(headers, rows) if rows else ""
