"""How tasks run on this machine: how many at once, and the launchers that run them.

- :func:`resolve_parallelism`: jobs (tasks at once) and torch threads per task. On GPUs one job
  per GPU, each pinned to its device; on the CPU ``cores // threads_per_run`` jobs, the preset's
  measured best; ``--jobs`` and ``--threads`` override either.
- :func:`run_in_process`: one task after another in the study's own process (``--jobs 1``, the
  behaviour of a study before it had jobs).
- :func:`run_local`: each task in its own child process, at most ``jobs`` at once. A child that
  fails or is killed (even by SIGKILL) costs its own task only: the others go on, and the study ends
  naming it. The children fork from a ``multiprocessing`` fork server that imported torch, Lightning
  and the caller's task modules (``preload``) once, so a task starts without the imports a fresh
  interpreter would pay for (which would be a large share of a quick-preset run). A child sets,
  on GPUs, ``CUDA_VISIBLE_DEVICES`` to its one device before anything touches CUDA (its thread
  count is the task's, set by ``execute_task`` as in every launcher), keeps the memory it frees
  for reuse (``coordbias._util.memory``; in this process, ``--jobs 1``, the allocator is left
  as it is); its whole output goes to its task's ``task.log``.
- :func:`wait_for_others`: wait for tasks whose lock another process (a second study on the same
  folder) holds, and say which of them it left unfinished; :func:`run_rounds`: launch, wait for
  the others, do what they left.

Every launcher reports through ``coordbias.scheduler.progress`` (the progress line, ``Failure``;
both stay importable from here). The submitit launcher, with the same interface, is
``coordbias.scheduler.cluster``. A task is anything with the
:class:`~coordbias.scheduler.execute.Task` protocol: the scheduler knows nothing of the study or
the benchmark.
"""

from __future__ import annotations

import collections
import heapq
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from coordbias._util.errors import UserValueError, check_count
from coordbias._util.memory import keep_freed_memory
from coordbias.scheduler.execute import Task, execute_task
from coordbias.scheduler.progress import Failure, Log, Progress, fmt_duration, last_line

__all__ = [
    "Failure",
    "Parallelism",
    "Progress",
    "available_cores",
    "check_count",
    "cuda_devices",
    "fmt_duration",
    "makespan",
    "resolve_parallelism",
    "run_in_process",
    "run_local",
    "run_rounds",
    "wait_for_others",
]


class ThreadsSetting(Protocol):
    """What :func:`resolve_parallelism` reads of a named setting (a study preset, a benchmark
    scale): its name and its measured best torch threads per task (``None``: one at a time)."""

    @property
    def name(self) -> str: ...

    @property
    def threads_per_run(self) -> int | None: ...


# Seconds a child gets to end after SIGTERM (Ctrl-C, a failing study) before SIGKILL.
_TERMINATE_GRACE_S = 10.0


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask: ``taskset`` is respected)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - macOS, Windows


def cuda_devices(accelerator: str = "auto") -> tuple[str, ...]:
    """The CUDA devices a study may pin its jobs to (their ``CUDA_VISIBLE_DEVICES`` names).

    Empty when ``accelerator`` asks for the CPU (or MPS) or no CUDA device is visible. Devices
    already restricted by ``CUDA_VISIBLE_DEVICES`` keep their names, so a job pinned to the
    second visible device gets that device's own name.
    """
    if accelerator not in ("auto", "gpu", "cuda"):
        return ()
    import torch

    if not torch.cuda.is_available():
        return ()
    count = torch.cuda.device_count()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        names = [name.strip() for name in visible.split(",") if name.strip()]
        return tuple(names[:count])
    return tuple(str(i) for i in range(count))


@dataclass(frozen=True)
class Parallelism:
    """How many tasks run at once, and with how many torch threads each.

    Attributes:
        jobs: tasks at once (``1``: one after another in the study's own process).
        threads: torch intra-op threads per task; ``None``: the process's own (``--jobs 1``
            without ``--threads``, as before the study had jobs).
        devices: the CUDA device of each job slot (``CUDA_VISIBLE_DEVICES`` names); empty on the
            CPU and with one job.
        cores: the CPU cores available.
        why: how ``jobs`` was chosen, for the log.
    """

    jobs: int
    threads: int | None
    devices: tuple[str, ...]
    cores: int
    why: str

    def describe(self) -> str:
        """One line: jobs, threads, cores, devices and why."""
        import torch

        threads = self.threads if self.threads is not None else torch.get_num_threads()
        text = (
            f"{self.jobs} job{'s' * (self.jobs != 1)} x {threads} torch "
            f"thread{'s' * (threads != 1)} on {self.cores} core{'s' * (self.cores != 1)}"
        )
        if self.devices:
            text += f", one GPU each (CUDA devices {', '.join(self.devices)})"
        if self.jobs * threads > self.cores:
            text += " (more threads than cores: the runs will slow each other down)"
        return f"{text}; {self.why}"


def resolve_parallelism(
    preset: ThreadsSetting,
    *,
    jobs: int | None = None,
    threads: int | None = None,
    accelerator: str = "auto",
    cores: int | None = None,
    devices: Sequence[str] | None = None,
) -> Parallelism:
    """Jobs and threads per task for ``preset`` on this machine.

    - With CUDA devices (and ``accelerator`` auto, gpu or cuda): one job per device by default,
      each pinned to its device; more jobs than devices are refused.
    - On the CPU: ``cores // preset.threads_per_run`` jobs by default (the preset's measured
      best), or ``cores // threads`` when only ``threads`` is given; with more than one job each
      gets ``cores // jobs`` threads unless ``threads`` says otherwise.

    The thread count depends on the jobs and the cores, never on how many tasks are left, so
    a resumed study trains its runs with the same thread count (and so the same numbers) as an
    uninterrupted one.

    Args:
        preset: the named setting (a study preset, a benchmark scale).
        jobs: tasks at once; ``None``: the default above.
        threads: torch threads per task; ``None``: the default above.
        accelerator: the runs' ``accelerator`` field.
        cores: CPU cores (default :func:`available_cores`).
        devices: CUDA device names (default :func:`cuda_devices`).

    Raises:
        ValueError: ``jobs`` or ``threads`` not a positive int, or more jobs than GPUs.
    """
    check_count("jobs (--jobs)", jobs)
    check_count("threads (--threads)", threads)
    cores = available_cores() if cores is None else cores
    gpus = tuple(cuda_devices(accelerator) if devices is None else devices)
    if gpus:
        if jobs is None:
            jobs, why = len(gpus), f"one job per GPU ({len(gpus)} visible)"
        elif jobs > len(gpus):
            raise UserValueError(
                f"jobs={jobs} (--jobs) but this machine shows {len(gpus)} GPU(s): each job is "
                f"pinned to a GPU of its own; pass at most {len(gpus)}, or accelerator=cpu "
                "(--accelerator cpu) to run on the CPU"
            )
        else:
            why = "--jobs"
    elif jobs is None:
        per_run = threads or preset.threads_per_run
        if per_run:
            jobs = max(1, cores // per_run)
            why = (
                f"--threads {threads}: cores // threads jobs"
                if threads
                else f"the {preset.name} preset's measured best: {per_run} thread(s) per run, "
                "cores // threads_per_run jobs"
            )
        else:
            jobs, why = 1, f"the {preset.name} preset runs one run at a time"
    else:
        why = "--jobs"
    if threads is None and jobs > 1:
        threads = max(1, cores // jobs)
    return Parallelism(jobs, threads, gpus[:jobs] if jobs > 1 else (), cores, why)


def makespan(costs: Sequence[float], jobs: int) -> float:
    """Seconds to run ``costs`` in order on ``jobs`` slots, each task on the first free slot (as
    :func:`run_local` places them)."""
    if not costs:
        return 0.0
    slots = [0.0] * max(1, min(jobs, len(costs)))
    for cost in costs:
        heapq.heappush(slots, heapq.heappop(slots) + cost)
    return max(slots)


def run_in_process(
    tasks: Sequence[Task],
    progress: Progress,
    **options: Any,
) -> tuple[list[Failure], list[Task]]:
    """Run ``tasks`` one after another in this process.

    A run that raises stops the study (the exception propagates, its checkpoints stay on disk);
    an experiment (``task.kind == "experiment"``) that raises is reported and the others go on.
    ``options`` go to each task's ``execute`` (the study's ``train_fn``, say).

    Returns:
        ``(failures, deferred)``: the experiments that failed, and the tasks another process
        holds the lock of.
    """
    failures: list[Failure] = []
    deferred: list[Task] = []
    progress.expect(tasks)
    for task in tasks:
        progress.started(task)
        if task.kind == "experiment":
            try:
                outcome = execute_task(task, **options)
            except Exception as err:  # the runs are safe on disk: report it, go on
                text = f"{type(err).__name__}: {err}"
                if isinstance(err, ImportError):
                    text = f"not available ({err})"
                failures.append(Failure(task, text, None))
                progress.failed(failures[-1])
                continue
        else:
            outcome = execute_task(task, **options)
        if outcome.status == "locked":
            deferred.append(task)
            progress.deferred(task)
        else:
            progress.finished(task, outcome)
    return failures, deferred


def _child_main(task: Task, env: dict[str, str], conn: Any) -> None:
    """A child process of :func:`run_local`: pin, keep freed memory for reuse
    (:func:`~coordbias._util.memory.keep_freed_memory`: a training step's large activations are
    not mapped and zeroed again every step), send its output to the task's log, run."""
    os.environ.update(env)
    keep_freed_memory()
    if "CUDA_VISIBLE_DEVICES" in env:
        import torch

        if torch.cuda.is_initialized():  # the device list is fixed once CUDA starts
            raise RuntimeError("CUDA started before this job could be pinned to its GPU")
    task.log_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(task.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    conn.send(execute_task(task))
    conn.close()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _stop_all(processes: Sequence[Any]) -> None:
    """SIGTERM, then SIGKILL after a grace period, for every live child."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + _TERMINATE_GRACE_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()


class _Terminated(SystemExit):
    """SIGTERM to the study: stop the children, exit with 128 + 15."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated(128 + signal.SIGTERM)


def run_local(
    tasks: Sequence[Task],
    parallelism: Parallelism,
    progress: Progress,
    *,
    log: Log = print,
    preload: Sequence[str] = (),
) -> tuple[list[Failure], list[Task]]:
    """Run ``tasks`` in child processes, at most ``parallelism.jobs`` at once, in their order.

    ``preload`` names the modules the fork server imports once (the tasks' own and what they
    run), so that each child starts with them loaded.

    Each child is a process of its own: one that fails or is killed costs its task alone.
    Ctrl-C (or SIGTERM) stops the children (SIGTERM, then SIGKILL after 10 s) and re-raises.

    Returns:
        ``(failures, deferred)``: the tasks that failed (with the reason and their log), and the
        tasks another process holds the lock of.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*preload, "coordbias.scheduler.execute"])
    queue = collections.deque(tasks)
    slots = list(range(min(parallelism.jobs, len(queue))))
    running: dict[Any, tuple[Any, Any, Task, int]] = {}
    failures: list[Failure] = []
    deferred: list[Task] = []
    progress.expect(tasks)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        while queue or running:
            while queue and slots:
                task = queue.popleft()
                slot = slots.pop(0)
                env = {}  # the task's threads: execute_task sets them, in the child
                if parallelism.devices:
                    env["CUDA_VISIBLE_DEVICES"] = parallelism.devices[slot]
                reader, writer = context.Pipe(duplex=False)
                process = context.Process(
                    target=_child_main,
                    args=(task, env, writer),
                    name=f"coordbias study: {task.label}",
                )
                process.start()
                writer.close()
                running[process.sentinel] = (process, reader, task, slot)
                progress.started(task)
            for sentinel in multiprocessing.connection.wait(list(running), timeout=1.0):
                process, reader, task, slot = running.pop(sentinel)
                process.join()
                slots.append(slot)
                outcome = None
                try:
                    if reader.poll():
                        outcome = reader.recv()
                except (EOFError, OSError):
                    outcome = None
                reader.close()
                if process.exitcode == 0 and outcome is not None and outcome.status == "locked":
                    deferred.append(task)
                    progress.deferred(task)
                elif process.exitcode == 0 and outcome is not None and task.done:
                    progress.finished(task, outcome)
                else:
                    reason = _describe_exit(process.exitcode)
                    last = last_line(task.log_file)
                    if process.exitcode and process.exitcode > 0 and last:
                        reason += f": {last}"
                    elif process.exitcode == 0:
                        reason = "ended without finishing its task"
                    failure = Failure(task, reason, task.log_file)
                    failures.append(failure)
                    progress.failed(failure)
    except BaseException:
        log(f"stopping {len(running)} running task(s)")
        _stop_all([process for process, _, _, _ in running.values()])
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return failures, deferred


def wait_for_others(tasks: Sequence[Task], *, log: Log = print) -> list[Task]:
    """Wait until no other process holds the lock of any of ``tasks``.

    Returns:
        The tasks still unfinished on disk afterwards (their holder stopped before the end):
        they are this study's to do.
    """
    from filelock import FileLock

    for task in tasks:
        log(f"{task.label}: waiting for the other process working on it")
        lock = FileLock(str(task.lock_file))
        lock.acquire()
        lock.release()
    return [task for task in tasks if not task.done]


def run_rounds(
    tasks: list[Any], launch: Callable[[list[Any]], tuple[list[Failure], list[Any]]], log: Log
) -> list[Failure]:
    """Launch ``tasks``; then wait for those another process held, and do what it left."""
    failures: list[Failure] = []
    while tasks:
        failed, deferred = launch(tasks)
        failures += failed
        tasks = wait_for_others(deferred, log=log) if deferred else []
    return failures
