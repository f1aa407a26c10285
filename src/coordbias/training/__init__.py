"""coordbias.training: training with Lightning, run folders, evaluation and prediction.

``train(config)`` runs one training described by a ``TrainConfig`` and writes its run folder;
``load_run(run_dir)`` gives back the config and the trained network; ``evaluate`` (from
``coordbias.training.metrics``) measures a network on a data loader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coordbias.training.checkpoint import build_model
from coordbias.training.config import TrainConfig
from coordbias.training.datamodule import make_datasets
from coordbias.training.run import TrainResult, load_run, train

if TYPE_CHECKING:  # imported on first use (below); named here for type checkers and the API docs
    from coordbias.training.metrics import evaluate

__all__ = [
    "TrainConfig",
    "TrainResult",
    "build_model",
    "evaluate",
    "load_run",
    "make_datasets",
    "train",
]


def __getattr__(name: str) -> Any:
    # ``evaluate`` lives in metrics.py (torchmetrics); import it on first use.
    if name == "evaluate":
        from coordbias.training.metrics import evaluate

        return evaluate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
