"""Open question 1: does the coordinate bias escape BatchNorm's cancellation of the conv bias?

For one output filter of a coordinate-bias convolution, ``y = z + b + a * P0 + c * P1`` where ``z``
is the convolution proper, ``b`` the ordinary bias and ``P0, P1`` the coordinate maps (rows,
columns). BatchNorm in training mode normalises ``y`` over ``(N, H, W)``; it subtracts the mean, so
``b`` and the constant part ``a * mean(P0) + c * mean(P1)`` cancel while the centred ramps
``a * (P0 - mean P0) + c * (P1 - mean P1)`` survive. Writing ``g = dL/dy`` for the gradient that
reaches the convolution's output, BatchNorm's backward makes ``sum(g) = 0`` over ``(N, H, W)``, so

    dL/db = sum(g) = 0,    dL/da = sum(g * P0) = sum(g * (P0 - mean P0)),

and the latter is in general not 0. :mod:`.algebra` checks the algebra on one layer (float64
and float32), :mod:`.training` measures the gradient norms while training the FCN with and
without BatchNorm, :mod:`.section` draws the figure and writes the report section.

Its figure is ``bn_gradients.png``; ``run`` and ``markdown`` are the interface every experiment
has (:mod:`coordbias.study.experiments`).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from coordbias.study.experiments._common import check_out_dir, choose_setting, torch_threads
from coordbias.study.experiments.bn_gradients.algebra import (
    ZERO_TOLERANCE,
    coordinate_maps,
    derivation_check,
)
from coordbias.study.experiments.bn_gradients.section import FIGURE, markdown, plot_gradients
from coordbias.study.experiments.bn_gradients.training import (
    FULL,
    QUICK,
    TRAIN_ZERO_TOLERANCE,
    BNGradConfig,
    circles,
    summarize,
    train_and_record,
)

__all__ = [
    "FIGURE",
    "FULL",
    "QUICK",
    "TRAIN_ZERO_TOLERANCE",
    "ZERO_TOLERANCE",
    "BNGradConfig",
    "coordinate_maps",
    "derivation_check",
    "markdown",
    "run",
    "train_and_record",
]


def run(
    out_dir: Path,
    *,
    quick: bool = True,
    seed: int = 0,
    config: BNGradConfig | None = None,
    num_threads: int = 1,
) -> dict[str, Any]:
    """Run the BatchNorm experiment and write ``bn_gradients.png`` into ``out_dir``.

    Args:
        out_dir: folder for the figure (created).
        quick: the small setting (:data:`QUICK`, 32 px, 6 to 25 s on a shared 2-core CPU) or
            :data:`FULL` (64 px, width 16, 600 steps; about 60 s).
        seed: seeds data, initialisation and batch order.
        config: overrides the setting chosen by ``quick`` (tests use tiny ones).
        num_threads: torch intra-op threads while it runs (restored afterwards).

    Returns:
        JSON-able dict: ``config``, ``derivation`` (``float64`` and ``float32`` results of
        :func:`derivation_check`), ``training`` (``bn`` and ``no_bn`` records of
        :func:`train_and_record`), ``summary`` (per variant, per layer means), ``figure``
        (file name in ``out_dir``), ``seconds``.
    """
    out = check_out_dir(out_dir)
    config = choose_setting(config, quick, seed, QUICK, FULL)
    start = time.perf_counter()
    with torch_threads(num_threads):
        derivation = {
            "float64": derivation_check(torch.float64, seed),
            "float32": derivation_check(torch.float32, seed),
        }
        images, masks = circles(config, seed)
        training = {
            "bn": train_and_record(config, True, images, masks, seed),
            "no_bn": train_and_record(config, False, images, masks, seed),
        }
    result = {
        "config": asdict(config),
        "quick": quick,
        "seed": seed,
        "num_threads": num_threads,
        "derivation": derivation,
        "training": training,
        "summary": {k: summarize(v) for k, v in training.items()},
        "figure": FIGURE,
    }
    plot_gradients(result, out / FIGURE)
    result["seconds"] = time.perf_counter() - start
    return result
