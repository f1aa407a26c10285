"""A study's units of work: a run with its transfer evaluation, an experiment.

- :class:`RunTask`: one training run (variant x seed) followed by its resolution-transfer
  evaluation (which depends on that run alone);
- :class:`ExperimentTask`: one open-question experiment.

Both follow the scheduler's task protocol (``coordbias.scheduler.execute.Task``), which runs
them in this process, in a child process per task or through submitit, and resumes from disk:

- a run is finished when its ``result.json`` says so (``RunSpec.done``) and its ``transfer.json``
  holds every planned size;
- an experiment is finished when ``experiments/<name>/result.json`` exists.

Their locks sit beside their folders (``runs/<variant>/seed<k>.lock``,
``experiments/<name>.lock``), their logs in them (``task.log``).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from coordbias._util.errors import UserValueError
from coordbias._util.files import read_json, write_json
from coordbias.scheduler.execute import TASK_LOG, TaskFiles, TaskLog, TaskOutcome, execute_task
from coordbias.study.experiments import RUN_ALONE
from coordbias.study.plan import (
    RunSpec,
    StudyPlan,
    config_damage,
    metrics_damage,
    result_damage,
)
from coordbias.training.run import CONFIG_FILE, RESULT_FILE

# The scheduler's names (TASK_LOG, TaskOutcome, execute_task) stay importable from here.
__all__ = [
    "TASK_LOG",
    "ExperimentTask",
    "RunTask",
    "Task",
    "TaskOutcome",
    "damaged_records",
    "execute_task",
    "plan_tasks",
    "read_transfer",
    "run_transfer",
]

#: A run's evaluations at the preset's transfer sizes, in its folder.
TRANSFER_FILE = "transfer.json"

# A checkpoint to resume from, in a run folder (coordbias.training.checkpoint.LAST_CHECKPOINT;
# named here so that planning a study does not import the training stack).
_LAST_CHECKPOINT = os.path.join("checkpoints", "last.ckpt")


@dataclass(frozen=True)
class RunTask(TaskFiles):
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
    kind: ClassVar[str] = "run"

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

    def execute(self, log: TaskLog, *, train_fn: Callable[[Any], Any] | None = None) -> str:
        """Train (resuming from ``checkpoints/last.ckpt`` when an earlier attempt left one),
        then evaluate the transfer sizes the run lacks; ``train_fn`` replaces
        ``coordbias.training.train``."""
        import torch

        return _execute_run(self, train_fn, log, torch.get_num_threads())


@dataclass(frozen=True)
class ExperimentTask(TaskFiles):
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
    kind: ClassVar[str] = "experiment"

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
        """Its ``result.json`` exists and reads whole (a damaged one is run again)."""
        return (self.folder / "result.json").is_file() and not experiment_damage(self.folder)

    def execute(self, log: TaskLog, **options: Any) -> str:
        """Run the experiment and write its ``result.json`` (``options`` are for runs)."""
        return _execute_experiment(self, log)


#: A task of a study.
Task = RunTask | ExperimentTask


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


def _execute_run(
    task: RunTask, train_fn: Callable[[Any], Any] | None, log: TaskLog, threads: int
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
        if result_damage(run.run_dir):  # named by the study; the training writes it anew
            (run.run_dir / RESULT_FILE).unlink()
        if (run.run_dir / RESULT_FILE).is_file():  # it trains further: a new transfer
            (run.run_dir / TRANSFER_FILE).unlink(missing_ok=True)
        # resume=True continues from the last checkpoint, or starts afresh without one; the
        # study checked beforehand that the folder holds this very run (_check_not_stale).
        train_fn(dataclasses.replace(run.config, resume=True))
        log(f"trained {task.label}")
    if run_transfer(run, task.transfer_sizes, task.transfer_val_size):
        sizes = ", ".join(map(str, task.transfer_sizes))
        log(f"transfer of {task.label} evaluated at {sizes} px")
        did.append(f"transfer at {sizes} px")
    return ", ".join(did) or "finished earlier"


def read_transfer(path: Path) -> dict[str, Any]:
    """The evaluations a run's ``transfer.json`` holds, ``{size: {"val_size", "metrics", ...}}``
    (empty when there is none).

    Raises:
        UserValueError: the file is damaged (cut short, not JSON, not a mapping of mappings).
    """
    if not path.is_file():
        return {}
    values = read_json(path)
    if not isinstance(values, dict):
        raise UserValueError(f"{str(path)!r} is damaged (not a mapping of evaluations per size)")
    for size, entry in values.items():
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(key), int) for key in ("trained_size", "val_size")
        ):
            raise UserValueError(f"{str(path)!r} is damaged (size {size} is not an evaluation)")
        why = metrics_damage(entry.get("metrics"))
        if why:
            raise UserValueError(f"{str(path)!r} is damaged (at size {size}, {why})")
    return values


def transfer_damage(run_dir: Path) -> str | None:
    """Why ``run_dir/transfer.json`` is damaged, or ``None`` when it is whole or absent."""
    try:
        read_transfer(run_dir / TRANSFER_FILE)
    except UserValueError as error:
        return str(error)
    return None


def _transfer_or_nothing(path: Path) -> dict[str, Any]:
    """``read_transfer``, with a damaged file read as no evaluation at all (it is redone)."""
    try:
        return read_transfer(path)
    except UserValueError:
        return {}


def _missing_transfer(task: RunTask) -> list[int]:
    if not task.transfer_sizes:
        return []
    existing = _transfer_or_nothing(task.folder / TRANSFER_FILE)
    return [
        size
        for size in task.transfer_sizes
        if existing.get(str(size), {}).get("val_size") != task.transfer_val_size
    ]


def run_transfer(run: RunSpec, sizes: tuple[int, ...], val_size: int) -> bool:
    """Evaluate the finished ``run`` at each size of ``sizes`` that ``transfer.json`` lacks (a
    damaged file counts as lacking every size).

    Returns:
        Whether ``transfer.json`` was (re)written.
    """
    from coordbias.study.transfer import evaluate_at_size

    missing = _missing_transfer(RunTask(run, tuple(sizes), val_size))
    if not missing:
        return False
    path = run.run_dir / TRANSFER_FILE
    existing = _transfer_or_nothing(path)
    for size in missing:
        existing[str(size)] = evaluate_at_size(run.run_dir, size, val_size)
    write_json(path, existing)
    return True


def experiment_damage(folder: Path) -> str | None:
    """Why an experiment's ``result.json`` is damaged (cut short, not a JSON mapping), or
    ``None`` when it is whole or absent."""
    path = folder / "result.json"
    if not path.is_file():
        return None
    try:
        value = read_json(path)
    except UserValueError as error:
        return str(error)
    if not isinstance(value, dict):
        return f"{str(path)!r} is damaged (it holds a {type(value).__name__}, not a mapping)"
    return None


def damaged_records(plan: StudyPlan) -> dict[Path, str]:
    """The damaged records in the study folder (a run's ``config.yaml``, ``result.json`` or
    ``transfer.json``, an experiment's ``result.json``): ``{file: one line naming it, what is
    wrong and what is redone}``."""
    lines: dict[Path, str] = {}
    for run in plan.runs:
        label = f"{run.variant}/seed{run.seed}"
        for name, why in ((CONFIG_FILE, config_damage), (RESULT_FILE, result_damage)):
            text = why(run.run_dir)
            if text:
                lines[run.run_dir / name] = f"{text}: {label} counts as unfinished and is redone"
        text = transfer_damage(run.run_dir)
        if text:
            again = f"the transfer of {label} is evaluated again"
            lines[run.run_dir / TRANSFER_FILE] = f"{text}: {again}"
    for name in plan.experiments:
        folder = plan.out_dir / "experiments" / name
        text = experiment_damage(folder)
        if text:
            lines[folder / "result.json"] = f"{text}: experiment {name} runs again"
    return lines


def _execute_experiment(task: ExperimentTask, log: TaskLog) -> str:
    if task.done:
        return "finished earlier"
    module = importlib.import_module(f"coordbias.study.experiments.{task.name}")
    log(f"running {task.label} (pid {os.getpid()})")
    result = module.run(task.folder, quick=task.quick, seed=task.seed)
    write_json(task.folder / "result.json", result)
    log(f"{task.label} finished")
    return "ran"
