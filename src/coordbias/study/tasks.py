"""A study's units of work, and the one function that does each: :func:`execute_task`.

A task is a small picklable description of one piece of work and of the torch thread count it
runs with:

- :class:`RunTask`: one training run (variant x seed) followed by its resolution-transfer
  evaluation (which depends on that run alone);
- :class:`ExperimentTask`: one open-question experiment;
- :class:`CellTask`: one cell of the benchmark (``coordbias.study.benchmark``: a method trained
  on a task with one seed), or its timing of every method.

Every launcher calls :func:`execute_task`: the study's own process (``--jobs 1``), a child
process per task (``coordbias.study.launch``), a SLURM job through submitit
(``coordbias.study.cluster``). Whether a task is finished is read from its folder, never from a
launcher's memory, so any launcher resumes what another one left:

- a run is finished when its ``result.json`` says so (``RunSpec.done``) and its ``transfer.json``
  holds every planned size;
- an experiment is finished when ``experiments/<name>/result.json`` exists, a benchmark cell
  when ``cells/<task>/<method>/seed<k>/result.json`` does.

Whoever does a task first takes its lock (``filelock``, a file beside the task's folder:
``runs/<variant>/seed<k>.lock``, ``experiments/<name>.lock``), so two studies on one folder never
do the same work twice; the operating system releases a lock when its holder dies, even by
SIGKILL. What a task does is appended to ``task.log`` in its folder (a child process's whole
output goes there too).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from coordbias._util.files import write_json
from coordbias.study.experiments import RUN_ALONE
from coordbias.study.plan import RunSpec, StudyPlan

__all__ = [
    "TASK_LOG",
    "CellTask",
    "ExperimentTask",
    "RunTask",
    "Task",
    "TaskOutcome",
    "execute_task",
    "plan_tasks",
    "run_transfer",
]

#: The log of a task, in its folder: what ``execute_task`` did, and a child process's output.
TASK_LOG = "task.log"

# A checkpoint to resume from, in a run folder (coordbias.training.checkpoint.LAST_CHECKPOINT;
# named here so that planning a study does not import the training stack).
_LAST_CHECKPOINT = os.path.join("checkpoints", "last.ckpt")


class _TaskFiles:
    """Where a task keeps its lock and its log, from its folder (the same rule for every kind)."""

    @property
    def folder(self) -> Path:  # pragma: no cover - each task names its own
        raise NotImplementedError

    @property
    def lock_file(self) -> Path:
        """``<folder>.lock``, beside the task's folder (``runs/<variant>/seed<k>.lock``,
        ``experiments/<name>.lock``), so the folder itself is untouched."""
        return self.folder.with_name(self.folder.name + ".lock")

    @property
    def log_file(self) -> Path:
        """``<folder>/task.log``."""
        return self.folder / TASK_LOG


@dataclass(frozen=True)
class RunTask(_TaskFiles):
    """One training run and its transfer evaluation.

    Attributes:
        run: the planned run (variant, seed, folder, config).
        transfer_sizes: image sizes to evaluate the trained network at.
        transfer_val_size: validation images per transfer size.
        threads: torch intra-op threads while the task runs; ``None`` keeps the process's own.
    """

    run: RunSpec
    transfer_sizes: tuple[int, ...] = ()
    transfer_val_size: int = 0
    threads: int | None = None

    @property
    def label(self) -> str:
        """``<variant>/seed<k>``."""
        return f"{self.run.variant}/seed{self.run.seed}"

    @property
    def folder(self) -> Path:
        """The run folder."""
        return self.run.run_dir

    @property
    def done(self) -> bool:
        """The run finished as planned and every transfer size is evaluated."""
        return self.run.done and not _missing_transfer(self)


@dataclass(frozen=True)
class ExperimentTask(_TaskFiles):
    """One open-question experiment (``coordbias.study.experiments.<name>``).

    Attributes:
        name: the experiment.
        study_dir: the study folder; the experiment writes ``experiments/<name>/``.
        quick: passed to the experiment's ``run``.
        seed: passed to the experiment's ``run``.
        threads: torch intra-op threads around it; ``None`` keeps the process's own (the
            experiments set their own count inside).
    """

    name: str
    study_dir: Path
    quick: bool = True
    seed: int = 0
    threads: int | None = None

    @property
    def label(self) -> str:
        """``experiment <name>``."""
        return f"experiment {self.name}"

    @property
    def folder(self) -> Path:
        """``<study>/experiments/<name>``."""
        return self.study_dir / "experiments" / self.name

    @property
    def done(self) -> bool:
        """Its ``result.json`` exists."""
        return (self.folder / "result.json").is_file()


@dataclass(frozen=True)
class CellTask(_TaskFiles):
    """One cell of the benchmark, or (``task == TIMING``) its step timing of ``methods``.

    Attributes:
        task: a task of ``coordbias.study.benchmark.TASKS``, or :data:`TIMING`.
        method: the method (a study variant); ``""`` for the timing.
        seed: the cell's seed.
        study_dir: the benchmark folder; the cell writes ``cells/<task>/<method>/seed<k>/``.
        scale: the name of the benchmark scale (``coordbias.study.benchmark.SCALES``).
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


#: The task name of a benchmark's timing (:class:`CellTask`).
TIMING = "timing"

Task = RunTask | ExperimentTask | CellTask


@dataclass(frozen=True)
class TaskOutcome:
    """What :func:`execute_task` did.

    Attributes:
        label: the task's label.
        status: ``"done"`` (finished, by this call or earlier) or ``"locked"`` (another process
            holds the task's lock; nothing was done).
        did: a few words for the progress line (``"trained"``, ``"resumed from epoch=0.ckpt"``,
            ``"finished earlier"``, ...).
        seconds: how long the call took.
        threads: the torch threads it ran with.
    """

    label: str
    status: str
    did: str
    seconds: float
    threads: int


def plan_tasks(plan: StudyPlan, threads: int | None = None) -> tuple[list[Task], list[Task]]:
    """The unfinished tasks of ``plan``, read from disk: ``(tasks, alone)``.

    ``tasks``: the runs in plan order, then the experiments that may run beside them; ``alone``:
    the experiments of ``coordbias.study.experiments.RUN_ALONE`` (they time code), to run after
    everything else, one at a time.
    """
    runs: list[Task] = [
        RunTask(run, tuple(plan.preset.transfer_sizes), plan.preset.transfer_val_size, threads)
        for run in plan.runs
    ]
    first_seed = plan.seeds[0]
    experiments = [
        ExperimentTask(name, plan.out_dir, plan.preset.experiments_quick, first_seed, threads)
        for name in plan.experiments
    ]
    tasks = [t for t in runs + [e for e in experiments if e.name not in RUN_ALONE] if not t.done]
    alone: list[Task] = [e for e in experiments if e.name in RUN_ALONE and not e.done]
    return tasks, alone


class _TaskLog:
    """Appends time-stamped lines to a task's log (one ``open`` per line: children share it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{stamp} [pid {os.getpid()}] {line}\n")


def _threads(n: int | None) -> contextlib.AbstractContextManager:
    if n is None:
        return contextlib.nullcontext()
    from coordbias.study.experiments._common import torch_threads

    return torch_threads(n)


def execute_task(
    task: Task,
    *,
    wait: bool = False,
    train_fn: Callable[[Any], Any] | None = None,
) -> TaskOutcome:
    """Do ``task`` unless it is finished on disk or another process is doing it.

    Takes the task's lock (without waiting, unless ``wait``); under it, reads from disk what is
    left and does that: a run trains (resuming from ``checkpoints/last.ckpt`` when an earlier
    attempt left one), then evaluates the transfer sizes it lacks; an experiment runs and writes
    its ``result.json``. The torch thread count is ``task.threads`` for the duration.

    Args:
        task: a :class:`RunTask` or :class:`ExperimentTask`.
        wait: block until the lock is free instead of returning ``status="locked"``.
        train_fn: the training function (default ``coordbias.training.train``).

    Returns:
        A :class:`TaskOutcome`.

    Raises:
        Whatever the training or the experiment raises; the lock is released.
    """
    import torch

    start = time.perf_counter()
    task.lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(task.lock_file))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        return TaskOutcome(task.label, "locked", "locked by another process", 0.0, 0)
    try:
        with _threads(task.threads):
            threads = torch.get_num_threads()
            log = _TaskLog(task.log_file)
            if isinstance(task, RunTask):
                did = _execute_run(task, train_fn, log, threads)
            elif isinstance(task, CellTask):
                did = _execute_cell(task, log)
            else:
                did = _execute_experiment(task, log)
    finally:
        lock.release()
    return TaskOutcome(task.label, "done", did, time.perf_counter() - start, threads)


def _execute_run(
    task: RunTask, train_fn: Callable[[Any], Any] | None, log: _TaskLog, threads: int
) -> str:
    run = task.run
    did = []
    if not run.done:
        if train_fn is None:
            from coordbias.training import train as train_fn
        who = f"({threads} torch thread{'s' * (threads != 1)})"
        if (run.run_dir / _LAST_CHECKPOINT).is_file():
            kept = sorted(p.name for p in (run.run_dir / "checkpoints").glob("epoch=*.ckpt"))
            log(f"resuming {task.label} from {_LAST_CHECKPOINT} {who}; on disk: {', '.join(kept)}")
            did.append(f"resumed from {kept[-1] if kept else 'last.ckpt'}")
        else:
            log(f"training {task.label} from scratch {who}")
            did.append("trained")
        if (run.run_dir / "result.json").is_file():  # it trains further: a new transfer
            (run.run_dir / "transfer.json").unlink(missing_ok=True)
        # resume=True continues from the last checkpoint, or starts afresh without one; the
        # study checked beforehand that the folder holds this very run (_check_not_stale).
        train_fn(dataclasses.replace(run.config, resume=True))
        log(f"trained {task.label}")
    if run_transfer(run, task.transfer_sizes, task.transfer_val_size):
        sizes = ", ".join(map(str, task.transfer_sizes))
        log(f"transfer of {task.label} evaluated at {sizes} px")
        did.append(f"transfer at {sizes} px")
    return ", ".join(did) or "finished earlier"


def _missing_transfer(task: RunTask) -> list[int]:
    path = task.folder / "transfer.json"
    if not task.transfer_sizes:
        return []
    existing = json.loads(path.read_text()) if path.is_file() else {}
    return [
        size
        for size in task.transfer_sizes
        if existing.get(str(size), {}).get("val_size") != task.transfer_val_size
    ]


def run_transfer(run: RunSpec, sizes: tuple[int, ...], val_size: int) -> bool:
    """Evaluate the finished ``run`` at each size of ``sizes`` that ``transfer.json`` lacks.

    Returns:
        Whether ``transfer.json`` was (re)written.
    """
    from coordbias.study.transfer import evaluate_at_size

    missing = _missing_transfer(RunTask(run, tuple(sizes), val_size))
    if not missing:
        return False
    path = run.run_dir / "transfer.json"
    existing = json.loads(path.read_text()) if path.is_file() else {}
    for size in missing:
        existing[str(size)] = evaluate_at_size(run.run_dir, size, val_size)
    write_json(path, existing)
    return True


def _execute_experiment(task: ExperimentTask, log: _TaskLog) -> str:
    if task.done:
        return "finished earlier"
    module = importlib.import_module(f"coordbias.study.experiments.{task.name}")
    log(f"running {task.label} (pid {os.getpid()})")
    result = module.run(task.folder, quick=task.quick, seed=task.seed)
    write_json(task.folder / "result.json", result)
    log(f"{task.label} finished")
    return "ran"


def _execute_cell(task: CellTask, log: _TaskLog) -> str:
    if task.done:
        return "finished earlier"
    from coordbias.study.benchmark import cells
    from coordbias.study.benchmark.spec import get_scale

    scale = get_scale(task.scale)
    log(f"running {task.label} at scale {task.scale} (pid {os.getpid()})")
    if task.task == TIMING:
        result = cells.run_timing(list(task.methods), scale)
    else:
        result = cells.run_cell(task.task, task.method, task.seed, scale)
    write_json(task.folder / "result.json", {**result, "scale": task.scale})
    log(f"{task.label} finished")
    return "n/a: " + result["na"] if isinstance(result.get("na"), str) else "ran"
