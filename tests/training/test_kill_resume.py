"""A run SIGKILLed twice and resumed each time ends exactly as a run straight through: the same
``metrics.csv`` row for row, the same losses, metrics and weights.

The kills are real: a subprocess (``_killed_run.py``) trains and sends itself SIGKILL at a chosen
point, once mid-epoch and once while a checkpoint is being saved after its epoch's rows were
written (the rows on disk then run ahead of the checkpoint the next process resumes from).
Where TensorBoard is installed (not in this project's extras), its scalars as TensorBoard reads
them are compared too (``run_loggers`` gives it the same rule through its ``purge_step``).
"""

import csv
import dataclasses
import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from coordbias.training import TrainConfig, TrainResult, train
from tests.training.helpers import TINY, assert_same_run

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).with_name("_killed_run.py")
# 4 steps an epoch, 3 epochs: the first process dies in epoch 1, the second saving epoch 2.
SETTING = {**TINY, "width": 4, "train_size": 16, "val_size": 4, "epochs": 3}


def _run(config: TrainConfig, point: str) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, str(SCRIPT), json.dumps(config.to_dict()), point]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode in (0, -signal.SIGKILL), done.stderr[-3000:]
    return done.returncode


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "metrics.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"), purge_orphaned_data=True)
    events.Reload()
    return {t: [(e.step, e.value) for e in events.Scalars(t)] for t in events.Tags()["scalars"]}


def test_two_kills_and_resumes_equal_a_straight_run(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        straight = train(TrainConfig(**SETTING, out_dir=str(tmp_path / "straight")))
    finally:
        torch.set_num_threads(threads)
    config = TrainConfig(**SETTING, out_dir=str(tmp_path / "killed"))
    run_dir = Path(config.out_dir)

    assert _run(config, "step:6") == -signal.SIGKILL
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "epoch=0.ckpt",
        "last.ckpt",
    ]
    resumed = dataclasses.replace(config, resume=True)
    assert _run(resumed, "saving:2") == -signal.SIGKILL
    assert not (run_dir / "checkpoints" / "epoch=2.ckpt").exists()
    steps = [int(row["step"]) for row in _rows(run_dir)]
    assert max(steps) >= 8, "the rows on disk should run ahead of the checkpoint (step 8)"
    assert _run(resumed, "none") == 0

    assert [r["epoch"] for r in _rows(straight.run_dir) if r["val_loss"]] == ["0", "1", "2"]
    assert (run_dir / "metrics.csv").read_text() == (straight.run_dir / "metrics.csv").read_text()
    assert_same_run(TrainResult.load(run_dir), straight, run_dir)
    if importlib.util.find_spec("tensorboard"):
        assert _scalars(run_dir) == _scalars(straight.run_dir)
