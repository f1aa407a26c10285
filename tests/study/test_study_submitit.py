"""``--launcher submitit`` for real, through submitit's local executor: each task is pickled,
submitted and run by submitit in a process of its own (its SLURM path but for ``sbatch``)."""

import json
import shutil

import pytest

from coordbias.scheduler.cluster import ClusterOptions, make_executor
from coordbias.study import run_study
from tests.study.helpers import SETTING, fits, metrics

pytestmark = pytest.mark.slow

LOCAL = {"cluster": "local", "poll_s": 0.2}


def test_a_study_through_submitit_gets_the_metrics_of_the_local_launcher(reference, tmp_path):
    """``reference``: the same runs with ``--launcher local --jobs 1 --threads 1``."""
    cluster = tmp_path / "submitit"
    lines = []
    options = {"launcher": "submitit", "cluster": LOCAL, "threads": 1, "log": lines.append}
    results = run_study("test", cluster, **options, **SETTING)
    assert metrics(cluster) == reference
    assert results["timing"]["launch"]["launcher"] == "submitit"
    submitted = [line for line in lines if line.startswith("submitted 2 job(s) through submitit")]
    assert submitted and str(cluster / "submitit") in submitted[0]
    # submitit's own files: each job's pickled task, its result and its stdout/stderr.
    assert len(list((cluster / "submitit").glob("*_submitted.pkl"))) == 2
    assert len(list((cluster / "submitit").glob("*_result.pkl"))) == 2
    for label in ("vanilla/seed0", "coordbias/seed0"):
        assert len(fits(cluster, label)) == 1
        env = json.loads((cluster / "runs" / label / "env.json").read_text())
        assert env["torch_threads"] == 1
    assert any("runs done 2/2" in line for line in lines)

    # A second call finds everything finished on disk and submits nothing.
    lines.clear()
    run_study("test", cluster, **options, **SETTING)
    assert not any(line.startswith("submitted") for line in lines)
    assert len(list((cluster / "submitit").glob("*_submitted.pkl"))) == 2


def test_job_parameters_reach_submitit(tmp_path):
    options = ClusterOptions(
        cluster="local", time_min=7, cpus_per_run=3, gpus_per_run=0, log_dir=tmp_path / "logs"
    )
    options.validate()
    executor = make_executor(options, threads=3, study_dir=tmp_path)
    assert executor.cluster == "local"
    assert executor.folder == (tmp_path / "logs").resolve()
    params = executor._executor.parameters
    assert params["timeout_min"] == 7 and params["setup"] == [
        "export OMP_NUM_THREADS=3 MKL_NUM_THREADS=3"
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"gpus_per_run": 2}, "must be 0 or 1"),
        ({"time_min": 0}, "time_min"),
        ({"cluster": "pbs"}, "cluster must be one of"),
        ({"slurm": {"partition": "x"}}, "have flags of their own"),
    ],
)
def test_bad_cluster_options_fail_before_anything_runs(options, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_study("test", tmp_path / "s", launcher="submitit", cluster=options, **SETTING)
    assert not (tmp_path / "s").exists()


def test_an_unknown_slurm_parameter_is_refused_with_submitits_list(tmp_path):
    options = ClusterOptions(cluster="local", slurm={"no_such_thing": "1"})
    with pytest.raises(ValueError, match="submitit refused the job parameters"):
        make_executor(options, threads=1, study_dir=tmp_path)


@pytest.mark.skipif(shutil.which("sbatch") is not None, reason="this machine has SLURM")
def test_without_slurm_the_cluster_must_be_asked_for(tmp_path):
    """submitit alone would run every job at once here: the study asks for --cluster local."""
    with pytest.raises(ValueError, match=r"finds no SLURM here .* --cluster local"):
        run_study("test", tmp_path / "s", launcher="submitit", dry_run_only=True, **SETTING)
    local = {"launcher": "submitit", "cluster": {"cluster": "local"}, "dry_run_only": True}
    listing = run_study(
        "test", tmp_path / "s", probe=False, log=lambda line: None, **local, **SETTING
    )
    assert listing["launcher"] == "submitit" and not (tmp_path / "s").exists()
