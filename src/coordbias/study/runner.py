"""``run_study``: plan the runs, train what is missing, evaluate transfer, write the report.

Layout of a study folder ``DIR``::

    DIR/runs/<variant>/seed<k>/   one training run (coordbias.training.train); its result.json,
                                  written last, means the run finished
    DIR/runs/<variant>/seed<k>/transfer.json   evaluation at the preset's transfer sizes
    DIR/runs/<variant>/seed<k>/task.log        what the study did there, and a child's output
    DIR/runs/<variant>/seed<k>.lock            held by whoever trains or evaluates the run
    DIR/experiments/<name>/       one open-question experiment; result.json written last
    DIR/experiments/<name>.lock   held by whoever runs it
    DIR/results.json, DIR/report.md, DIR/report.html, DIR/figures/
    DIR/study.lock                held while the report is written
    DIR/submitit/                 the job folders of --launcher submitit
    DIR/study_time.json           the study's wall time so far: each invocation's seconds and
                                  their sum (StudyTime); DIR/study_time.lock guards its updates

Every file is written atomically, finished runs are never redone, and the report is rebuilt from
what is on disk, so an interrupted study (killed, or stopped by a full disk) resumes by running the
same command again; a damaged record (a run's ``result.json``, ``config.yaml`` or
``transfer.json``, an experiment's ``result.json``, ``study_time.json``) is said in one line and
what it records is redone. The plan comes
from ``coordbias.study.plan.plan_study`` (``--dry-run``: ``coordbias.study.estimate``); the work is
a list of tasks (``coordbias.study.tasks``: a run with its transfer evaluation, or an experiment),
which the scheduler (``coordbias.scheduler.launch``) runs in this process (``jobs=1``) or in child
processes (``jobs > 1``), ``coordbias.scheduler.cluster`` through submitit. Two studies on one
folder share the work: each skips what the other holds the lock of, then waits for it before writing
its report.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from coordbias._util.errors import UserValueError, check_folder_destination, describe_os_error
from coordbias._util.files import read_json, write_json
from coordbias.scheduler.launch import (
    Parallelism,
    resolve_parallelism,
    run_in_process,
    run_local,
    run_rounds,
)
from coordbias.scheduler.progress import Failure, Log, Progress, fmt_duration
from coordbias.study.estimate import dry_run, estimate_run_s, probe_images_per_s
from coordbias.study.plan import StudyPlan, check_not_stale, plan_study
from coordbias.study.presets import StudyPreset
from coordbias.study.tasks import ExperimentTask, damaged_records, plan_tasks

# Planning and estimating live in coordbias.study.plan and coordbias.study.estimate; their
# public names stay importable from here, where they were first defined.
__all__ = [
    "LAUNCHERS",
    "TIME_FILE",
    "ExperimentsFailed",
    "NoSpaceLeft",
    "StudyFailed",
    "StudyPlan",
    "StudyTime",
    "dry_run",
    "estimate_run_s",
    "plan_study",
    "probe_images_per_s",
    "run_study",
]

#: What the fork server of ``run_local`` imports once, so that each child starts with it loaded.
PRELOAD = (
    "coordbias.study.tasks",
    "coordbias.study.transfer",
    "coordbias.study.experiments._common",
    "coordbias.training.run",
    "coordbias.training.module",
    "coordbias.training.metrics",
    "coordbias.training.figures",
    "lightning.pytorch",
)

#: The study's own time, summed over every invocation (a resumed study counts them all).
TIME_FILE = "study_time.json"
#: Seconds between two records of an invocation's time while it works (a kill loses at most this).
RECORD_EVERY_S = 5.0


def _cluster_options(cluster: Any) -> Any:
    """``cluster`` as a checked ``coordbias.scheduler.cluster.ClusterOptions``."""
    from coordbias.scheduler.cluster import ClusterOptions, require_submitit

    require_submitit()
    options = cluster if isinstance(cluster, ClusterOptions) else ClusterOptions(**(cluster or {}))
    options.validate()
    options.resolved_cluster()  # no SLURM here and none asked for: say so now
    return options


LAUNCHERS = ("local", "submitit")


def _launch_settings(
    plan: StudyPlan,
    *,
    jobs: int | None,
    threads: int | None,
    launcher: str,
    cluster: Any,
    train_fn: Callable[[Any], Any] | None,
) -> tuple[Parallelism, Any]:
    """``(parallelism, cluster options or None)`` of a study, checked before anything runs."""
    if launcher not in LAUNCHERS:
        raise UserValueError(f"launcher must be one of {', '.join(LAUNCHERS)}; got {launcher!r}")
    if launcher == "submitit":
        if jobs is not None:
            raise UserValueError(
                "jobs (--jobs) is for launcher 'local'; with submitit, array_parallelism "
                "(--array-parallelism) says how many jobs run at once"
            )
        if train_fn is not None:
            raise ValueError("train_fn replaces training in this process: use launcher 'local'")
        options = _cluster_options(cluster)
        return options.parallelism(threads), options
    if cluster:
        raise UserValueError("cluster options apply to launcher 'submitit' (--launcher submitit)")
    if train_fn is not None and jobs is None:
        jobs = 1  # a training function replaces training in this very process
    from coordbias.training.run import resolve_accelerator

    for name in sorted({run.config.accelerator for run in plan.runs}):
        resolve_accelerator(name)  # cuda or mps asked for on a machine without: say so now
    accelerator = plan.runs[0].config.accelerator if plan.runs else "auto"
    parallelism = resolve_parallelism(
        plan.preset, jobs=jobs, threads=threads, accelerator=accelerator
    )
    if train_fn is not None and parallelism.jobs > 1:
        raise ValueError(
            f"train_fn replaces training in this process, so it needs jobs=1; got jobs="
            f"{parallelism.jobs}"
        )
    return parallelism, None


def _pool_order(tasks: list[Any], parallel: bool) -> list[Any]:
    """With jobs at once, the experiments (the longest single tasks) go first, then the runs in
    plan order; one at a time, the runs go first as they always did."""
    if not parallel:
        return tasks
    return [t for t in tasks if isinstance(t, ExperimentTask)] + [
        t for t in tasks if not isinstance(t, ExperimentTask)
    ]


class StudyFailed(RuntimeError):
    """Some tasks did not finish; the report was written without them.

    Attributes:
        failures: the ``coordbias.scheduler.launch.Failure`` of each.
    """

    def __init__(self, message: str, failures: Sequence[Failure] = ()) -> None:
        super().__init__(message)
        self.failures = list(failures)


class ExperimentsFailed(StudyFailed):
    """Some open-question experiments failed (every run finished); the report was written
    without them."""


class NoSpaceLeft(StudyFailed):
    """The disk (or the quota) filled up: the study stopped at that write, with every finished
    run kept and no half-written file; once space is freed, the same call resumes it."""


def _raise_failures(failures: Sequence[Failure]) -> None:
    if not failures:
        return
    if all(isinstance(f.task, ExperimentTask) for f in failures):
        parts = [
            f"{f.task.name}: {f.reason}" + (f" (log: {f.log_file})" if f.log_file else "")
            for f in failures
        ]
        raise ExperimentsFailed(
            "the report was written without these experiments: "
            + "; ".join(parts)
            + ". Run the same command again to retry them (finished runs are kept).",
            failures,
        )
    raise StudyFailed(
        "these tasks did not finish: "
        + "; ".join(f.describe() for f in failures)
        + ". The report was written without them; run the same command again to resume them "
        "(finished runs are kept, an interrupted run continues from its last checkpoint).",
        failures,
    )


class StudyTime:
    """This invocation's share of ``TIME_FILE``, which sums the time of every invocation.

    ``TIME_FILE`` holds ``{"wall_time_s": total, "invocations": {key: seconds}}``: each
    invocation writes its own entry (its seconds so far) under a lock, atomically, when it starts,
    every ``every_s`` seconds while it works (a thread) and after each task, so that one killed
    at any point still counts up to its last record. The total is the sum of the entries on disk.
    A damaged file is said in one line and the sum starts again from the invocations that record
    again (this one, and any other still running on the folder); a file of an older version
    (``{"wall_time_s": s}`` alone) counts as one earlier invocation.

    Args:
        out_dir: the study folder.
        log: where the one line about a damaged file goes.
        every_s: seconds between two records while the study works.
    """

    def __init__(self, out_dir: Path, log: Log, every_s: float = RECORD_EVERY_S) -> None:
        self.path = out_dir / TIME_FILE
        self.log = log
        self.every_s = every_s
        self.key = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} pid {os.getpid()} {secrets.token_hex(3)}"
        self.start = time.perf_counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    @property
    def own_s(self) -> float:
        """Seconds this invocation has spent so far."""
        return time.perf_counter() - self.start

    def _read(self) -> dict[str, float]:
        if not self.path.is_file():
            return {}
        try:
            values = read_json(self.path)
            if not isinstance(values, dict):
                raise UserValueError(f"{str(self.path)!r} is damaged (not a mapping)")
            entries = values.get("invocations", {"earlier invocations": values.get("wall_time_s")})
            if not isinstance(entries, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf")
                for v in entries.values()
            ):
                raise UserValueError(f"{str(self.path)!r} is damaged (not seconds per invocation)")
        except UserValueError as error:
            if not self._warned:
                self._warned = True
                self.log(
                    f"warning: {error}: the study's time is summed again from the invocations "
                    "that record it from now on (the time of earlier ones is unknown)"
                )
            return {}
        return {str(k): float(v) for k, v in entries.items()}

    def record(self) -> float:
        """Write this invocation's seconds so far; return the study's total on disk."""
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path.with_suffix(".lock"))):
            entries = self._read()
            entries[self.key] = self.own_s
            total = float(sum(entries.values()))
            write_json(self.path, {"wall_time_s": total, "invocations": entries})
        return total

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            with contextlib.suppress(OSError):  # a full disk: the next record may succeed
                self.record()

    def __enter__(self) -> StudyTime:
        self.record()
        self._thread = threading.Thread(target=self._beat, name="study-time", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if kind is not None:  # stopped by an error: its time counts too (a kill's up to a record)
            with contextlib.suppress(OSError):
                self.record()


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning's per-run "GPU available" lines would drown the progress lines."""
    lightning_log = logging.getLogger("lightning.pytorch")
    level = lightning_log.level
    lightning_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        lightning_log.setLevel(level)


@contextlib.contextmanager
def _said_once(damaged: Mapping[Path, str]) -> Iterator[None]:
    """Leave out the training's own warning about a damaged record of a run that the study has
    already named (in this process), so that each damaged file is said in one line."""
    names = tuple(repr(str(path)) for path in damaged)

    def not_said(record: logging.LogRecord) -> bool:
        return not any(name in record.getMessage() for name in names)

    training_log = logging.getLogger("coordbias.training.run")
    training_log.addFilter(not_said)
    try:
        yield
    finally:
        training_log.removeFilter(not_said)


def run_study(
    preset: str | StudyPreset | StudyPlan = "quick",
    out_dir: str | Path = "runs/study",
    *,
    seeds: int | Sequence[int] | None = None,
    variants: Sequence[str] | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    experiments: Sequence[str] | None = None,
    jobs: int | None = None,
    threads: int | None = None,
    launcher: str = "local",
    cluster: Any = None,
    dry_run_only: bool = False,
    probe: bool = True,
    log: Log = print,
    train_fn: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Run a study (or resume it) and write ``report.md``, ``report.html``, ``results.json``.

    Args:
        preset: ``quick`` (default), ``seed``, ``full``, ``test`` or a ``StudyPreset``; or the
            :class:`~coordbias.study.plan.StudyPlan` that :func:`plan_study` made (then
            ``out_dir``, ``seeds``, ``variants``, ``overrides`` and ``experiments`` are the
            plan's, and not given).
        out_dir: the study folder; runs go to ``out_dir/runs/<variant>/seed<k>``.
        seeds: a count or a list of seeds; ``None``: the preset's count.
        variants: variant names; ``None``: the preset's.
        overrides: ``TrainConfig`` fields for every run (runtime ones such as ``devices``,
            ``workers``, ``accelerator`` included).
        experiments: open-question experiments; ``None``: the preset's, ``[]``: none.
        jobs: tasks at once with launcher ``local``: ``1`` runs them one after another in this
            process; more run each in a child process of its own, on GPUs one per device.
            ``None``: one per GPU, else the preset's measured best on this CPU
            (``coordbias.scheduler.launch.resolve_parallelism``).
        threads: torch threads per task; ``None``: cores // jobs (with one job, this process's
            own count).
        launcher: ``local`` or ``submitit`` (a job array; ``coordbias.scheduler.cluster``).
        cluster: with ``submitit``, a ``ClusterOptions`` or a dict of its fields (partition,
            gpus_per_run, time_min, cpus_per_run, array_parallelism, log_dir, slurm, cluster).
        dry_run_only: list the runs, the jobs and the estimated cost, write nothing, return the
            listing.
        probe: with ``dry_run_only``, measure throughput instead of using the preset figure.
        log: receives the progress lines.
        train_fn: the training function (default ``coordbias.training.train``); it runs in this
            process, so it needs ``jobs=1`` (the default when it is given).

    Returns:
        The ``results.json`` dict (or the dry-run listing).

    Raises:
        ValueError: a bad setting (nothing was written).
        StudyFailed: some tasks failed or were killed; the report was written without them and
            the same call resumes them. ``ExperimentsFailed`` when only experiments failed;
            ``NoSpaceLeft`` when the disk filled up (the study stopped at that write; the same
            call resumes it once space is freed).
    """

    if isinstance(preset, StudyPlan):
        given = dict(seeds=seeds, variants=variants, overrides=overrides, experiments=experiments)
        named = [name for name, value in given.items() if value is not None]
        if named:
            raise ValueError(f"run_study(plan) takes its {', '.join(named)} from the plan")
        plan = preset
    else:
        plan = plan_study(
            preset,
            out_dir,
            seeds=seeds,
            variants=variants,
            overrides=overrides,
            experiments=experiments,
        )
    parallelism, options = _launch_settings(
        plan, jobs=jobs, threads=threads, launcher=launcher, cluster=cluster, train_fn=train_fn
    )
    check_folder_destination(plan.out_dir, "--out")
    if dry_run_only:
        return dry_run(plan, probe=probe, log=log, parallelism=parallelism, cluster=options)
    for run in plan.runs:
        check_not_stale(run)
    try:
        with StudyTime(plan.out_dir, log) as clock:
            return _carry_out(plan, parallelism, options, launcher, clock, log, train_fn)
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise NoSpaceLeft(
            f"{describe_os_error(error)}: the study stopped there, keeping every finished run "
            "and no half-written file; free some space and run the same command again to "
            "resume (an interrupted run continues from its last whole checkpoint)"
        ) from error


def _carry_out(
    plan: StudyPlan,
    parallelism: Parallelism,
    options: Any,
    launcher: str,
    clock: StudyTime,
    log: Log,
    train_fn: Callable[[Any], Any] | None,
) -> dict[str, Any]:
    """Do the unfinished tasks of ``plan``, then write the report (``run_study``'s work)."""
    import torch
    from filelock import FileLock

    from coordbias.study.report import write_report

    damaged = damaged_records(plan)
    for line in damaged.values():
        log(f"warning: {line}")
    tasks, alone = plan_tasks(plan, parallelism.threads)
    parallel = options is not None or parallelism.jobs > 1
    tasks = _pool_order(tasks, parallel)
    run_tasks = sum(1 for t in tasks if not isinstance(t, ExperimentTask))
    exp_tasks = len(tasks) + len(alone) - run_tasks

    total = len(plan.runs)
    log(
        f"study {plan.preset.name!r} into {plan.out_dir}: {total} runs, "
        f"{total - run_tasks} done earlier, {run_tasks} to run; experiments to run: "
        f"{', '.join(t.name for t in [*tasks, *alone] if isinstance(t, ExperimentTask)) or 'none'}"
    )
    log(f"launcher {launcher}: " + (parallelism.why if options else parallelism.describe()))
    progress = Progress(
        total_runs=total,
        total_experiments=len(plan.experiments),
        done_runs=total - run_tasks,
        done_experiments=len(plan.experiments) - exp_tasks,
        jobs=min(parallelism.jobs, max(len(tasks), 1)),
        log=log,
        # The time so far, after every task (and every few seconds: StudyTime).
        on_change=clock.record,
    )

    def in_process(batch: list[Any]) -> tuple[list[Failure], list[Any]]:
        return run_in_process(batch, progress, train_fn=train_fn)

    def pool(batch: list[Any]) -> tuple[list[Failure], list[Any]]:
        if options is not None:
            return _submit(batch, options, parallelism.threads, progress, plan.out_dir, log)
        if parallelism.jobs == 1:
            return in_process(batch)
        return run_local(batch, parallelism, progress, log=log, preload=PRELOAD)

    def one_alone(batch: list[Any]) -> tuple[list[Failure], list[Any]]:
        progress.jobs = 1
        if options is not None:  # alone on a node of its own
            return _submit(batch, options, parallelism.threads, progress, plan.out_dir, log)
        return in_process(batch)

    with _quiet_lightning(), _said_once(damaged):
        failures = run_rounds(tasks, pool, log)
        failures += run_rounds(alone, one_alone, log)
    launch = {
        "launcher": launcher,
        "jobs": parallelism.jobs,
        "threads": parallelism.threads or torch.get_num_threads(),
    }
    with FileLock(str(plan.out_dir / "study.lock")):
        results = write_report(plan, wall_time_s=clock.record(), launch=launch)
        clock.record()
    missing = results["missing_runs"]
    complete = f"runs not finished: {', '.join(missing)}" if missing else "every run finished"
    log(
        f"report written: {plan.out_dir / 'report.md'}, {plan.out_dir / 'report.html'}, "
        f"{plan.out_dir / 'results.json'} ({complete}; elapsed {fmt_duration(clock.own_s)})"
    )
    _raise_failures(failures)
    return results


def _submit(
    batch: list[Any], options: Any, threads: int | None, progress: Progress, out: Path, log: Log
) -> tuple[list[Failure], list[Any]]:
    from coordbias.scheduler.cluster import run_submitit

    return run_submitit(batch, options, options.threads(threads), progress, study_dir=out, log=log)
