"""``coordbias study``: options reach run_study, bad input fails early with exit code 2."""

import pytest

from coordbias.cli.main import build_parser, main


def test_defaults_are_the_quick_preset_into_runs_study():
    args = build_parser().parse_args(["study"])
    assert (args.preset, args.out, args.seeds, args.variants) == ("quick", "runs/study", None, None)
    assert args.dry_run is False


def test_options_are_passed_to_run_study(monkeypatch):
    # The command plans the study once and runs that plan.
    seen = {}

    def fake(plan, **kwargs):
        seen.update(kwargs, plan=plan)
        return {}

    monkeypatch.setattr("coordbias.study.run_study", fake)
    code = main(
        [
            "study",
            "--preset",
            "seed",
            "--out",
            "x",
            "--seeds",
            "2",
            "--variants",
            "vanilla,coordbias",
            "coordconv",
            "--set",
            "epochs=1",
            "--workers",
            "2",
            "--devices",
            "1",
            "--experiments",
            "--dry-run",
        ]
    )
    assert code == 0
    plan = seen["plan"]
    assert plan.preset.name == "seed" and plan.out_dir.name == "x" and plan.seeds == [0, 1]
    assert plan.variants == ["vanilla", "coordbias", "coordconv"]
    assert plan.overrides == {"epochs": 1, "workers": 2, "devices": "1"}
    assert plan.experiments == [] and seen["dry_run_only"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--variants", "vanila"], "variant must be one of"),
        (["--set", "epoch=1"], "not a TrainConfig field"),
        (["--seeds", "0"], "seeds must be at least 1"),
    ],
)
def test_bad_input_fails_with_a_clear_message(argv, message, tmp_path, capsys):
    assert main(["study", "--preset", "test", "--out", str(tmp_path / "s"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_malformed_set_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["study", "--set", "epochs"])
    assert "FIELD=VALUE" in capsys.readouterr().err


def test_dry_run_lists_runs_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["study", "--preset", "test", "--out", str(out), "--dry-run", "--no-probe"]) == 0
    text = capsys.readouterr().out
    assert "[4/4] coordbias" in text and "estimated total" in text
    assert not out.exists()


def test_launch_options_are_passed_to_run_study(monkeypatch):
    seen = {}
    monkeypatch.setattr("coordbias.study.run_study", lambda *a, **kw: seen.update(kw) or {})
    assert main(["study", "--jobs", "3", "--threads", "2"]) == 0
    assert (seen["jobs"], seen["threads"], seen["launcher"], seen["cluster"]) == (
        3,
        2,
        "local",
        None,
    )
    argv = ["study", "--launcher", "submitit", "--cluster", "local", "--partition", "gpu"]
    argv += ["--gpus-per-run", "1", "--time-min", "30", "--cpus-per-run", "4"]
    argv += ["--array-parallelism", "8", "--job-logs", "L", "--slurm", "account=proj"]
    assert main(argv) == 0
    assert seen["launcher"] == "submitit" and seen["jobs"] is None
    assert seen["cluster"] == {
        "cluster": "local",
        "partition": "gpu",
        "gpus_per_run": 1,
        "time_min": 30,
        "cpus_per_run": 4,
        "array_parallelism": 8,
        "log_dir": "L",
        "slurm": {"account": "proj"},
    }
    assert main(["study", "--launcher", "submitit", "--cluster", "auto"]) == 0
    assert seen["cluster"] == {}  # submitit picks the cluster


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--partition", "gpu"], "--partition apply to --launcher submitit only"),
        (["--slurm", "qos=x", "--time-min", "5"], "--time-min, --slurm apply to --launcher"),
        (["--jobs", "0"], "jobs (--jobs) must be a positive int"),
        (["--threads", "-1"], "threads (--threads) must be a positive int"),
        (["--launcher", "submitit", "--jobs", "2"], "--array-parallelism"),
        (["--launcher", "submitit", "--gpus-per-run", "2"], "must be 0 or 1"),
    ],
)
def test_bad_launch_options_fail_early(argv, message, tmp_path, capsys):
    assert main(["study", "--preset", "test", "--out", str(tmp_path / "s"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_a_failed_task_gives_exit_status_1_and_names_it(monkeypatch, capsys):
    from coordbias.study.runner import StudyFailed

    def failing(*args, **kwargs):
        raise StudyFailed("these tasks did not finish: vanilla/seed0 (killed by SIGKILL)")

    monkeypatch.setattr("coordbias.study.run_study", failing)
    assert main(["study"]) == 1
    assert "vanilla/seed0 (killed by SIGKILL)" in capsys.readouterr().err


def test_dry_run_shows_jobs_and_threads(tmp_path, capsys):
    argv = ["study", "--preset", "test", "--out", str(tmp_path / "s"), "--dry-run", "--no-probe"]
    assert main([*argv, "--jobs", "2", "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "launcher local: 2 jobs x 1 torch thread" in text and "4 runs up to 2 at once" in text
