"""Named training settings, as ``TrainConfig`` fields: the original study's, and the quick one.

``ORIGINAL`` is the setting of the original study (128 px, width 64, SGD, batch 1, 2 epochs);
``QUICK`` is the small setting of the study's ``quick`` preset (64 px, width 8, Adam, batch 8),
chosen and measured as ``coordbias.study.presets`` describes. The study builds its presets from
them, and ``coordbias speed data`` / ``coordbias speed train`` measure at ``QUICK`` by default,
so the benchmarks read a training setting, not the study.

Example:
    >>> from coordbias.training import TrainConfig
    >>> TrainConfig(**QUICK).image_size
    64
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["ORIGINAL", "QUICK"]

ORIGINAL: Mapping[str, Any] = MappingProxyType(
    {
        "model": "fcn",
        "width": 64,
        "coords": "output",
        "coord_init": "uniform",
        "padding_mode": "zeros",
        "image_size": 128,
        "train_size": 5000,
        "val_size": 2500,
        "data_seed": 0,
        "optimizer": "sgd",
        "lr": 1e-3,
        "momentum": 0.9,
        "weight_decay": 0.0,
        "batch_size": 1,
        "epochs": 2,
    }
)

QUICK: Mapping[str, Any] = MappingProxyType(
    {
        **ORIGINAL,
        "width": 8,
        "coords": "center",
        "image_size": 64,
        "train_size": 1000,
        "val_size": 250,
        "optimizer": "adam",
        "lr": 3e-3,
        "batch_size": 8,
        "epochs": 2,
    }
)
