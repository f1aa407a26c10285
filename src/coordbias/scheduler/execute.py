"""What the scheduler asks of a task, and the one function that does one: :func:`execute_task`.

A task is a small picklable description of one piece of resumable work (a study's run, an
experiment, a benchmark cell: each part defines its own kinds). The scheduler knows a task by
the :class:`Task` protocol alone: its label, whether it is finished (read from its folder, never
from a launcher's memory, so any launcher resumes what another one left), its lock and log files,
its torch thread count and how to do it (``execute``).

Whoever does a task first takes its lock (``filelock``, a file beside the task's folder), so two
processes on one folder never do the same work twice; the operating system releases a lock when
its holder dies, even by SIGKILL. What a task does is appended to its log (a child process's
whole output goes there too). :class:`TaskFiles` gives a task both paths from its folder.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from coordbias._util.experiment import torch_threads

__all__ = ["TASK_LOG", "Task", "TaskFiles", "TaskLog", "TaskOutcome", "execute_task"]

#: The log of a task, in its folder: what ``execute_task`` did, and a child process's output.
TASK_LOG = "task.log"


class Task(Protocol):
    """What the scheduler needs of a unit of work.

    Attributes:
        label: a short name for the progress lines (unique among the tasks of one call).
        kind: ``"run"`` or ``"experiment"``: what the progress line counts it as; in this
            process an ``"experiment"`` that raises is reported and the others go on, while a
            ``"run"`` that raises stops the launcher (its checkpoints are on disk).
        threads: torch intra-op threads while it runs; ``None`` keeps the process's own.
        done: whether it is finished, read from disk.
        lock_file: the lock taken while it runs.
        log_file: where its log lines (and a child's output) go.
    """

    @property
    def label(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def threads(self) -> int | None: ...

    @property
    def done(self) -> bool: ...

    @property
    def lock_file(self) -> Path: ...

    @property
    def log_file(self) -> Path: ...

    def execute(self, log: TaskLog, **options: Any) -> str:
        """Do what is left of the task (its lock held); return a few words for the progress line."""
        ...


class TaskFiles:
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


class TaskLog:
    """Appends time-stamped lines to a task's log (one ``open`` per line: children share it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{stamp} [pid {os.getpid()}] {line}\n")


def execute_task(task: Task, *, wait: bool = False, **options: Any) -> TaskOutcome:
    """Do ``task`` unless another process is doing it.

    Takes the task's lock (without waiting, unless ``wait``); under it, with ``task.threads``
    torch threads, calls ``task.execute(log, **options)``, which reads from disk what is left and
    does that.

    Args:
        task: a :class:`Task`.
        wait: block until the lock is free instead of returning ``status="locked"``.
        **options: passed to ``task.execute`` (the study's ``train_fn``, say).

    Returns:
        A :class:`TaskOutcome`.

    Raises:
        Exception: whatever the task raises; the lock is released.
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
        with torch_threads(task.threads):  # the one place a task's thread count applies
            threads = torch.get_num_threads()
            did = task.execute(TaskLog(task.log_file), **options)
    finally:
        lock.release()
    return TaskOutcome(task.label, "done", did, time.perf_counter() - start, threads)
