"""``coordbias train``, ``evaluate`` and ``predict`` on a tiny run; flags mirror TrainConfig."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from coordbias.cli.main import build_parser, main
from coordbias.cli.training import config_from_args
from coordbias.training import TrainConfig, TrainResult

TINY_FLAGS = [
    "--width",
    "4",
    "--image-size",
    "32",
    "--train-size",
    "8",
    "--val-size",
    "4",
    "--batch-size",
    "4",
    "--epochs",
    "1",
    "--accelerator",
    "cpu",
    "--no-progress",
]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread for these tiny runs (a shared 2-core machine); restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _parse(argv):
    return config_from_args(build_parser().parse_args(["train", *argv]))


def test_one_flag_per_config_field_with_help():
    parser = build_parser()
    train = next(a for a in parser._actions if a.dest == "command").choices["train"]
    dests = {action.dest: action for action in train._actions}
    for field in dataclasses.fields(TrainConfig):
        assert field.name in dests, f"no flag for TrainConfig.{field.name}"
        assert dests[field.name].help, f"no help for --{field.name}"
    assert "--data" in dests["data_dir"].option_strings
    assert "--out" in dests["out_dir"].option_strings


def test_flags_parse_to_typed_fields():
    config = _parse(
        [
            "--width",
            "16",
            "--lr",
            "0.01",
            "--batch-norm",
            "--conv",
            "coordbias",
            "--devices",
            "2",
            "--out",
            "somewhere",
        ]
    )
    assert config == TrainConfig(
        width=16, lr=0.01, batch_norm=True, conv="coordbias", devices="2", out_dir="somewhere"
    )


def test_yaml_config_then_flags_override(tmp_path):
    path = tmp_path / "run.yaml"
    TrainConfig(width=8, conv="coordconv", epochs=5).to_yaml(path)
    config = _parse(["--config", str(path), "--epochs", "3"])
    assert (config.width, config.conv, config.epochs) == (8, "coordconv", 3)


def test_help_explains_options(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "--optimizer" in text and "sgd | adam | adamw" in text and "--resume" in text


def test_bad_flag_values_fail_with_a_message(tmp_path, capsys):
    assert main(["train", "--optimizer", "lbfgs", "--out", str(tmp_path / "x")]) == 2
    assert "optimizer='lbfgs' is not supported" in capsys.readouterr().err
    assert main(["train", "--image-size", "100", "--out", str(tmp_path / "x")]) == 2
    assert "image_size=100 must be divisible by 8" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", *TINY_FLAGS, "--out", str(out)]) == 0
    return out


def test_train_writes_a_finished_run(cli_run, capsys):
    result = TrainResult.load(cli_run)
    assert len(result.val_loss) == 1 and len(result.metrics["recall"]) == 4
    assert TrainConfig.from_yaml(cli_run / "config.yaml").width == 4


def test_evaluate_writes_json(cli_run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    argv = ["evaluate", str(cli_run), "--size", "3", "--image-size", "48", "--out", str(out)]
    assert main(argv) == 0
    written = json.loads(out.read_text())
    assert written["data"] == {
        "split": "val",
        "image_size": 48,
        "size": 3,
        "data_seed": 0,
        "images": 3,
    }
    assert set(written["metrics"]) >= {"recall", "precision", "iou", "miou", "confusion", "loss"}
    pixels = sum(map(sum, written["metrics"]["confusion"]))
    assert pixels == 3 * 48 * 48
    assert "recall per class" in capsys.readouterr().out
    # The run's own validation split by default, next to the run: equals its eval.json.
    assert main(["evaluate", str(cli_run / "checkpoints" / "last.ckpt")]) == 0
    default = json.loads((cli_run / "checkpoints" / "last.evaluate_val.json").read_text())
    own = json.loads((cli_run / "eval.json").read_text())
    assert default["metrics"]["confusion"] == own["confusion"]


def test_evaluate_missing_or_corrupt_source(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00" * 10)
    assert main(["evaluate", str(bad), "--out", str(tmp_path / "e.json")]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_predict_writes_colour_masks(cli_run, tmp_path, capsys):
    from coordbias.data import CirclesConfig, CirclesDataset

    image, _ = CirclesDataset(CirclesConfig(image_size=32), split="val", length=1)[0]
    path = tmp_path / "input.png"
    Image.fromarray((image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
    assert main(["predict", str(cli_run), str(path), "--out", str(tmp_path / "masks")]) == 0
    mask = np.asarray(Image.open(tmp_path / "masks" / "input.mask.png"))
    assert mask.shape == (32, 32, 3) and mask.dtype == np.uint8
    palette = {(0, 0, 0), (255, 255, 0), (0, 0, 255), (255, 0, 0)}
    assert {tuple(pixel) for pixel in mask.reshape(-1, 3)} <= palette
    assert str(tmp_path / "masks" / "input.mask.png") in capsys.readouterr().out


def test_predict_rejects_a_size_not_divisible_by_8(cli_run, tmp_path, capsys):
    path = tmp_path / "odd.png"
    Image.new("RGB", (30, 32)).save(path)
    assert main(["predict", str(cli_run), str(path), "--out", str(tmp_path / "m")]) == 2
    assert "is 32 x 30; the network needs sides divisible by 8" in capsys.readouterr().err
