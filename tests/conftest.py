"""Shared test settings: a headless matplotlib backend and one torch thread per xdist worker."""

import os

import torch

os.environ.setdefault("MPLBACKEND", "Agg")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two xdist workers on two cores: one intra-op thread each avoids oversubscription.
    torch.set_num_threads(1)
