"""``run_benchmark``: plan the cells, run what is missing through the scheduler, write
the table.

Layout of a benchmark folder ``DIR``::

    DIR/cells/<task>/<method>/seed<k>/result.json   one cell (coordbias.benchmark.cells)
    DIR/cells/<task>/<method>/seed<k>.lock          held by whoever runs it
    DIR/cells/timing/result.json                    the step timing of every method
    DIR/results.json, DIR/report.md                 the table, rebuilt from what is on disk
    DIR/benchmark.lock                              held while they are written

Every cell is a :class:`CellTask` (a task of ``coordbias.scheduler``): ``execute_task`` takes its
lock and writes its ``result.json``; ``coordbias.scheduler.launch`` runs the cells in this process
(``jobs=1``) or in child processes (``jobs > 1``), each with its own torch thread count. A finished
cell is never redone, so an interrupted benchmark resumes by running the same command again. The
timing runs last and alone, since a cell training beside it would distort its times.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from filelock import FileLock

from coordbias._util.errors import UserValueError, check_folder_destination
from coordbias._util.experiment import resolve_seeds
from coordbias._util.files import write_json, write_text
from coordbias.benchmark.spec import (
    BASELINE,
    TASKS,
    BenchmarkScale,
    benchmark_methods,
    get_scale,
    resolve_names,
)
from coordbias.benchmark.table import collect, markdown_table
from coordbias.scheduler.execute import TaskFiles, TaskLog
from coordbias.scheduler.launch import (
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
    "plan_benchmark",
    "run_benchmark",
]

#: The task name of a benchmark's timing (:class:`CellTask`).
TIMING = "timing"

#: What the fork server of ``run_local`` imports once, so that each child starts with it loaded.
PRELOAD = ("coordbias.benchmark.cells", "coordbias.training.metrics")


@dataclass(frozen=True)
class CellTask(TaskFiles):
    """One cell of the benchmark, or (``task == TIMING``) its step timing of ``methods``: a task
    of the scheduler (``coordbias.scheduler``), with its lock beside its folder and its log in it.

    Attributes:
        task: a task of ``coordbias.benchmark.TASKS``, or :data:`TIMING`.
        method: the method (a network variant); ``""`` for the timing.
        seed: the cell's seed.
        study_dir: the benchmark folder; the cell writes ``cells/<task>/<method>/seed<k>/``.
        scale: the name of the benchmark scale (``coordbias.benchmark.SCALES``).
        threads: torch intra-op threads while it runs; ``None`` keeps the process's own.
        methods: the methods the timing compares (empty for a cell).
    """

    task: str
    method: str
    seed: int
    study_dir: Path
    scale: str
    threads: int | None = None
    methods: tuple[str, ...] = ()
    kind: ClassVar[str] = "run"

    @property
    def label(self) -> str:
        """``<task>/<method>/seed<k>``, or ``timing``."""
        return TIMING if self.task == TIMING else f"{self.task}/{self.method}/seed{self.seed}"

    @property
    def folder(self) -> Path:
        """``<benchmark>/cells/<task>/<method>/seed<k>`` (``<benchmark>/cells/timing``)."""
        if self.task == TIMING:
            return self.study_dir / "cells" / TIMING
        return self.study_dir / "cells" / self.task / self.method / f"seed{self.seed}"

    @property
    def done(self) -> bool:
        """Its ``result.json`` exists (and, for the timing, covers ``methods``)."""
        path = self.folder / "result.json"
        if not path.is_file():
            return False
        if self.task != TIMING:
            return True
        timed = json.loads(path.read_text())
        return set(self.methods) <= set(timed.get("ratio", {})) | set(timed.get("na", {}))

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
            result = cells.run_cell(self.task, self.method, self.seed, scale)
        write_json(self.folder / "result.json", {**result, "scale": self.scale})
        log(f"{self.label} finished")
        return "n/a: " + result["na"] if isinstance(result.get("na"), str) else "ran"


class BenchmarkFailed(RuntimeError):
    """Some cells did not finish; the table was written without them (they say "not run")."""


@dataclass(frozen=True)
class BenchmarkPlan:
    """Everything ``run_benchmark`` will do, before it does it."""

    out_dir: Path
    scale: BenchmarkScale
    methods: list[str]
    tasks: list[str]
    seeds: list[int]
    cells: list[CellTask]
    timing: CellTask


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
    """Resolve a benchmark's cells without running or writing anything.

    Args:
        out_dir: the benchmark folder.
        scale: ``quick``, ``test`` or a :class:`BenchmarkScale`.
        methods: study variants (list or comma-separated); ``None``: every method
            (:func:`~coordbias.benchmark.benchmark_methods`). ``vanilla`` is always
            added: the other cells are compared with it.
        tasks: task names; ``None``: every task of :data:`~coordbias.benchmark.TASKS`.
        seeds: a count (0..n-1) or a list; ``None``: the scale's count.
        threads: torch threads of each cell (``None``: the launcher decides).

    Raises:
        UserValueError: an unknown scale, method or task, bad seeds, or a folder that holds
            cells of another scale.
    """
    try:
        scale = get_scale(scale)
        known = benchmark_methods()
        names = resolve_names("methods", _listed(methods), known)
        task_names = resolve_names("tasks", _listed(tasks), list(TASKS))
    except ValueError as err:
        raise UserValueError(str(err)) from None
    if BASELINE not in names:
        names = [BASELINE, *names]
    try:
        seed_list = resolve_seeds(seeds, scale.seeds)
    except (TypeError, ValueError) as err:  # the study's check; here every bad seed is a value
        raise UserValueError(str(err)) from None
    out = Path(out_dir)
    cells = [
        CellTask(task, method, seed, out, scale.name, threads)
        for task in task_names
        for method in names
        for seed in seed_list
    ]
    timing = CellTask(TIMING, "", 0, out, scale.name, threads, tuple(names))
    for cell in [*cells, timing]:
        _check_scale(cell)
    return BenchmarkPlan(out, scale, names, task_names, seed_list, cells, timing)


def _check_scale(cell: CellTask) -> None:
    """Refuse a folder whose finished cell was run at another scale."""
    path = cell.folder / "result.json"
    if not path.is_file():
        return
    recorded = json.loads(path.read_text()).get("scale")
    if recorded != cell.scale:
        raise UserValueError(
            f"{cell.folder} holds a cell of scale {recorded!r}, not {cell.scale!r}; choose "
            "another --out or delete that folder"
        )


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
    todo = [c for c in plan.cells if not c.done]
    alone = [] if plan.timing.done else [plan.timing]
    total = len(plan.cells) + 1
    log(
        f"benchmark at scale {plan.scale.name!r} into {plan.out_dir}: {len(plan.methods)} "
        f"methods x {len(plan.tasks)} tasks x {len(plan.seeds)} seeds = {len(plan.cells)} cells "
        f"and the timing; {total - len(todo) - len(alone)} done earlier"
    )
    log(f"launcher local: {parallelism.describe()}")
    progress = Progress(
        total_runs=total,
        total_experiments=0,
        done_runs=total - len(todo) - len(alone),
        done_experiments=0,
        jobs=min(parallelism.jobs, max(len(todo), 1)),
        log=log,
    )

    def pool(batch: list[CellTask]) -> tuple[list[Any], list[Any]]:
        if parallelism.jobs == 1:
            return run_in_process(batch, progress)
        return run_local(batch, parallelism, progress, log=log, preload=PRELOAD)

    def one_alone(batch: list[CellTask]) -> tuple[list[Any], list[Any]]:
        progress.jobs = 1
        return run_in_process(batch, progress)

    failures = run_rounds(todo, pool, log)
    if not failures:  # the timing compares every method: only once their cells ran
        failures += run_rounds(alone, one_alone, log)
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
    """``results.json`` and ``report.md`` of ``plan`` from what is on disk."""
    from coordbias.benchmark.report import markdown

    bench = collect(plan.out_dir, plan.methods, plan.tasks, plan.seeds, plan.scale.transfer_size)
    results = {
        "scale": asdict(plan.scale),
        "methods": plan.methods,
        "tasks": {t: asdict(TASKS[t]) for t in plan.tasks},
        "seeds": plan.seeds,
        "threads": threads,
        **bench,
        "table": markdown_table(bench, plan.methods, plan.tasks),
    }
    write_json(plan.out_dir / "results.json", results)
    write_text(plan.out_dir / "report.md", markdown(results))
    return results
