"""Synthetic benchmark results (no training): ``result.json`` dicts shaped as the cells write
them, with outcomes chosen to give each verdict of the table."""

from __future__ import annotations

import numpy as np

SEEDS = list(range(10))


def result(
    task: str, method: str, seed: int, metric: float, placement: str | None = "encoder", **extra
) -> dict:
    """One cell's ``result.json`` with a short validation curve that ends at ``metric``."""
    out = {"task": task, "method": method, "seed": seed, "metric": float(metric)}
    if placement is not None:
        out["placement"] = placement
    out["curve"] = [
        {"epoch": e, "train_loss": 1.0 / (e + 1), "val_metric": float(metric) * (e + 1) / 4}
        for e in range(4)
    ]
    out.update(extra)
    return out


def seeds_of(task: str, method: str, values, placement: str | None = "encoder", **extra) -> list:
    return [result(task, method, s, v, placement, **extra) for s, v in zip(SEEDS, values)]


def redgreen_seeds(method: str, pairs) -> list:
    """Red-Green results, one per ``(dissimilar, similar)`` pair of accuracies, seeds 0, 1, ..."""
    return [
        result("redgreen", method, s, d, metrics={"dissimilar": d, "similar": m})
        for s, (d, m) in enumerate(pairs)
    ]


def noisy(centre: float, spread: float, seed: int, n: int = len(SEEDS)) -> list[float]:
    return (centre + spread * np.random.default_rng(seed).standard_normal(n)).tolist()


def cells() -> dict:
    """``{task: {method: {placement: [result, ...]}}}``, 10 seeds, chosen so that:

    - circles: coordbias far above vanilla (better), param_matched within 0.002 of vanilla (a
      tie at margin 0.01), fourier spread widely around vanilla (not told apart); coordbias and
      coordconv at three placements, the first one lower;
    - the Not-so-Clevr tasks at their own placement, ``first``;
    - nsc_class_uniform (success, 0.99): coordconv 1.0 in every seed and vanilla 0.0 in every
      seed (the audit's unmarked cell: two constant groups);
    - nsc_reg_uniform (success, < 1 px, lower is better): everyone fails near 21.4 px,
      fourier 0.3 px worse (a tie at margin 0.5, not a finding); coordconv solves 9 of 10.
    """
    c = {
        "circles": {
            "vanilla": {"encoder": seeds_of("circles", "vanilla", noisy(0.640, 0.01, 1))},
            "coordbias": {
                "first": seeds_of("circles", "coordbias", noisy(0.900, 0.01, 2), "first"),
                "encoder": seeds_of("circles", "coordbias", noisy(0.950, 0.01, 3)),
                "all": seeds_of("circles", "coordbias", noisy(0.952, 0.01, 4), "all"),
            },
            "coordconv": {
                "first": seeds_of("circles", "coordconv", noisy(0.800, 0.01, 5), "first"),
                "encoder": seeds_of("circles", "coordconv", noisy(0.940, 0.01, 6)),
            },
            "param_matched": {
                "encoder": seeds_of(
                    "circles", "param_matched", noisy(0.640, 0.001, 1)
                )  # vanilla's noise
            },
            "fourier": {"encoder": seeds_of("circles", "fourier", noisy(0.650, 0.2, 7))},
        },
        "nsc_class_uniform": {
            "vanilla": {"encoder": seeds_of("nsc_class_uniform", "vanilla", [0.0] * 10)},
            "coordbias": {"encoder": seeds_of("nsc_class_uniform", "coordbias", [1.0] * 10)},
            "coordconv": {"encoder": seeds_of("nsc_class_uniform", "coordconv", [1.0] * 10)},
        },
        "nsc_reg_uniform": {
            "vanilla": {"encoder": seeds_of("nsc_reg_uniform", "vanilla", noisy(21.4, 0.05, 8))},
            "coordbias": {
                "encoder": seeds_of("nsc_reg_uniform", "coordbias", noisy(21.4, 0.05, 9))
            },
            "coordconv": {
                "encoder": seeds_of(
                    "nsc_reg_uniform", "coordconv", [0.12] * 4 + [0.15] * 5 + [21.4]
                )
            },
            "fourier": {"encoder": seeds_of("nsc_reg_uniform", "fourier", noisy(21.7, 0.05, 10))},
        },
    }
    # param_matched: vanilla's values plus a hair, so the difference is tiny and sure.
    base = [r["metric"] for r in c["circles"]["vanilla"]["encoder"]]
    c["circles"]["param_matched"]["encoder"] = seeds_of(
        "circles", "param_matched", [v + 0.001 for v in base]
    )
    # Not-so-Clevr's networks put position at the input: their own placement is "first".
    for task in ("nsc_class_uniform", "nsc_reg_uniform"):
        for per in c[task].values():
            per["first"] = [{**r, "placement": "first"} for r in per.pop("encoder")]
    return c


def results(cells_: dict | None = None) -> dict:
    """A ``results.json`` around ``cells_`` (the new shape of the interface)."""
    return {
        "scale": {"name": "standard", "description": "synthetic", "seeds": 10},
        "seeds": SEEDS,
        "cells": cells() if cells_ is None else cells_,
    }
