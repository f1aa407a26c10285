"""``coordbias speed train``: the cost of a Lightning training step against a bare PyTorch loop.

Both sides train the same network (two copies with the same weights) with the same optimizer
on the same pre-built batch (data generation is excluded from both). The Lightning side is
``coordbias.training``'s own ``SegmentationModule`` under a Trainer set up as ``train()`` sets it
up (deterministic on the CPU, CSV logging every 50 steps), minus checkpoints, validation and the
progress bar.

The two sides alternate step by step inside one ``fit``: a bare step runs at the start of each
Lightning iteration, so every pair is measured back to back under the same machine load. The
reported ratio is the median over pairs of (Lightning step time / bare step time); medians of
the step times give images per second, at the original's setting (128 px, width 64, batch 1,
SGD) and at the study's quick preset.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from coordbias._names import CONV_KINDS
from coordbias.speed._preset import add_setting_arguments, quick_setting


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(parser, "the second setting")
    parser.add_argument(
        "--conv",
        default="vanilla",
        metavar="KIND",
        help=f"convolution: {' | '.join(CONV_KINDS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=60,
        metavar="N",
        help="timed pairs of steps (one bare, one Lightning) per setting (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=5,
        metavar="N",
        help="untimed pairs before them (default: %(default)s)",
    )
    parser.add_argument(
        "--original",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the original's setting: 128 px, width 64, batch 1",
    )
    parser.add_argument(
        "--out",
        default="runs/bench",
        metavar="DIR",
        help="folder for train.json (default: %(default)s)",
    )


class _Batches:
    """The same batch ``count`` times; one iterable type for both sides (Lightning would read a
    plain list as a list of loaders)."""

    def __init__(self, batch: tuple, count: int):
        self.batch, self.count = batch, count

    def __iter__(self):
        return (self.batch for _ in range(self.count))

    def __len__(self) -> int:
        return self.count


def _interleaved_fit(
    module, bare_model, bare_optimizer, batches, warmup: int, steps: int, log_dir: str
) -> tuple[list[float], list[float]]:
    """Alternate bare steps with Lightning steps inside one ``fit``; seconds of each, in pairs.

    At the start of Lightning's iteration k a bare step runs (timed on its own), then the clock
    marks the start of Lightning's iteration k, which ends at the start of iteration k + 1: so a
    Lightning time covers everything Lightning does per step (hooks, closure, logging, fetching
    the next batch). Pairs measured back to back see the same load on a shared machine.
    """
    import lightning as L
    import torch.nn.functional as F
    from lightning.pytorch.callbacks import Callback
    from lightning.pytorch.loggers import CSVLogger

    images, masks = batches.batch
    bare: list[float] = []
    lightning: list[float] = []

    def bare_step() -> None:
        bare_optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(bare_model(images), masks)
        loss.backward()
        bare_optimizer.step()

    class Interleave(Callback):
        mark: float | None = None

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            now = time.perf_counter()
            if self.mark is not None and batch_idx > warmup:
                lightning.append(now - self.mark)
            if batch_idx < warmup + steps:
                start = time.perf_counter()
                bare_step()
                if batch_idx >= warmup:
                    bare.append(time.perf_counter() - start)
            self.mark = time.perf_counter()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = L.Trainer(
            accelerator="cpu",
            devices=1,
            max_steps=warmup + steps + 1,
            max_epochs=1,
            deterministic=True,
            logger=CSVLogger(log_dir, name="", version=""),
            log_every_n_steps=50,
            callbacks=[Interleave()],
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
        )
        bare_model.train()
        trainer.fit(module, train_dataloaders=batches)
    return bare, lightning


def measure(config, *, steps: int, warmup: int) -> dict[str, Any]:
    """Bare and Lightning step times for ``config``, measured in interleaved pairs.

    Args:
        config: a ``TrainConfig`` (network, optimizer, image size and batch size are used).
        steps: timed pairs; warmup: untimed pairs before them.

    Returns:
        A JSON-ready dict: median step times (ms), the median of the per-pair ratios, the ratio
        of the mean times, and images per second for both sides.
    """
    import copy
    import logging

    import torch

    from coordbias.training.checkpoint import build_model
    from coordbias.training.datamodule import make_datasets
    from coordbias.training.module import SegmentationModule, make_optimizer

    torch.manual_seed(config.seed)
    model = build_model(config)
    bare_model = copy.deepcopy(model)  # the same network and weights, trained side by side
    small = dataclasses.replace(config, train_size=config.batch_size, val_size=1)
    train_set, _ = make_datasets(small)
    images = torch.stack([train_set[i][0] for i in range(config.batch_size)])
    masks = torch.stack([train_set[i][1] for i in range(config.batch_size)])
    batches = _Batches((images, masks), warmup + steps + 1)
    module = SegmentationModule(model, config.to_dict())

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        with tempfile.TemporaryDirectory() as log_dir:
            bare, lightning = _interleaved_fit(
                module,
                bare_model,
                make_optimizer(config, bare_model.parameters()),
                batches,
                warmup,
                steps,
                log_dir,
            )
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    bare_s, lightning_s = statistics.median(bare), statistics.median(lightning)
    ratios = [b_l[1] / b_l[0] for b_l in zip(bare, lightning)]
    return {
        "image_size": config.image_size,
        "width": config.width,
        "batch_size": config.batch_size,
        "conv": config.conv,
        "optimizer": config.optimizer,
        "steps": steps,
        "warmup": warmup,
        "threads": torch.get_num_threads(),
        "bare_step_ms": bare_s * 1e3,
        "lightning_step_ms": lightning_s * 1e3,
        "ratio": statistics.median(ratios),
        "ratio_of_means": sum(lightning) / sum(bare),
        "ratio_of_medians": lightning_s / bare_s,
        "bare_step_ms_all": [t * 1e3 for t in bare],
        "lightning_step_ms_all": [t * 1e3 for t in lightning],
        "bare_images_per_s": config.batch_size / bare_s,
        "lightning_images_per_s": config.batch_size / lightning_s,
    }


def run(
    *,
    out: str | os.PathLike[str] = "runs/bench",
    image_size: int | None = None,
    width: int | None = None,
    batch_size: int | None = None,
    conv: str = "vanilla",
    steps: int = 60,
    warmup: int = 5,
    original: bool = True,
    threads: int | None = None,
) -> int:
    """Measure, print a table and write ``OUT/train.json``; return 0.

    Args:
        out: the folder of ``train.json``.
        image_size: image side of the second setting (``None``: the quick setting's).
        width: network width of the second setting (``None``: the quick setting's).
        batch_size: batch size of the second setting (``None``: the quick setting's).
        conv: the convolution kind (``coordbias.models.CONV_KINDS``) of both settings.
        steps: timed pairs of steps (one bare, one Lightning) per setting.
        warmup: untimed pairs before them.
        original: also measure the original's setting (128 px, width 64, batch 1).
        threads: torch intra-op threads; ``None``: the process's own.

    Raises:
        UserValueError: a bad setting or an unwritable ``out``, before any timing starts.
    """
    from coordbias._util.errors import (
        UserValueError,
        check_count,
        check_folder_destination,
        user_input,
    )
    from coordbias._util.experiment import torch_threads
    from coordbias._util.files import write_json
    from coordbias.training.config import TrainConfig
    from coordbias.training.env import environment

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    quick = {k: v for k, v in quick_setting().items() if k in fields}
    given = {"image_size": image_size, "width": width, "batch_size": batch_size}
    quick.update({k: v for k, v in given.items() if v is not None})
    for name in ("image_size", "width", "batch_size"):
        if quick[name] < 1:
            raise UserValueError(f"--{name.replace('_', '-')} must be >= 1, got {quick[name]}")
    if steps < 1:
        raise UserValueError(f"--steps must be >= 1, got {steps}")
    if warmup < 0:
        raise UserValueError(f"--warmup must be >= 0, got {warmup}")
    check_count("--threads", threads)
    check_folder_destination(out, "--out")
    settings = []
    with user_input():  # TrainConfig's checks (conv, sizes) name the value the user gave
        if original:
            settings.append(("original", TrainConfig(conv=conv, progress=False)))
        settings.append(("quick", TrainConfig(**{**quick, "conv": conv, "progress": False})))
        for _, config in settings:
            config.validate()
    with torch_threads(threads):
        results = _measure_settings(settings, steps, warmup)
        env = environment("cpu")
    print(f"{'setting':<10}{'bare ms':>10}{'lightning ms':>14}{'ratio':>8}{'img/s':>9}")
    for name, row in results.items():
        print(
            f"{name:<10}{row['bare_step_ms']:>10.2f}{row['lightning_step_ms']:>14.2f}"
            f"{row['ratio']:>8.3f}{row['lightning_images_per_s']:>9.1f}"
        )
    payload = {"benchmark": "train", "settings": results, "env": env}
    path = Path(out) / "train.json"
    write_json(path, payload)
    print(f"written: {path}")
    return 0


def _measure_settings(settings: list, steps: int, warmup: int) -> dict[str, Any]:
    results = {}
    for name, config in settings:
        print(
            f"{name}: {config.image_size} px, width {config.width}, batch {config.batch_size}, "
            f"{config.optimizer}, {config.conv}"
        )
        results[name] = measure(config, steps=steps, warmup=warmup)
    return results
