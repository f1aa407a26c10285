"""Importable helpers of the training tests (conftest.py builds its fixtures from them)."""

import dataclasses

import torch

from coordbias.training import load_run

# Small enough to train in about a second on one core, large enough for the loss to fall.
TINY = dict(
    width=8,
    image_size=32,
    train_size=32,
    val_size=8,
    batch_size=4,
    epochs=2,
    optimizer="sgd",
    lr=0.1,
    accelerator="cpu",
    progress=False,
)


# Smaller still, for the tests that train it several times (full disk, damaged files).
SMALL = {**TINY, "width": 4, "train_size": 8, "val_size": 4}
# ``coordbias train`` with the SMALL setting, resuming: the command a user runs again.
SMALL_ARGV = ["train", "--width", "4", "--image-size", "32", "--train-size", "8"]
SMALL_ARGV += ["--val-size", "4", "--batch-size", "4", "--epochs", "2", "--optimizer", "sgd"]
SMALL_ARGV += ["--lr", "0.1", "--accelerator", "cpu", "--no-progress", "--resume"]


def replace(config, **changes):
    """``config`` with ``changes`` (``dataclasses.replace``)."""
    return dataclasses.replace(config, **changes)


def assert_same_weights(a, b):
    """Two networks hold the very same parameters and buffers, bit for bit."""
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


def assert_same_run(result, straight, run_dir):
    """A run's losses, metrics and final weights (in ``run_dir``) equal the straight run's."""
    assert result.train_loss == straight.train_loss
    assert result.val_loss == straight.val_loss
    assert result.metrics == straight.metrics
    _, a = load_run(straight.run_dir)
    _, b = load_run(run_dir)
    assert_same_weights(a, b)
