"""Planning the parallel work without running it: jobs and threads, the tasks and their order,
locks, the progress line, the dry run's estimate, and how failures are reported."""

import json
from pathlib import Path

import pytest
from filelock import FileLock

from coordbias.scheduler.launch import Parallelism, resolve_parallelism
from coordbias.scheduler.progress import Failure
from coordbias.study import plan_study, run_study
from coordbias.study.presets import get_preset
from coordbias.study.runner import (
    ExperimentsFailed,
    StudyFailed,
    _pool_order,
    _raise_failures,
    dry_run,
)
from coordbias.study.tasks import ExperimentTask, RunTask, execute_task, plan_tasks

QUICK, TEST = get_preset("quick"), get_preset("test")


def test_run_study_takes_a_plan_and_its_settings_from_it_alone(tmp_path):
    # The command line plans once and runs that plan; the plan's own settings are not given
    # twice.
    plan = plan_study("test", tmp_path / "s", seeds=1, experiments=[])
    listing = run_study(plan, dry_run_only=True, probe=False, log=lambda line: None)
    assert len(listing["runs"]) == len(plan.runs)
    with pytest.raises(ValueError, match="takes its seeds from the plan"):
        run_study(plan, seeds=2, dry_run_only=True, probe=False)


def test_the_quick_preset_measured_one_thread_per_run():
    # resolve_parallelism's CPU default (tests/scheduler) divides the cores by this.
    assert QUICK.threads_per_run == 1
    assert resolve_parallelism(QUICK, cores=2, devices=()).jobs == 2


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
    scores = {"recall": [1.0] * 4, "miou": 1.0, "pixel_accuracy": 1.0}
    result = {"run_dir": str(run_dir), "metrics": scores, "val_loss": [], "train_loss": []}
    result.update(train_images_per_s=1.0, params=1, wall_time_s=1.0)
    (run_dir / "result.json").write_text(json.dumps(result))
    tasks, _ = plan_tasks(plan)
    assert "experiment notsoclevr" not in [t.label for t in tasks]
    assert "vanilla/seed0" in [t.label for t in tasks], "its transfer is still to do"
    entry = {"trained_size": 64, "val_size": 100, "metrics": scores}
    (run_dir / "transfer.json").write_text(json.dumps({"96": entry, "128": entry}))
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


def _spec(i):
    from coordbias.study.plan import RunSpec

    return RunSpec(f"r{i}", 0, Path(f"r{i}/seed0"), None)


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
