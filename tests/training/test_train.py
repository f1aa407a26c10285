"""train(): a tiny run learns, writes its folder, and resumes to the very same result."""

import csv
import json
from pathlib import Path

import pytest
import torch
import yaml

from coordbias.training import TrainConfig, TrainResult, load_run, train
from tests.training.helpers import assert_same_run, assert_same_weights, replace

RUN_FILES = ("config.yaml", "metrics.csv", "model.pt", "eval.json", "env.json", "result.json")
FIGURES = ("loss_curves.png", "recall.png", "predictions.png")


def test_tiny_run_loss_falls(tiny_run):
    config, result = tiny_run
    steps = config.epochs * config.train_size // config.batch_size
    assert len(result.train_loss) == steps
    assert len(result.val_loss) == config.epochs
    first, last = result.train_loss[:3], result.train_loss[-3:]
    assert sum(last) / 3 < 0.7 * sum(first) / 3
    assert result.val_loss[-1] < result.train_loss[0]
    assert result.train_images_per_s > 0 and result.params > 0


def test_run_folder_holds_every_artefact(tiny_run):
    config, result = tiny_run
    run = result.run_dir
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    for name in FIGURES:
        assert (run / "figures" / name).stat().st_size > 0, name
    checkpoints = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert checkpoints == ["epoch=0.ckpt", "epoch=1.ckpt", "last.ckpt"]
    assert TrainConfig.from_dict(yaml.safe_load((run / "config.yaml").read_text())) == config
    evaluation = json.loads((run / "eval.json").read_text())
    assert evaluation == result.metrics
    assert len(evaluation["recall"]) == 4 and 0 <= evaluation["pixel_accuracy"] <= 1
    env = json.loads((run / "env.json").read_text())
    assert env["versions"]["torch"] and env["device"] == "cpu" and env["torch_threads"] >= 1
    assert TrainResult.load(run) == result
    with (run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    val = [float(r["val_loss"]) for r in rows if r.get("val_loss")]
    assert val == pytest.approx(result.val_loss)
    logged = [(int(r["step"]), float(r["train_loss"])) for r in rows if r.get("train_loss")]
    assert logged, "no training loss in metrics.csv"
    for step, loss in logged:  # the CSV rows are the losses of those very steps
        assert loss == pytest.approx(result.train_loss[step]), step


def test_final_weights_are_saved_and_reload(tiny_run):
    config, result = tiny_run
    loaded_config, model = load_run(result.run_dir)
    assert loaded_config == config
    images = torch.rand(1, 3, 32, 32)
    assert model(images).shape == (1, 4, 32, 32)
    _, from_ckpt = load_run(result.run_dir / "checkpoints" / "last.ckpt")
    assert_same_weights(model, from_ckpt)


def test_resume_after_the_first_epoch_equals_a_straight_run(tiny_run, tmp_path):
    config, straight = tiny_run
    folder = str(tmp_path / "stopped")
    first = train(replace(config, out_dir=folder, epochs=1))
    # The same seed gives the same run: the first epoch equals the straight run's, bit for bit.
    assert first.train_loss == straight.train_loss[: len(first.train_loss)]
    assert first.val_loss == straight.val_loss[:1]
    resumed = train(replace(config, out_dir=folder, epochs=2, resume=True))
    assert_same_run(resumed, straight, folder)
    with (tmp_path / "stopped" / "metrics.csv").open() as handle:
        epochs = {r["epoch"] for r in csv.DictReader(handle)}
    assert epochs == {"0", "1"}, "the first epoch's rows must survive the resume"


def test_an_existing_run_is_not_overwritten(tiny_run):
    config, _ = tiny_run
    with pytest.raises(FileExistsError, match="already holds a run; pass resume=True"):
        train(config)


def test_resume_with_another_model_is_refused(tiny_run):
    config, _ = tiny_run
    with pytest.raises(ValueError, match=r"resume refused.* records width=8 on disk, 16 asked"):
        train(replace(config, width=16, resume=True))
    with pytest.raises(ValueError, match=r"conv='vanilla' on disk, 'coordbias' asked for"):
        train(replace(config, conv="coordbias", resume=True))


def test_resume_from_a_corrupt_checkpoint_alone_trains_from_scratch(tiny_config, caplog):
    last = Path(tiny_config.out_dir) / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"garbage")
    result = train(replace(tiny_config, resume=True, epochs=1))
    assert len(result.val_loss) == 1 and result.metrics
    assert "last.ckpt' cannot be read" in caplog.text and "reads whole" in caplog.text


def test_bad_config_fails_before_training(tiny_config):
    with pytest.raises(ValueError, match=r"optimizer='rmsprop'"):
        train(replace(tiny_config, optimizer="rmsprop"))
    with pytest.raises(ValueError, match="image_size=30 must be divisible by 8"):
        train(replace(tiny_config, image_size=30))


def test_resume_of_a_finished_run_returns_its_result_untouched(tiny_run):
    config, result = tiny_run
    stamp = (result.run_dir / "result.json").stat().st_mtime_ns
    again = train(replace(config, resume=True, workers=0, devices="1"))
    assert again == result
    assert (result.run_dir / "result.json").stat().st_mtime_ns == stamp
