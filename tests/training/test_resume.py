"""A run's settings are its identity: ``resume`` refuses any change that shapes the weights or the
evaluation before it touches a file, leaves a finished run alone, and trains a finished run
further only for a larger ``epochs``, after which every file describes the longer run."""

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

from coordbias.cli.main import main
from coordbias.training import TrainConfig, TrainResult, load_run, train
from coordbias.training.config import IDENTITY_FIELDS, MODEL_FIELDS, RUNTIME_FIELDS
from tests.training.helpers import assert_same_weights, replace


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_every_field_is_either_identity_or_runtime():
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert names == IDENTITY_FIELDS | RUNTIME_FIELDS
    assert not IDENTITY_FIELDS & RUNTIME_FIELDS
    assert set(MODEL_FIELDS) <= IDENTITY_FIELDS
    assert {"optimizer", "lr", "seed", "batch_size", "data_seed", "precision"} <= IDENTITY_FIELDS


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from coordbias.data import CirclesConfig
    from coordbias.data.export import export_dataset

    out = tmp_path_factory.mktemp("export") / "circles"
    return export_dataset(out, CirclesConfig(image_size=32), train=8, val=4, progress=False)


# A valid other value for every identity field (``model`` has one value, and ``num_classes``
# other than 4 needs a folder of one's own: both are covered by the model check at load time).
OTHER = {
    "width": 4,
    "conv": "coordbias",
    "conv_scope": "all",
    "batch_norm": True,
    "padding_mode": "reflect",
    "coords": "output",
    "coord_init": "zeros",
    "image_size": 64,
    "train_size": 16,
    "val_size": 4,
    "data_seed": 7,
    "data_dir": "EXPORT",
    "optimizer": "adam",
    "lr": 0.05,
    "momentum": 0.5,
    "weight_decay": 1e-4,
    "batch_size": 2,
    "seed": 3,
    "precision": "64-true",
}


def test_the_table_covers_every_identity_field():
    assert set(OTHER) == IDENTITY_FIELDS - {"model", "num_classes"}


@pytest.mark.parametrize("field", sorted(OTHER))
def test_any_weight_shaping_change_is_refused_and_changes_no_byte(field, tiny_run, export):
    config, _ = tiny_run
    value = str(export) if OTHER[field] == "EXPORT" else OTHER[field]
    assert getattr(config, field) != value
    before = _hashes(Path(config.out_dir))
    with pytest.raises(ValueError, match=rf"resume refused, nothing was written: .*{field}="):
        train(replace(config, resume=True, **{field: value}))
    assert _hashes(Path(config.out_dir)) == before


def test_a_shorter_run_is_refused(tiny_run):
    config, _ = tiny_run
    before = _hashes(Path(config.out_dir))
    with pytest.raises(ValueError, match=r"epochs=2 on disk, 1 asked for"):
        train(replace(config, resume=True, epochs=1))
    assert _hashes(Path(config.out_dir)) == before


def test_another_number_of_processes_is_refused(tiny_run):
    """Each process takes batch_size images a step: two processes would train another run."""
    config, _ = tiny_run
    before = _hashes(Path(config.out_dir))
    more = replace(config, resume=True, epochs=3, devices="2", strategy="ddp")
    with pytest.raises(ValueError, match=r"trained by 1 process\(es\), but .* give 2"):
        train(more)
    assert _hashes(Path(config.out_dir)) == before
    assert not torch.are_deterministic_algorithms_enabled()


def test_resuming_a_finished_run_says_so_and_writes_nothing(tiny_run, capsys):
    config, result = tiny_run
    run = Path(config.out_dir)
    before = _hashes(run)
    stamps = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    argv = ["train", "--out", str(run), "--resume", "--workers", "0", "--devices", "1"]
    for name in ("width", "image_size", "train_size", "val_size", "batch_size", "epochs"):
        argv += [f"--{name.replace('_', '-')}", str(getattr(config, name))]
    argv += ["--optimizer", "sgd", "--lr", "0.1", "--accelerator", "cpu", "--no-progress"]
    assert main(argv) == 0
    assert "already finished its 2 epoch(s) with these settings: nothing to do" in (
        capsys.readouterr().out
    )
    assert _hashes(run) == before
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == stamps
    assert train(replace(config, resume=True, workers=0, progress=True)) == result


def test_a_larger_epochs_continues_into_one_longer_run(tiny_run, tmp_path):
    config, straight = tiny_run  # 2 epochs straight through
    folder = tmp_path / "grown"
    first = train(replace(config, out_dir=str(folder), epochs=1))
    assert len(first.val_loss) == 1
    grown = train(replace(config, out_dir=str(folder), epochs=2, resume=True))
    assert grown.train_loss == straight.train_loss
    assert grown.val_loss == straight.val_loss
    assert grown.metrics == straight.metrics
    assert TrainResult.load(folder) == grown
    a, b = Path(straight.run_dir), folder
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()
    assert (a / "eval.json").read_text() == (b / "eval.json").read_text()
    recorded = TrainConfig.from_yaml(b / "config.yaml")
    assert recorded == replace(config, out_dir=str(folder), resume=True)
    saved, weights = load_run(b)
    assert saved.epochs == 2
    _, reference = load_run(a)
    assert_same_weights(reference, weights)
    assert sorted(p.name for p in (b / "checkpoints").iterdir()) == [
        "epoch=0.ckpt",
        "epoch=1.ckpt",
        "last.ckpt",
    ]


def test_a_continuation_stopped_midway_is_no_longer_finished(tiny_run, tmp_path, monkeypatch):
    """The result file goes first: a continuation that dies does not pass for a finished run."""
    config, _ = tiny_run
    folder = tmp_path / "run"
    shutil.copytree(config.out_dir, folder)
    longer = replace(config, out_dir=str(folder), epochs=3, resume=True)

    def dies(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("lightning.pytorch.Trainer.fit", dies)
    with pytest.raises(KeyboardInterrupt):
        train(longer)
    assert not (folder / "result.json").exists()
    assert TrainConfig.from_yaml(folder / "config.yaml").epochs == 3
    assert json.loads((folder / "eval.json").read_text())  # the rest is replaced at the end


def test_resume_without_a_run_starts_one(tiny_config):
    result = train(replace(tiny_config, resume=True, epochs=1))
    assert len(result.val_loss) == 1
