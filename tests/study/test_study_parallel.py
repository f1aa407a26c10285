"""The study's tasks in parallel: child processes, two studies on one folder, a killed worker.

Every study here is the test preset with one seed per variant (two runs) at one torch thread,
and each is compared with the same runs done one at a time in this process (the ``reference``
fixture):
a run's metrics depend on its config, seed and thread count only. The faults are real: child
processes, two ``coordbias study`` processes, SIGKILL. The points where they strike are chosen
by ``_pause_hook`` (a run waits after a given optimizer step until the test lets it go), never
by timing.
"""

import json
import os
import signal

import pytest

from coordbias.study import run_study
from tests.study.helpers import (
    SETTING,
    Study,
    fits,
    metrics,
    pause,
    study_argv,
    wait_for_file,
)

pytestmark = pytest.mark.slow

QUIET = {"log": lambda line: None}


def test_two_jobs_give_the_metrics_of_one_at_a_time(reference, tmp_path):
    """--jobs 2: each run in a child process of its own, side by side; the same numbers."""
    lines = []
    results = run_study("test", tmp_path, jobs=2, threads=1, log=lines.append, **SETTING)
    assert metrics(tmp_path) == reference
    assert results["timing"]["launch"] == {"launcher": "local", "jobs": 2, "threads": 1}
    assert results["environment"]["torch_threads"] == 1
    pids = set()
    for label in ("vanilla/seed0", "coordbias/seed0"):
        assert len(fits(tmp_path, label)) == 1
        env = json.loads((tmp_path / "runs" / label / "env.json").read_text())
        assert env["torch_threads"] == 1  # recorded by the child that trained it
        pids.add(fits(tmp_path, label)[0].split("[pid ")[1].split("]")[0])
    assert str(os.getpid()) not in pids and len(pids) == 2, "each run in a child of its own"
    assert sum("runs done" in line for line in lines) == 2
    assert any("runs done 2/2" in line and "left" in line for line in lines)


def test_a_killed_worker_costs_its_own_run_and_the_next_call_resumes_it(reference, tmp_path):
    """SIGKILL of one child mid-run (epoch 1, its epoch 0 checkpoint on disk) while the other
    child is mid-run too: the other finishes, the study names the killed run and fails, the
    next call resumes the killed run from its checkpoint and ends with the uninterrupted
    numbers."""
    out = tmp_path / "study"
    victim, other = "vanilla/seed0", "coordbias/seed0"
    victim_at, other_at, go = tmp_path / "victim", tmp_path / "other", tmp_path / "go"
    hook = {**pause(out, victim, 3, victim_at, None), **pause(out, other, 1, other_at, go)}
    study = Study(study_argv(out, "--jobs", "2"), pause=hook)
    try:
        wait_for_file(victim_at, study)
        wait_for_file(other_at, study)
        checkpoints = out / "runs" / victim / "checkpoints"
        assert sorted(p.name for p in checkpoints.iterdir()) == ["epoch=0.ckpt", "last.ckpt"]
        os.kill(int(victim_at.read_text()), signal.SIGKILL)
        go.touch()
        code = study.wait()
    finally:
        study.kill()
    assert code == 1, study.output
    assert "vanilla/seed0 (killed by SIGKILL" in study.output
    assert str(out / "runs" / victim / "task.log") in study.output
    assert "coordbias/seed0: trained" in study.output
    assert not (out / "runs" / victim / "result.json").exists()
    assert (out / "runs" / other / "result.json").is_file()
    kept = checkpoints / "epoch=0.ckpt"
    before = (kept.stat().st_mtime_ns, kept.read_bytes())
    other_result = (out / "runs" / other / "result.json").stat().st_mtime_ns

    run_study("test", out, jobs=1, threads=1, **SETTING, **QUIET)

    assert metrics(out) == reference
    assert [line.split("] ")[1].split(" (")[0] for line in fits(out, victim)] == [
        "training vanilla/seed0 from scratch",
        "resuming vanilla/seed0 from checkpoints/last.ckpt",
    ]
    assert (kept.stat().st_mtime_ns, kept.read_bytes()) == before, "epoch 0 was trained again"
    assert (out / "runs" / other / "result.json").stat().st_mtime_ns == other_result
    assert len(fits(out, other)) == 1


def test_two_studies_on_one_folder_share_the_runs(reference, tmp_path):
    """Two `coordbias study` processes started at once on one folder: whichever takes
    vanilla/seed0 is held there (mid-run, its lock taken) until the other has trained
    coordbias/seed0 and waits for it; then both finish. No run trains twice, both exit 0 with a
    complete report, and the numbers are those of one study alone."""
    out = tmp_path / "study"
    held, go = tmp_path / "held", tmp_path / "go"
    hook = pause(out, "vanilla/seed0", 1, held, go)
    studies = [Study(study_argv(out, "--jobs", "1"), pause=hook) for _ in range(2)]
    try:
        wait_for_file(held, *studies)
        holder = next(s for s in studies if str(s.process.pid) == held.read_text())
        waiter = next(s for s in studies if s is not holder)
        waiter.wait_for_line("vanilla/seed0: waiting for the other process")
        go.touch()
        codes = [s.wait() for s in studies]
    finally:
        for s in studies:
            s.kill()
    assert codes == [0, 0], "\n\n".join(s.output for s in studies)
    assert "vanilla/seed0: another process is doing it" in waiter.output
    assert "coordbias/seed0: trained" in waiter.output
    assert "vanilla/seed0: trained" in holder.output
    assert "coordbias/seed0: finished earlier" in holder.output
    for s in studies:
        assert "every run finished" in s.output
    for label in ("vanilla/seed0", "coordbias/seed0"):
        assert len(fits(out, label)) == 1, f"{label} was trained more than once"
    assert metrics(out) == reference
    assert not list(out.rglob("*.tmp"))
