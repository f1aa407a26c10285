"""Training test fixtures: a tiny configuration, and one finished tiny run shared by tests."""

import dataclasses

import pytest
import torch

from coordbias.training import TrainConfig, train

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


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks gain nothing from threads, and on a shared 2-core machine two intra-op
    threads per process can make a step ten times slower; restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_config(tmp_path):
    """A tiny TrainConfig writing into a fresh folder."""
    return TrainConfig(**TINY, out_dir=str(tmp_path / "run"))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``(config, result)`` of one finished tiny run, trained once per test session."""
    config = TrainConfig(**TINY, out_dir=str(tmp_path_factory.mktemp("tiny") / "run"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return config, train(config)
    finally:
        torch.set_num_threads(threads)


def replace(config, **changes):
    return dataclasses.replace(config, **changes)


def assert_same_weights(a, b):
    """Two networks hold the very same parameters and buffers, bit for bit."""
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
