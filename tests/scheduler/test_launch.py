"""The scheduler on this machine: jobs and threads, executing a task under its lock, the
progress line. Its tasks here are small stand-ins: the scheduler knows tasks by their protocol."""

import platform
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from filelock import FileLock

from coordbias.scheduler.execute import TaskFiles, execute_task
from coordbias.scheduler.launch import (
    Parallelism,
    makespan,
    resolve_parallelism,
    run_in_process,
    run_local,
)
from coordbias.scheduler.progress import Failure, Progress


@dataclass(frozen=True)
class Setting:
    """A named setting with its measured threads per task (a study preset, a benchmark scale)."""

    name: str = "quick"
    threads_per_run: int | None = 1


QUICK = Setting()


@dataclass(frozen=True)
class Job(TaskFiles):
    """A task that writes ``done`` into its folder, and records the options it was given."""

    name: str
    root: Path
    threads: int | None = None
    kind: ClassVar[str] = "run"

    @property
    def label(self) -> str:
        return f"{self.name}/seed0"

    @property
    def folder(self) -> Path:
        return self.root / self.name

    @property
    def done(self) -> bool:
        return (self.folder / "done").is_file()

    def execute(self, log, **options):
        if self.done:
            return "finished earlier"
        log(f"running {self.label} with {sorted(options)}")
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "done").write_text(repr(options.get("value")))
        return "ran"


@dataclass(frozen=True)
class Side(Job):
    """A task counted as an experiment: its failure in this process does not stop the others."""

    kind: ClassVar[str] = "experiment"

    def execute(self, log, **options):
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"cores": 2}, (2, 1)),  # the quick preset's measured 1 thread per run
        ({"cores": 1}, (1, None)),  # one job keeps this process's own threads
        ({"cores": 8, "jobs": 2}, (2, 4)),  # the cores split between the jobs
        ({"cores": 8, "jobs": 1}, (1, None)),  # --jobs 1: as before jobs existed
        ({"cores": 8, "jobs": 1, "threads": 3}, (1, 3)),
        ({"cores": 8, "threads": 2}, (4, 2)),  # --threads alone: cores // threads jobs
        ({"cores": 2, "jobs": 4}, (4, 1)),  # oversubscribed, but asked for
    ],
)
def test_jobs_and_threads_on_a_cpu(kwargs, expected):
    got = resolve_parallelism(QUICK, devices=(), **kwargs)
    assert (got.jobs, got.threads) == expected
    assert got.devices == ()


def test_a_preset_without_a_measured_thread_count_runs_one_at_a_time():
    unmeasured = Setting(threads_per_run=None)
    assert resolve_parallelism(unmeasured, cores=16, devices=()).jobs == 1


def test_one_job_per_gpu_each_pinned():
    got = resolve_parallelism(QUICK, cores=16, devices=("2", "5"))
    assert (got.jobs, got.threads, got.devices) == (2, 8, ("2", "5"))
    assert "one GPU each (CUDA devices 2, 5)" in got.describe()
    one = resolve_parallelism(QUICK, cores=16, devices=("2", "5"), jobs=1)
    assert (one.jobs, one.devices) == (1, ())  # in this process, Lightning picks the devices
    with pytest.raises(ValueError, match=r"jobs=3 .* 2 GPU\(s\)"):
        resolve_parallelism(QUICK, cores=16, devices=("2", "5"), jobs=3)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_jobs_or_threads_are_refused(bad):
    with pytest.raises(ValueError, match=r"jobs \(--jobs\) must be a positive int"):
        resolve_parallelism(QUICK, jobs=bad)
    with pytest.raises(ValueError, match=r"threads \(--threads\) must be a positive int"):
        resolve_parallelism(QUICK, threads=bad)


def test_describe_warns_of_more_threads_than_cores():
    assert "more threads than cores" in Parallelism(4, 1, (), 2, "--jobs").describe()
    assert "more threads than cores" not in Parallelism(2, 1, (), 2, "--jobs").describe()


def test_progress_counts_runs_and_estimates_the_time_left():
    lines = []
    runs = [Job(f"r{i}", Path(".")) for i in range(4)]
    counts = {"total_runs": 6, "total_experiments": 0, "done_runs": 2, "done_experiments": 0}
    progress = Progress(**counts, jobs=2, log=lines.append)
    progress.expect(runs)
    assert progress.time_left() is None
    progress.started(runs[0])
    progress.started(runs[1])
    time.sleep(0.05)
    progress.finished(runs[0])
    assert re.search(
        r"r0/seed0: finished in 0m00s; runs done 3/6, elapsed 0m\d\ds, about", lines[0]
    )
    # One finished in ~0.05 s: two waiting and one running, on 2 jobs: about 0.05-0.08 s left.
    assert 0.04 < progress.time_left() < 0.2
    progress.failed(Failure(runs[1], "killed by SIGKILL", Path("x/task.log")))
    assert "r1/seed0: failed (killed by SIGKILL); log: x/task.log;" in lines[1]
    assert "runs done 3/6" in lines[1]


def test_a_task_runs_under_its_lock_with_its_threads_and_the_callers_options(tmp_path):
    import torch

    before = torch.get_num_threads()
    task = Job("a", tmp_path, threads=1)
    outcome = execute_task(task, value=7)
    assert (outcome.status, outcome.did, outcome.threads) == ("done", "ran", 1)
    assert (task.folder / "done").read_text() == "7"
    assert "running a/seed0 with ['value']" in task.log_file.read_text()
    assert task.lock_file == tmp_path / "a.lock"
    assert execute_task(task).did == "finished earlier"
    assert torch.get_num_threads() == before  # the caller's count is back
    other = Job("b", tmp_path)
    other.lock_file.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(other.lock_file)):
        locked = execute_task(other)
    assert (locked.status, locked.did) == ("locked", "locked by another process")
    assert not other.done


@dataclass(frozen=True)
class EnvJob(Job):
    """A Job that writes the thread count a process it starts would read."""

    def execute(self, log, **options):
        import os

        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "done").write_text(os.environ.get("OMP_NUM_THREADS", "unset"))
        return "ran"


def test_a_tasks_threads_reach_what_it_starts_and_are_taken_back(tmp_path, monkeypatch):
    # execute_task is the one place a task's thread count applies, in every launcher: torch's
    # count and, for anything the task starts, OMP_NUM_THREADS / MKL_NUM_THREADS.
    import os

    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    task = EnvJob("a", tmp_path, threads=2)
    assert execute_task(task).threads == 2
    assert (task.folder / "done").read_text() == "2"
    assert os.environ["OMP_NUM_THREADS"] == "7"
    untouched = EnvJob("b", tmp_path)  # threads None: the process's own, unchanged
    execute_task(untouched)
    assert (untouched.folder / "done").read_text() == "7"


def test_in_process_an_experiment_fails_alone_and_a_run_stops_the_rest(tmp_path):
    lines = []
    progress = Progress(2, 1, 0, 0, jobs=1, log=lines.append)
    failures, deferred = run_in_process(
        [Side("s", tmp_path), Job("a", tmp_path)], progress, value=1
    )
    assert [f.label for f in failures] == ["s/seed0"] and deferred == []
    assert "RuntimeError: boom" in failures[0].reason
    assert Job("a", tmp_path).done

    class Broken(Job):
        def execute(self, log, **options):
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        run_in_process([Broken("x", tmp_path), Job("c", tmp_path)], progress)
    assert not Job("c", tmp_path).done


def test_makespan_places_each_task_on_the_first_free_job():
    assert makespan([], 2) == 0.0
    assert makespan([3, 3, 3, 3], 1) == 12
    assert makespan([3, 3, 3, 3], 2) == 6
    assert makespan([5, 1, 1, 1], 2) == 5
    assert makespan([1, 1], 8) == 1


@dataclass(frozen=True)
class FaultsJob(Job):
    """A Job that writes the page faults of a warmed-up allocation pattern in its process."""

    def execute(self, log, **options):
        from tests._util.allocations import faults_of_reused_blocks

        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "done").write_text(str(faults_of_reused_blocks()))
        return "ran"


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc",
    reason="the allocator settings are glibc's",
)
def test_a_child_process_keeps_the_memory_it_frees_for_reuse(tmp_path):
    # A task's child reuses freed blocks instead of mapping (and faulting) them again: a
    # training step's activations are allocated and freed every step. Mapped afresh, the
    # pattern faults 5 x 12,288 pages (tests/_util/test_memory.py compares the two).
    task = FaultsJob("a", tmp_path, threads=1)
    progress = Progress(1, 0, 0, 0, jobs=1, log=lambda line: None)
    failures, _ = run_local([task], Parallelism(1, 1, (), 2, "test"), progress)
    assert failures == []
    assert int((task.folder / "done").read_text()) < 12_288
