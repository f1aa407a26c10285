"""Importable helpers of the training tests (conftest.py builds its fixtures from them)."""

import dataclasses

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


def replace(config, **changes):
    """``config`` with ``changes`` (``dataclasses.replace``)."""
    return dataclasses.replace(config, **changes)
