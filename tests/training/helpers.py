"""Importable helpers of the training tests (conftest.py builds its fixtures from them)."""

import dataclasses
import errno
import os
from pathlib import Path

import torch

from coordbias._util import files
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


def fill_disk_at(monkeypatch, name: str, skip: int) -> list[str]:
    """Make the write of the file ``name`` after ``skip`` earlier ones (its temporary file, for
    the atomic writer) write half its bytes and fail with ENOSPC; returns the list the failure is
    noted in."""
    failed: list[str] = []
    seen = [0]

    def full() -> bool:
        seen[0] += 1
        return seen[0] > skip and not failed

    real_open, real_fdopen = files._open_temporary, os.fdopen
    targets: dict[int, Path] = {}

    def open_temporary(path):
        fd, tmp = real_open(path)
        targets[fd] = Path(path)
        return fd, tmp

    class HalfFull:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            failed.append(name)
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, attr):
            return getattr(self.handle, attr)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        target = targets.pop(fd, None)
        if target is not None and target.name == name and full():
            return HalfFull(handle)
        return handle

    real_os_open, real_write, appends = os.open, os.write, set()

    def os_open(path, flags, *args, **kwargs):
        fd = real_os_open(path, flags, *args, **kwargs)
        if Path(path).name == name and flags & os.O_APPEND:
            appends.add(fd)
        return fd

    def write(fd, data):  # a short write, as write(2) makes on a full disk
        if fd in appends and full():
            failed.append(name)
            return real_write(fd, data[: len(data) // 2])
        return real_write(fd, data)

    monkeypatch.setattr(files, "_open_temporary", open_temporary)
    monkeypatch.setattr(os, "fdopen", fdopen)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "write", write)
    return failed
