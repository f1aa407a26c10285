"""Planning the parallel work without running it: jobs and threads, the tasks and their order,
locks, the progress line, the dry run's estimate, and how failures are reported."""

import re
import time
from pathlib import Path

import pytest
from filelock import FileLock

from coordbias.study import plan_study, run_study
from coordbias.study.estimate import makespan
from coordbias.study.launch import Parallelism, resolve_parallelism
from coordbias.study.presets import get_preset
from coordbias.study.progress import Failure, Progress
from coordbias.study.runner import (
    ExperimentsFailed,
    StudyFailed,
    _pool_order,
    _raise_failures,
    dry_run,
)
from coordbias.study.tasks import ExperimentTask, RunTask, execute_task, plan_tasks

QUICK, TEST = get_preset("quick"), get_preset("test")


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
    unmeasured = get_preset("quick").__class__(**{**QUICK.__dict__, "threads_per_run": None})
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


def test_the_tasks_come_from_disk_and_speed_runs_alone(tmp_path):
    plan = plan_study("quick", tmp_path, seeds=1, variants=["vanilla", "coordbias"])
    tasks, alone = plan_tasks(plan, threads=1)
    assert [t.label for t in tasks] == [
        "vanilla/seed0",
        "coordbias/seed0",
        "experiment bn_gradients",
        "experiment notsoclevr",
    ]
    assert [t.label for t in alone] == ["experiment speed"]
    assert all(t.threads == 1 for t in tasks + alone)
    assert [t.label for t in _pool_order(tasks, parallel=True)][:2] == [
        "experiment bn_gradients",
        "experiment notsoclevr",
    ]
    assert _pool_order(tasks, parallel=False) == tasks
    # A finished experiment, and a finished run that lacks its transfer evaluation.
    (tmp_path / "experiments" / "notsoclevr").mkdir(parents=True)
    (tmp_path / "experiments" / "notsoclevr" / "result.json").write_text("{}")
    run_dir = tmp_path / "runs" / "vanilla" / "seed0"
    run_dir.mkdir(parents=True)
    (run_dir / "result.json").write_text("{}")
    tasks, _ = plan_tasks(plan)
    assert "experiment notsoclevr" not in [t.label for t in tasks]
    assert "vanilla/seed0" in [t.label for t in tasks], "its transfer is still to do"
    (run_dir / "transfer.json").write_text('{"96": {"val_size": 100}, "128": {"val_size": 100}}')
    assert "vanilla/seed0" not in [t.label for t in plan_tasks(plan)[0]]


def test_a_task_whose_lock_is_held_elsewhere_is_left_alone(tmp_path):
    plan = plan_study("test", tmp_path, seeds=1, variants=["vanilla"])
    task = plan_tasks(plan)[0][0]
    assert isinstance(task, RunTask) and task.lock_file == tmp_path / "runs/vanilla/seed0.lock"
    task.lock_file.parent.mkdir(parents=True)
    with FileLock(str(task.lock_file)):
        outcome = execute_task(task, train_fn=lambda c: pytest.fail("must not train"))
    assert (outcome.status, outcome.did) == ("locked", "locked by another process")
    assert not task.folder.exists()


def test_an_experiment_done_on_disk_is_not_run_again(tmp_path):
    task = ExperimentTask("speed", tmp_path)
    task.folder.mkdir(parents=True)
    (task.folder / "result.json").write_text("{}")
    outcome = execute_task(task)
    assert (outcome.status, outcome.did) == ("done", "finished earlier")


def test_progress_counts_runs_and_estimates_the_time_left():
    lines = []
    runs = [RunTask(_spec(i)) for i in range(4)]
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


def _spec(i):
    from coordbias.study.plan import RunSpec

    return RunSpec(f"r{i}", 0, Path(f"r{i}/seed0"), None)


def test_makespan_places_each_task_on_the_first_free_job():
    assert makespan([], 2) == 0.0
    assert makespan([3, 3, 3, 3], 1) == 12
    assert makespan([3, 3, 3, 3], 2) == 6
    assert makespan([5, 1, 1, 1], 2) == 5
    assert makespan([1, 1], 8) == 1


def test_the_dry_run_estimate_divides_by_the_jobs(tmp_path):
    plan = plan_study("test", tmp_path)
    quiet = {"probe": False, "log": lambda line: None}
    one = dry_run(plan, parallelism=Parallelism(1, None, (), 2, "--jobs"), **quiet)
    lines = []
    two = dry_run(
        plan, parallelism=Parallelism(2, 1, (), 2, "--jobs"), probe=False, log=lines.append
    )
    assert two["estimated_s"] == pytest.approx(one["estimated_s"] / 2)
    assert (two["jobs"], two["threads"], two["launcher"]) == (2, 1, "local")
    assert any("2 jobs x 1 torch thread on 2 cores" in line for line in lines)
    assert any("4 runs up to 2 at once" in line for line in lines)
    # Two one-thread jobs on one core: each run's images at half the speed (the fixed 3 s of
    # Lightning per run aside).
    crowded = dry_run(plan, parallelism=Parallelism(2, 1, (), 1, "--jobs"), **quiet)
    alone_s, crowded_s = one["runs"][0]["estimated_s"], crowded["runs"][0]["estimated_s"]
    assert crowded_s - 3.0 == pytest.approx(2 * (alone_s - 3.0))
    assert crowded["estimated_s"] == pytest.approx(2 * crowded_s)
    assert not tmp_path.joinpath("runs").exists()


def test_dry_run_through_run_study_shows_the_jobs(tmp_path):
    lines = []
    listing = run_study(
        "test", tmp_path / "s", jobs=2, threads=1, dry_run_only=True, probe=False, log=lines.append
    )
    assert listing["jobs"] == 2 and not (tmp_path / "s").exists()
    assert any(line.startswith("launcher local: 2 jobs x 1 torch thread") for line in lines)


def test_train_fn_needs_the_study_process(tmp_path):
    with pytest.raises(ValueError, match="needs jobs=1"):
        run_study("test", tmp_path, jobs=2, train_fn=lambda c: None, log=lambda line: None)
    with pytest.raises(ValueError, match="launcher must be one of local, submitit"):
        run_study("test", tmp_path, launcher="ray", log=lambda line: None)
    with pytest.raises(ValueError, match="apply to launcher 'submitit'"):
        run_study("test", tmp_path, cluster={"partition": "x"}, log=lambda line: None)
    with pytest.raises(ValueError, match="--array-parallelism"):
        run_study("test", tmp_path, launcher="submitit", jobs=2, log=lambda line: None)
    assert not any(tmp_path.iterdir())


def test_failures_are_named_with_their_logs(tmp_path):
    run = RunTask(_spec(0))
    exp = ExperimentTask("notsoclevr", tmp_path)
    with pytest.raises(ExperimentsFailed, match=r"notsoclevr: exit status 1: boom \(log: l\)"):
        _raise_failures([Failure(exp, "exit status 1: boom", Path("l"))])
    with pytest.raises(StudyFailed, match=r"r0/seed0 \(killed by SIGKILL; log: x\)") as info:
        _raise_failures([Failure(run, "killed by SIGKILL", Path("x")), Failure(exp, "e", None)])
    assert not isinstance(info.value, ExperimentsFailed)
    assert "continues from its last checkpoint" in str(info.value)
    assert [f.label for f in info.value.failures] == ["r0/seed0", "experiment notsoclevr"]
    _raise_failures([])
