"""Two-process DDP on the CPU (gloo), launched as ``coordbias train`` in a subprocess.

Lightning's "ddp" strategy starts the other processes by running the same command line again,
so the run must start from a real command, not from inside pytest.

What is compared: 2 processes with batch 2 each against 1 process with batch 4 (the tiny run).
The shards of the (seed, epoch) permutation make each DDP step see the very 4 images of the
single-process step, and DDP averages the gradients, so the updates agree except for BatchNorm
in the decoder: torch has no SyncBatchNorm on the CPU, so each process normalises over its own 2
images instead of 4. The metrics therefore agree within a tolerance, not bit for bit.
"""

import json
import os
import subprocess
import sys

import pytest

from coordbias.training import TrainResult


@pytest.mark.slow
def test_two_process_ddp_on_cpu_agrees_with_one_process(tiny_run, tmp_path):
    config, single = tiny_run
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "coordbias", "train", "--strategy", "ddp", "--devices", "2"]
    command += ["--accelerator", "cpu", "--no-progress", "--out-dir", str(out)]
    command += ["--batch-size", str(config.batch_size // 2)]
    for name in ("width", "image_size", "train_size", "val_size", "epochs", "optimizer", "lr"):
        command += [f"--{name.replace('_', '-')}", str(getattr(config, name))]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    ddp = TrainResult.load(out)
    assert json.loads((out / "env.json").read_text())["world_size"] == 2
    # Process 0 took half of each global batch: as many steps as the single process.
    assert len(ddp.train_loss) == len(single.train_loss)
    assert len(ddp.val_loss) == config.epochs
    assert ddp.val_loss == pytest.approx(single.val_loss, abs=0.05)
    assert ddp.metrics["loss"] == pytest.approx(single.metrics["loss"], abs=0.05)
    accuracy = single.metrics["pixel_accuracy"]
    assert ddp.metrics["pixel_accuracy"] == pytest.approx(accuracy, abs=0.05)
    assert ddp.val_loss[-1] < ddp.train_loss[0], "the DDP run did not learn"
