"""Training test fixtures: a tiny configuration, and one finished tiny run shared by tests."""

import pytest
import torch

from coordbias.training import TrainConfig, train
from tests.training.helpers import SMALL, TINY


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


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """The result of one uninterrupted run of the SMALL setting (``helpers.SMALL_ARGV``)."""
    config = TrainConfig(**SMALL, out_dir=str(tmp_path_factory.mktemp("small") / "run"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(config)
    finally:
        torch.set_num_threads(threads)
