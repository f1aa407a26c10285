"""Damaged bookkeeping files of a run and checkpoints that hold the wrong things: one line naming
the file (and the field), never a traceback; a run's own damaged bookkeeping makes the run count
as unfinished, and the same ``--resume`` redoes what is missing when that is safe."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from coordbias._util.errors import UserError, UserValueError
from coordbias.cli.main import main
from coordbias.training import TrainConfig, TrainResult, build_model
from coordbias.training.checkpoint import load_model, save_model
from coordbias.training.config import read_run_config, resume_conflicts
from tests.training.helpers import SMALL_ARGV, assert_same_run

# The runs here are copies of one run: Lightning notes that the checkpoints' folder moved.
pytestmark = pytest.mark.filterwarnings("ignore:The dirpath has changed:UserWarning")


def _cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _lacking(path: Path) -> None:  # cut at a line end: valid YAML that lacks the later fields
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:5]))


DAMAGE = {
    "result.json cut short": ("result.json", _cut),
    "result.json empty": ("result.json", lambda p: p.write_text("")),
    "result.json a list": ("result.json", lambda p: p.write_text("[1, 2]\n")),
    "result.json lacks metrics": (
        "result.json",
        lambda p: p.write_text(
            json.dumps({k: v for k, v in json.loads(p.read_text()).items() if k != "metrics"})
        ),
    ),
    "config.yaml cut short": ("config.yaml", _cut),
    "config.yaml lacks fields": ("config.yaml", _lacking),
    "config.yaml not YAML": ("config.yaml", lambda p: p.write_text("width: [8\n")),
    "config.yaml bad value": (
        "config.yaml",
        lambda p: p.write_text(p.read_text().replace("width: 4", "width: abc")),
    ),
}


@pytest.mark.parametrize("case", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_bookkeeping_file_is_redone_by_the_same_resume(
    case,
    small_run,
    tmp_path,
    capsys,
):
    name, damage = DAMAGE[case]
    run_dir = tmp_path / "run"
    shutil.copytree(small_run.run_dir, run_dir)
    damage(run_dir / name)
    assert main([*SMALL_ARGV, "--out", str(run_dir)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{run_dir / name}" in err, err  # the warning names the damaged file
    result = TrainResult.load(run_dir)
    assert_same_run(result, small_run, run_dir)
    rewritten = read_run_config(run_dir / "config.yaml")  # whole again
    assert resume_conflicts(rewritten, read_run_config(small_run.run_dir / "config.yaml")) == []


def test_a_damaged_config_without_any_checkpoint_is_refused_naming_it(
    small_run,
    tmp_path,
    capsys,
):
    run_dir = tmp_path / "run"
    shutil.copytree(small_run.run_dir, run_dir)
    shutil.rmtree(run_dir / "checkpoints")
    _lacking(run_dir / "config.yaml")
    assert main([*SMALL_ARGV, "--out", str(run_dir)]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{run_dir / 'config.yaml'}' is damaged: it lacks" in line
    assert "restore config.yaml or choose another out_dir" in line


def test_a_truncated_config_is_never_filled_with_defaults(small_run, tmp_path):
    path = tmp_path / "config.yaml"
    shutil.copy(small_run.run_dir / "config.yaml", path)
    _lacking(path)
    with pytest.raises(UserValueError, match=r"is damaged: it lacks .*image_size"):
        read_run_config(path)


def test_a_damaged_result_names_the_file_and_what_to_do(tmp_path):
    (tmp_path / "result.json").write_text('{"run_dir": "x", "metr')
    with pytest.raises(UserValueError, match=r"result\.json' is damaged .*--resume"):
        TrainResult.load(tmp_path)


CONFIG = TrainConfig(width=4).to_dict()
PAYLOADS = {
    "no config": ({"format": "coordbias.model/1", "state_dict": {}}, "its config is missing"),
    "config is a list": (
        {"format": "coordbias.model/1", "config": [1], "state_dict": {}},
        "its config is a list",
    ),
    "state dict of floats": (
        {"format": "coordbias.model/1", "config": CONFIG, "state_dict": {"w": 1.0}},
        "its state_dict holds 'w' = a float",
    ),
    "state dict is a list": (
        {"format": "coordbias.model/1", "config": CONFIG, "state_dict": [1.0]},
        "its state_dict holds a list",
    ),
    "width 'abc'": (
        {"format": "coordbias.model/1", "config": {**CONFIG, "width": "abc"}, "state_dict": {}},
        "width='abc' has type str",
    ),
    "unknown conv": (
        {"format": "coordbias.model/1", "config": {**CONFIG, "conv": "nope"}, "state_dict": {}},
        "conv='nope' is not supported",
    ),
    "lr inf": (
        {"format": "coordbias.model/1", "config": {**CONFIG, "lr": float("inf")}, "state_dict": {}},
        "lr=inf is not accepted",
    ),
    "Lightning's without config": (
        {"coordbias": {}, "state_dict": {}},
        "its coordbias.config is missing",
    ),
    "Lightning's entry a list": (
        {"coordbias": [1], "state_dict": {}},
        "its coordbias.config is missing",
    ),
}


@pytest.mark.parametrize("case", list(PAYLOADS), ids=list(PAYLOADS))
def test_a_checkpoint_holding_the_wrong_things_is_named_with_its_field(case, tmp_path, capsys):
    payload, words = PAYLOADS[case]
    path = tmp_path / "model.pt"
    torch.save(payload, path)
    with pytest.raises(UserError) as info:
        load_model(path)
    assert f"checkpoint {str(path)!r}" in str(info.value) and words in str(info.value)
    assert main(["evaluate", str(path), "--out", str(tmp_path / "e.json")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and words in err


def test_a_good_model_file_still_loads(tmp_path):
    config = TrainConfig(width=4)
    save_model(tmp_path / "model.pt", build_model(config), config)
    assert load_model(tmp_path / "model.pt")[0] == config


def test_a_stopped_run_with_a_damaged_last_checkpoint_loads_the_newest_whole_one(
    small_run, tmp_path, caplog, capsys
):
    run_dir = tmp_path / "run"
    shutil.copytree(small_run.run_dir, run_dir)
    (run_dir / "model.pt").unlink()
    _cut(run_dir / "checkpoints" / "last.ckpt")
    config, _ = load_model(run_dir)
    assert config.width == 4
    assert "last.ckpt' cannot be read" in caplog.text and "epoch=1.ckpt" in caplog.text
    assert main(["evaluate", str(run_dir), "--size", "2"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warned) == 1 and warned[0].startswith("coordbias evaluate: warning: checkpoint")
