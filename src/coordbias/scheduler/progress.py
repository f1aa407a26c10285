"""What the scheduler says while tasks run, and how it names a task that did not finish.

- :class:`Progress`: one line per finished, failed or deferred task: runs done / total,
  experiments, elapsed, time left (estimated from the tasks finished so far);
- :class:`Failure`: a task that did not finish, why, and the log that says more;
- :func:`fmt_duration` and :func:`last_line` (a failed task's reason is its log's last line).

Every launcher reports through these: ``coordbias.scheduler.launch`` (this machine) and
``coordbias.scheduler.cluster`` (submitit).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coordbias.scheduler.execute import Task, TaskOutcome

Log = Callable[[str], None]


def fmt_duration(seconds: float) -> str:
    """``1h02m03s`` or ``2m03s``.

    Example:
        >>> fmt_duration(3723.4), fmt_duration(59.6)
        ('1h02m03s', '1m00s')
    """
    seconds = max(0, round(seconds))
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


@dataclass(frozen=True)
class Failure:
    """A task that did not finish: its label, why, and the log that says more."""

    task: Task
    reason: str
    log_file: Path | None

    @property
    def label(self) -> str:
        return self.task.label

    def describe(self) -> str:
        where = f"; log: {self.log_file}" if self.log_file else ""
        return f"{self.label} ({self.reason}{where})"


@dataclass
class Progress:
    """The progress lines of a study or a benchmark: one per finished, failed or deferred task.

    Args:
        total_runs: runs in the plan (finished earlier ones included).
        total_experiments: experiments in the plan.
        done_runs: runs finished before this call.
        done_experiments: experiments finished before this call.
        jobs: tasks at once (the time left divides by it).
        log: where lines go.
        on_change: called after each finished or failed task.
    """

    total_runs: int
    total_experiments: int
    done_runs: int
    done_experiments: int
    jobs: int
    log: Log
    on_change: Callable[[], None] | None = None
    start: float = field(default_factory=time.perf_counter)
    _pending: dict[str, Task] = field(default_factory=dict)
    _running: dict[str, tuple[Task, float]] = field(default_factory=dict)
    _seconds: dict[str, list[float]] = field(default_factory=lambda: {"run": [], "exp": []})

    def expect(self, tasks: Sequence[Task]) -> None:
        """Tasks that will start (for the time left)."""
        self._pending.update((t.label, t) for t in tasks)

    def started(self, task: Task) -> None:
        """``task`` started now."""
        self._pending.pop(task.label, None)
        self._running[task.label] = (task, time.perf_counter())

    def _stop(self, task: Task) -> float:
        self._pending.pop(task.label, None)
        _, t0 = self._running.pop(task.label, (task, time.perf_counter()))
        return time.perf_counter() - t0

    def finished(self, task: Task, outcome: TaskOutcome | None = None) -> None:
        """``task`` finished; ``outcome`` says what it did."""
        seconds = self._stop(task)
        kind = "exp" if task.kind == "experiment" else "run"
        self._seconds[kind].append(seconds)
        if kind == "run":
            self.done_runs += 1
        else:
            self.done_experiments += 1
        did = outcome.did if outcome else "finished"
        self.log(f"{task.label}: {did} in {fmt_duration(seconds)}; {self._status()}")
        if self.on_change is not None:
            self.on_change()

    def failed(self, failure: Failure) -> None:
        """``failure.task`` failed; the report will leave it out."""
        self._stop(failure.task)
        where = f"; log: {failure.log_file}" if failure.log_file else ""
        self.log(
            f"{failure.label}: failed ({failure.reason}){where}; the report leaves it out; "
            f"{self._status()}"
        )
        if self.on_change is not None:
            self.on_change()

    def deferred(self, task: Task) -> None:
        """``task``'s lock is held by another process; this study waits for it at the end."""
        self._stop(task)
        self.log(f"{task.label}: another process is doing it; this study waits for it at the end")

    def _estimate(self, task: Task) -> float | None:
        kind = "exp" if task.kind == "experiment" else "run"
        own = self._seconds[kind]
        every = self._seconds["run"] + self._seconds["exp"]
        chosen = own or every
        return sum(chosen) / len(chosen) if chosen else None

    def time_left(self) -> float | None:
        """Estimated seconds until the expected tasks are done, or ``None`` before any finished."""
        now = time.perf_counter()
        work = 0.0
        for task in self._pending.values():
            est = self._estimate(task)
            if est is None:
                return None
            work += est
        for task, t0 in self._running.values():
            est = self._estimate(task)
            if est is None:
                return None
            work += max(est - (now - t0), 0.0)
        return work / max(self.jobs, 1)

    def _status(self) -> str:
        counts = f"runs done {self.done_runs}/{self.total_runs}"
        if self.total_experiments:
            counts += f", experiments {self.done_experiments}/{self.total_experiments}"
        left = self.time_left()
        left_text = "time left unknown" if left is None else f"about {fmt_duration(left)} left"
        return f"{counts}, elapsed {fmt_duration(time.perf_counter() - self.start)}, {left_text}"


def last_line(path: Path) -> str | None:
    """The last non-empty line of a log (a traceback ends with the error), or ``None``."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else None
