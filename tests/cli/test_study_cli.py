"""``coordbias study``: options reach run_study, bad input fails early with exit code 2."""

import pytest

from coordbias.cli.main import build_parser, main


def test_defaults_are_the_quick_preset_into_runs_study():
    args = build_parser().parse_args(["study"])
    assert (args.preset, args.out, args.seeds, args.variants) == ("quick", "runs/study", None, None)
    assert args.dry_run is False


def test_options_are_passed_to_run_study(monkeypatch):
    seen = {}

    def fake(preset, out, **kwargs):
        seen.update(kwargs, preset=preset, out=out)
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
    assert seen["preset"] == "seed" and seen["out"] == "x" and seen["seeds"] == 2
    assert seen["variants"] == ["vanilla", "coordbias", "coordconv"]
    assert seen["overrides"] == {"epochs": "1", "workers": 2, "devices": "1"}
    assert seen["experiments"] == [] and seen["dry_run_only"] is True


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
