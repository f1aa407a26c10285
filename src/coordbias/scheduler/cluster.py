"""``--launcher submitit``: tasks as a job array through submitit.

submitit (the optional extra ``coordbias[cluster]``) pickles each task with the function that does
it, submits them as one SLURM job array (``sbatch --array=0-N%P``) and gives back job handles; the
study waits for them, prints the same progress line as on one machine, and writes the report itself
once they are done. Each job runs :func:`coordbias.scheduler.execute.execute_task`, the function
every launcher calls, so the run folders, locks and logs are those of a local study: a second call
on the same folder, after a node failure or a time limit, submits only what is unfinished on disk,
and a run resumes from its last checkpoint. A job that reaches its time limit is requeued by
submitit (the task is ``Checkpointable``) and resumes the same way.

The study folder must be on a file system that the nodes share with the machine that submits
(the usual home or project folder); the locks use ``flock``, which Linux NFS clients provide.

``cluster="local"`` runs the same jobs as subprocesses of this machine through submitit's
``LocalExecutor`` (the same pickling path as SLURM, every job at once); the tests use it.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coordbias._util.errors import UserValueError, check_count
from coordbias._util.memory import keep_freed_memory
from coordbias.scheduler.execute import Task, TaskOutcome, execute_task
from coordbias.scheduler.launch import Parallelism
from coordbias.scheduler.progress import Failure, Log, Progress, last_line

__all__ = ["CLUSTERS", "ClusterOptions", "make_executor", "require_submitit", "run_submitit"]

#: submitit's executors the study accepts: ``slurm``, or ``local`` (subprocesses, for trying it).
CLUSTERS = ("slurm", "local")
# SLURM parameters the study sets itself (through its own flags).
_OWN_SLURM = ("partition", "array_parallelism", "setup", "time", "cpus_per_task", "gpus_per_node")


@dataclass(frozen=True)
class ClusterOptions:
    """The submitit launcher's settings.

    Attributes:
        cluster: ``None`` (submitit picks: SLURM where ``sbatch`` exists), ``"slurm"`` or
            ``"local"``.
        partition: the SLURM partition (``None``: the cluster's default).
        gpus_per_run: GPUs per job, 0 or 1 (a run of this study fits one GPU).
        time_min: time limit per job in minutes; a job that reaches it is requeued and resumes.
        cpus_per_run: CPUs per job; ``None``: the torch threads per run (default 1).
        array_parallelism: most jobs of the array running at once.
        log_dir: submitit's folder (job scripts, pickles, stdout/stderr); ``None``:
            ``<study>/submitit``.
        slurm: more SLURM parameters by submitit's names, e.g. ``{"account": "proj",
            "qos": "normal", "mem": "8G"}``.
        poll_s: seconds between looks at the jobs; ``None``: 1 locally, 30 on SLURM.
    """

    cluster: str | None = None
    partition: str | None = None
    gpus_per_run: int = 0
    time_min: int = 120
    cpus_per_run: int | None = None
    array_parallelism: int = 64
    log_dir: str | Path | None = None
    slurm: Mapping[str, Any] = field(default_factory=dict)
    poll_s: float | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` naming a setting that is out of range."""
        if self.cluster is not None and self.cluster not in CLUSTERS:
            raise UserValueError(
                f"cluster must be one of {', '.join(CLUSTERS)}; got {self.cluster!r}"
            )
        if self.gpus_per_run not in (0, 1) or isinstance(self.gpus_per_run, bool):
            raise UserValueError(
                f"gpus_per_run (--gpus-per-run) must be 0 or 1: a run of this study fits one GPU; "
                f"got {self.gpus_per_run!r}"
            )
        for name in ("time_min", "array_parallelism", "cpus_per_run"):
            value = getattr(self, name)
            if value is None and name == "cpus_per_run":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                flag = "--" + name.replace("_", "-")
                raise UserValueError(f"{name} ({flag}) must be a positive int; got {value!r}")
        if self.poll_s is not None and not self.poll_s > 0:
            raise UserValueError(f"poll_s must be > 0; got {self.poll_s!r}")
        own = sorted(set(self.slurm) & set(_OWN_SLURM))
        if own:
            raise UserValueError(
                f"SLURM parameter(s) {', '.join(own)} have flags of their own (--partition, "
                "--array-parallelism, --time-min, --cpus-per-run, --gpus-per-run); use those"
            )

    def resolved_cluster(self) -> str:
        """``cluster``, or what submitit finds here (``slurm`` where ``sbatch`` exists).

        Raises:
            ValueError: ``cluster`` is ``None`` and there is no SLURM here (submitit would fall
                back to running every job at once on this machine).
        """
        if self.cluster is not None:
            return self.cluster
        require_submitit()
        import submitit

        found = submitit.AutoExecutor.which()
        if found != "slurm":
            raise UserValueError(
                f"submitit finds no SLURM here (no sbatch; it would use {found!r}): pass "
                "--cluster local to run the jobs as subprocesses of this machine, all at once, "
                "or use --launcher local"
            )
        return found

    def threads(self, threads: int | None) -> int:
        """Torch threads per job: ``threads``, else ``cpus_per_run``, else 1."""
        return threads or self.cpus_per_run or 1

    def parallelism(self, threads: int | None = None) -> Parallelism:
        """Jobs at once and threads per job of the array (the counterpart of the local
        launcher's ``resolve_parallelism``: ``threads`` is checked here, once).

        Raises:
            UserValueError: ``threads`` not a positive int.
        """
        check_count("threads (--threads)", threads)
        per_job = self.threads(threads)
        why = (
            f"submitit ({self.resolved_cluster()}): at most {self.array_parallelism} jobs "
            f"at once, {self.cpus_per_run or per_job} CPU(s) and {self.gpus_per_run} "
            f"GPU(s) each, {self.time_min} min limit"
            + (f", partition {self.partition}" if self.partition else "")
        )
        return Parallelism(self.array_parallelism, per_job, (), self.cpus_per_run or per_job, why)


def require_submitit() -> None:
    """Raise ``ValueError`` saying how to install submitit when it is missing."""
    if importlib.util.find_spec("submitit") is None:
        raise UserValueError(
            "launcher 'submitit' needs submitit, which is not installed; install the cluster "
            "extra: pip install 'coordbias[cluster]'"
        )


if importlib.util.find_spec("submitit") is not None:
    from submitit.helpers import Checkpointable as _Requeueable
else:  # this module stays importable (its options, the docs) without the cluster extra
    _Requeueable = object


class _TaskJob(_Requeueable):
    """What each job runs. ``Checkpointable``: at its time limit submitit requeues the job with
    the same task, which then resumes from the run's last checkpoint. A job is a process of its
    own, so it keeps the memory it frees for reuse, as ``run_local``'s children do."""

    def __call__(self, task: Task) -> TaskOutcome:
        keep_freed_memory()
        return execute_task(task)


def make_executor(options: ClusterOptions, threads: int, study_dir: Path) -> Any:
    """The ``submitit.AutoExecutor`` of ``options`` (its files go to ``log_dir``)."""
    require_submitit()
    import submitit

    log_dir = Path(options.log_dir) if options.log_dir is not None else study_dir / "submitit"
    executor = submitit.AutoExecutor(folder=log_dir, cluster=options.resolved_cluster())
    exports = [f"export OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads}"]
    params: dict[str, Any] = {
        "name": "coordbias-study",
        "timeout_min": options.time_min,
        "cpus_per_task": options.cpus_per_run or threads,
        "gpus_per_node": options.gpus_per_run,
        "nodes": 1,
        "tasks_per_node": 1,
        "slurm_array_parallelism": options.array_parallelism,
        "slurm_setup": exports,
        "local_setup": exports,
    }
    if options.partition:
        params["slurm_partition"] = options.partition
    params.update({f"slurm_{key}": value for key, value in options.slurm.items()})
    try:
        executor.update_parameters(**params)
    except (NameError, ValueError) as err:  # submitit's message lists what it accepts
        raise UserValueError(f"submitit refused the job parameters: {err}") from None
    return executor


def run_submitit(
    tasks: Sequence[Task],
    options: ClusterOptions,
    threads: int,
    progress: Progress,
    *,
    study_dir: Path,
    log: Log = print,
) -> tuple[list[Failure], list[Task]]:
    """Submit ``tasks`` as one job array, wait for every job, report each as it ends.

    Ctrl-C cancels the jobs that have not ended and re-raises; the next call resubmits what is
    unfinished on disk.

    Returns:
        ``(failures, deferred)`` as :func:`coordbias.scheduler.launch.run_local`.
    """
    executor = make_executor(options, threads, study_dir)
    jobs = executor.map_array(_TaskJob(), list(tasks))
    first = jobs[0].job_id.split("_")[0] if jobs else "-"
    log(
        f"submitted {len(jobs)} job(s) through submitit ({executor.cluster}, job {first}); "
        f"their logs: {executor.folder}"
    )
    progress.expect(tasks)
    for task in tasks:
        progress.started(task)
    poll_s = options.poll_s or (30.0 if executor.cluster == "slurm" else 1.0)
    waiting = list(zip(jobs, tasks))
    failures: list[Failure] = []
    deferred: list[Task] = []
    try:
        while waiting:
            still = []
            for job, task in waiting:
                if not job.done():
                    still.append((job, task))
                    continue
                try:
                    outcome = job.result()
                except Exception as err:  # the job failed or was killed: its stderr says why
                    last = last_line(Path(job.paths.stderr))
                    reason = f"job {job.job_id} {job.state}: {last or type(err).__name__}"
                    failures.append(Failure(task, reason, Path(job.paths.stderr)))
                    progress.failed(failures[-1])
                    continue
                if outcome.status == "locked":
                    deferred.append(task)
                    progress.deferred(task)
                elif task.done:
                    progress.finished(task, outcome)
                else:
                    failure = Failure(task, f"job {job.job_id} ended unfinished", task.log_file)
                    failures.append(failure)
                    progress.failed(failure)
            waiting = still
            if waiting:
                time.sleep(poll_s)
    except BaseException:
        log(f"cancelling {len(waiting)} job(s) that have not ended")
        for job, _ in waiting:
            job.cancel(check=False)
        raise
    return failures, deferred
