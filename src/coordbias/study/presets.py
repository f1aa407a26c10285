"""Study presets: which variants, how many seeds, and the training setting of every run.

A preset fixes everything about a study except where it is written and the runtime (devices,
workers). ``run_config`` turns (preset, variant, seed) into the ``TrainConfig`` of one run.

How the settings were chosen, and what each preset costs and gives, is measured once, in the
README (the preset table of *The study*, *Results of the quick preset*, *Results of the seed
preset*), with the commands; read the figures there rather than repeat them here, where they go
stale.

* ``quick`` (64 px, width 8, batch 8, Adam 3e-3, 1,000 training images, 2 epochs): coordbias
  beats vanilla clearly on classes 1-3, but the gap narrows with more training, because at
  64 px zero padding and the receptive field tell vanilla a lot about position. ``QUICK_NOTES``
  lists the probes it was chosen from. On a busy machine two torch threads per process can run
  many times slower than one (oversubscription): there set OMP_NUM_THREADS=1. The thread count
  changes float reduction order, so results are identical only between runs with the same
  number of threads.
* ``seed``: the original's setting, run by default as one 1-thread process per model (the
  README's measurement of two such processes side by side against one with two threads is
  behind ``threads_per_run``).
* ``full``: 8 variants x 5 seeds x 5 epochs of the original's data, meant for a GPU (not
  measured here; the README's preset table estimates it from the seed preset's per-image cost).
  It runs every variant, so also the four position methods of ``METHOD_VARIANTS`` (12 variants).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from coordbias.models.variants import STUDY_VARIANTS, VARIANTS, variant_fields
from coordbias.study.experiments import EXPERIMENTS
from coordbias.training.settings import ORIGINAL, QUICK

if TYPE_CHECKING:  # pragma: no cover
    from coordbias.training import TrainConfig


@dataclass(frozen=True)
class StudyPreset:
    """A named study setting.

    Attributes:
        name: ``quick``, ``seed``, ``full`` or ``test``.
        description: one line for ``--help`` and the report.
        train: ``TrainConfig`` fields every run of the preset shares (data, optimiser, width...).
        variants: the variants run by default.
        seeds: how many seeds (0..seeds-1) per variant by default.
        transfer_sizes: image sizes at which every run is evaluated again (resolution transfer).
        transfer_val_size: validation images generated per transfer size.
        experiments: open-question experiments (``coordbias.study.experiments.<name>``) run.
        experiments_quick: passed to each experiment's ``run(..., quick=...)``.
        est_images_per_s: training images per second per run on a 2-core CPU, measured; used by
            ``--dry-run`` when no probe is asked for.
        est_experiments_s: seconds the experiments take on a 2-core CPU, measured or estimated.
        threads_per_run: torch threads per run that measured fastest for the whole study on a
            CPU: ``coordbias study`` runs ``cores // threads_per_run`` runs at once by default
            (``None``: one run at a time with every core). On GPUs it runs one run per GPU.
    """

    name: str
    description: str
    train: Mapping[str, Any]
    variants: tuple[str, ...]
    seeds: int
    transfer_sizes: tuple[int, ...] = ()
    transfer_val_size: int = 200
    experiments: tuple[str, ...] = EXPERIMENTS
    experiments_quick: bool = True
    est_images_per_s: float = 100.0
    est_experiments_s: float = 60.0
    threads_per_run: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


# Probes behind the quick preset: a stand-alone FCN of the same shape, 200 held-out images,
# recall per class 0..3, one thread of a 2-core CPU shared with other jobs. (setting: vanilla |
# coordbias)
QUICK_NOTES = (
    "width 8, batch 8, Adam 3e-3, 1,000 images, 2 epochs, seed 1: vanilla (0.99, 0.42, 0.93, "
    "0.28) | coordbias (1.00, 0.96, 0.98, 0.93); 360 img/s",
    "same, 3 epochs, seed 0: vanilla (1.00, 0.79, 0.93, 0.63) | coordbias (1.00, 0.99, 0.98, "
    "0.77); 345 img/s",
    "width 16, 2 epochs, seed 0: vanilla (0.99, 0.56, 0.84, 0.60) | coordbias (1.00, 0.99, "
    "0.98, 0.85); 197 img/s",
    "width 8, Adam 1e-3, 2,000 images, 2 epochs: vanilla (1.00, 0.92, 0.95, 0.70) | coordbias "
    "(1.00, 0.93, 0.97, 0.91); 310 img/s",
    "width 8, batch 16, 2,000 images, 3 epochs: vanilla (0.99, 0.93, 0.97, 0.55); 225 img/s",
)

# The original's setting; the full preset scales it up.
_SEED = StudyPreset(
    name="seed",
    description="the original's exact setting (128 px, width 64, SGD, batch 1), "
    "vanilla and coordbias; 30 to 45 minutes per model on a 2-core CPU, two at once",
    train=ORIGINAL,
    variants=("vanilla", "coordbias"),
    seeds=1,
    transfer_sizes=(192,),
    est_images_per_s=6.7,
    est_experiments_s=90.0,
    # Measured: two 1-thread processes side by side, one per variant, took 28 and 29 min on
    # 2026-12-01 and 40 and 42 min on 2026-12-02 (the same code ran 20-40 % slower per step that
    # day). That day a bare training step took 207 ms at 1 thread and 114 ms at 2: the two runs'
    # 10,000 steps each take 35 min side by side at 1 thread, 38 min one after the other at 2.
    threads_per_run=1,
)

#: Every study preset by name (read-only); ``coordbias study --preset NAME`` runs one.
PRESETS: Mapping[str, StudyPreset] = MappingProxyType(
    {
        "quick": StudyPreset(
            name="quick",
            description="under 10 minutes on a 2-core CPU: 64 px, the study's 8 variants x 3 seeds",
            train=QUICK,
            variants=STUDY_VARIANTS,
            seeds=3,
            transfer_sizes=(96, 128),
            transfer_val_size=100,
            est_images_per_s=120.0,
            est_experiments_s=90.0,
            # Assumed until the back-to-back measurement of `make study` with --jobs 1 and
            # --jobs 2 on a quiet 2-core CPU: these small networks use a second thread poorly
            # (the seed preset below measured 2 one-thread runs at once about 2x faster).
            threads_per_run=1,
            notes=QUICK_NOTES,
        ),
        "seed": _SEED,
        # The seed preset's network and batch, so its throughput and threads per run hold.
        "full": dataclasses.replace(
            _SEED,
            name="full",
            description="every variant, 5 seeds, 5 epochs of the original's setting (for a GPU)",
            train=MappingProxyType({**ORIGINAL, "coords": "center", "epochs": 5}),
            variants=tuple(VARIANTS),
            seeds=5,
            transfer_sizes=(96, 192, 256),
            transfer_val_size=500,
            experiments_quick=False,
            est_experiments_s=600.0,
        ),
        "test": StudyPreset(
            name="test",
            description="a few seconds: 32 px, width 4, 2 variants x 2 seeds (for the tests)",
            train=MappingProxyType(
                {
                    **QUICK,
                    "width": 4,
                    "image_size": 32,
                    "train_size": 16,
                    "val_size": 8,
                    "lr": 1e-2,
                    "batch_size": 4,
                    "epochs": 1,
                }
            ),
            variants=("vanilla", "coordbias"),
            seeds=2,
            transfer_sizes=(48,),
            transfer_val_size=4,
            experiments=(),
            est_images_per_s=400.0,
            est_experiments_s=0.0,
            threads_per_run=1,  # tiny runs: one thread each, like the quick preset
        ),
    }
)


def get_preset(name: str) -> StudyPreset:
    """The preset called ``name``.

    Raises:
        ValueError: unknown name; the message lists the presets.

    Example:
        >>> get_preset("seed").train["batch_size"]
        1
    """
    if isinstance(name, StudyPreset):
        return name
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    return PRESETS[name]


def _config_fields() -> dict[str, dataclasses.Field]:
    from coordbias.training import TrainConfig

    return {f.name: f for f in dataclasses.fields(TrainConfig)}


def coerce_overrides(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check override names against ``TrainConfig`` and convert strings to the field's type.

    Strings come from the command line (``--set epochs=2``); other values pass unchanged.
    ``none`` or ``null`` gives ``None``.

    Raises:
        ValueError: an unknown field or a value that does not convert.

    Example:
        >>> coerce_overrides({"epochs": "2", "lr": "0.01", "batch_norm": "true"})
        {'epochs': 2, 'lr': 0.01, 'batch_norm': True}
    """
    if not overrides:
        return {}
    known = _config_fields()
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in known:
            raise ValueError(
                f"override {key!r} is not a TrainConfig field; accepted: {', '.join(known)}"
            )
        if key in ("out_dir", "seed", "resume"):
            raise ValueError(f"override {key!r} is set by the study itself; use --out or --seeds")
        default = known[key].default
        if isinstance(value, str) and not isinstance(default, str):
            value = _parse(key, value, default)
        out[key] = value
    return out


def _parse(key: str, text: str, default: Any) -> Any:
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    try:
        if isinstance(default, bool):
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return low in ("true", "1", "yes")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        kind = {bool: "a boolean (true or false)", int: "an integer", float: "a number"}[
            type(default)
        ]
        raise ValueError(f"override {key}={text!r}: expected {kind}") from None
    return text


def run_config(
    preset: StudyPreset | str,
    variant: str,
    seed: int,
    run_dir: str | Path,
    overrides: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """The ``TrainConfig`` of one run: preset fields, then the variant, seed, folder, overrides.

    Every seed shares ``data_seed`` (one fixed data set, as in the original), so seeds differ in
    initialisation and batch order only and variants are compared on the same images.

    Args:
        preset: a preset or its name.
        variant: a name from ``coordbias.models.variants.VARIANTS``.
        seed: the run's seed (model initialisation, batch order).
        run_dir: the run folder, ``<study>/runs/<variant>/seed<k>``.
        overrides: ``TrainConfig`` fields to change (after ``coerce_overrides``).

    Returns:
        A validated ``TrainConfig`` with ``resume=False`` and no progress bar.
    """
    from coordbias.training import TrainConfig

    preset = get_preset(preset)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    fields = dict(preset.train)
    fields.update(variant_fields(variant))
    fields.update(coerce_overrides(overrides))
    fields.update(seed=seed, out_dir=str(run_dir), resume=False, progress=False)
    config = TrainConfig(**fields)
    config.validate()
    return config
