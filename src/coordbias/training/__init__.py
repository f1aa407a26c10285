"""coordbias.training: training with Lightning, run folders, evaluation and prediction.

``train(config)`` runs one training described by a ``TrainConfig`` and writes its run folder;
``load_run(run_dir)`` gives back the config and the trained network; ``evaluate`` (from
``coordbias.training.metrics``) measures a network on a data loader.

The names below are imported on first use, so that a light module of this package (``config``,
``settings``) does not bring in Lightning: the command line builds ``coordbias train``'s flags
from ``TrainConfig`` before it imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coordbias._util.lazy import lazy_getattr

if TYPE_CHECKING:  # imported on first use (below); named here for type checkers and the API docs
    from coordbias.training.checkpoint import build_model
    from coordbias.training.config import TrainConfig
    from coordbias.training.datamodule import make_datasets
    from coordbias.training.metrics import evaluate
    from coordbias.training.run import TrainResult, load_run, train

#: Each public name and the module of this package that defines it.
_HOMES = {
    "TrainConfig": "config",
    "TrainResult": "run",
    "build_model": "checkpoint",
    "evaluate": "metrics",
    "load_run": "run",
    "make_datasets": "datamodule",
    "train": "run",
}

__all__ = [
    "TrainConfig",
    "TrainResult",
    "build_model",
    "evaluate",
    "load_run",
    "make_datasets",
    "train",
]


__getattr__ = lazy_getattr(globals(), _HOMES)
