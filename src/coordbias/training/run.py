"""``train(config)``: one training run with Lightning, written into its own folder.

The run folder (``config.out_dir``) holds:

- ``config.yaml``: the resolved ``TrainConfig``;
- ``metrics.csv``: Lightning's CSVLogger (train loss every few steps, val loss per epoch), and
  ``tensorboard/`` when TensorBoard is installed;
- ``checkpoints/``: ``epoch=N.ckpt`` after every epoch (N counts from 0, Lightning's way) and
  ``last.ckpt``, from which ``resume=True`` continues;
- ``model.pt``: the final ``state_dict`` with the config; ``eval.json``: ``evaluate()`` on the
  validation split; ``env.json``: versions, device, threads; ``figures/``: loss curves, recall,
  predictions;
- ``result.json``: the ``TrainResult``, written last: its presence means the run finished.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from coordbias._util.files import write_json, write_text
from coordbias.training.checkpoint import (
    LAST_CHECKPOINT,
    MODEL_FILE,
    build_model,
    check_same_model,
    load_model,
    read_checkpoint,
    save_model,
    unpack_checkpoint,
)
from coordbias.training.config import TrainConfig, parse_devices
from coordbias.training.datamodule import CirclesDataModule, make_datasets, make_loader
from coordbias.training.env import environment

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
# Fields that may change between a run and its resumption without changing what it computes.
_RUNTIME_FIELDS = (
    "accelerator",
    "devices",
    "num_nodes",
    "strategy",
    "workers",
    "resume",
    "progress",
    "out_dir",
)
_FIGURE_SAMPLES = 4
# Lightning warnings that say nothing useful for this package's runs.
_QUIET = (
    r".*does not have many workers.*",
    r"Experiment logs directory .* exists and is not empty.*",
    r".*log_every_n_steps.*",
    r"Checkpoint directory .* exists and is not empty.*",
    r".*`max_epochs=\d+` reached.*",
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",
    r".*It is recommended to use `self.log\(.val_loss.*",
)
_LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")


@dataclass
class TrainResult:
    """What ``train`` returns (and writes as ``result.json``).

    Attributes:
        run_dir: the run folder.
        metrics: ``evaluate()`` on the validation split (recall, precision, iou, miou, ...).
        val_loss: mean validation loss over all pixels, one per epoch.
        train_loss: training loss of every step (of process 0 under DDP).
        train_images_per_s: training images per second over all processes, validation excluded,
            over the epochs this call trained (a resumed call counts only its own epochs).
        params: number of parameters of the network.
        wall_time_s: seconds this call took, evaluation and figures included.
    """

    run_dir: Path
    metrics: dict
    val_loss: list[float]
    train_loss: list[float]
    train_images_per_s: float
    params: int
    wall_time_s: float

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["run_dir"] = str(self.run_dir)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainResult:
        values = dict(values)
        values["run_dir"] = Path(values["run_dir"])
        return cls(**values)

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> TrainResult:
        """Read a finished run's ``result.json``."""
        path = Path(run_dir) / RESULT_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{str(path)!r} does not exist: the run has not finished")
        return cls.from_dict(json.loads(path.read_text()))


def load_run(run_dir: str | os.PathLike) -> tuple[TrainConfig, nn.Module]:
    """The config and final network (eval mode, CPU) of a run folder, ``model.pt`` or ``.ckpt``.

    A run folder gives its ``model.pt``, or ``checkpoints/last.ckpt`` when the run was stopped.
    Weights are read with ``torch.load(..., weights_only=True)``.
    """
    return load_model(run_dir)


def resolve_accelerator(accelerator: str) -> str:
    """The concrete accelerator ``auto`` / ``gpu`` stand for on this machine.

    Example:
        >>> resolve_accelerator("cpu")
        'cpu'
    """
    if accelerator in ("auto", "gpu"):
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        if accelerator == "gpu":
            raise ValueError("accelerator='gpu' but neither CUDA nor MPS is available here")
        return "cpu"
    return accelerator


@contextlib.contextmanager
def _quiet_lightning(quiet: bool) -> Iterator[None]:
    """Hide Lightning's informational chatter (device summary, tips) when ``quiet``."""
    loggers = [logging.getLogger(name) for name in _LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    if quiet:
        for logger in loggers:
            logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _progress_bar(config: TrainConfig, steps: int) -> list:
    """A progress bar refreshed about 100 times an epoch (not every step), when asked for."""
    if not config.progress:
        return []
    from lightning.pytorch.callbacks import TQDMProgressBar

    return [TQDMProgressBar(refresh_rate=max(1, min(20, steps // 100)))]


def _finished_result(config: TrainConfig, run_dir: Path) -> TrainResult | None:
    """The stored result when ``resume`` asks for a run that already finished as configured."""
    if not (config.resume and (run_dir / RESULT_FILE).is_file()):
        return None
    if not (run_dir / "config.yaml").is_file():
        return None
    saved = TrainConfig.from_yaml(run_dir / "config.yaml")
    runtime = {name: getattr(config, name) for name in _RUNTIME_FIELDS}
    if dataclasses.replace(saved, **runtime) != config:
        return None
    log.info("%s already finished with this config: nothing to train", run_dir)
    return TrainResult.load(run_dir)


def _prepare_run_dir(config: TrainConfig, run_dir: Path) -> str | None:
    """Check the folder against ``config.resume``; return the checkpoint to resume from."""
    last = run_dir / LAST_CHECKPOINT
    if config.resume:
        if not last.is_file():
            log.info("no %s in %s: starting the run from scratch", LAST_CHECKPOINT, run_dir)
            return None
        saved, _ = unpack_checkpoint(read_checkpoint(last), last)
        check_same_model(saved, config, last)
        return str(last)
    ckpt_dir = run_dir / "checkpoints"
    if (run_dir / RESULT_FILE).exists() or (ckpt_dir.is_dir() and any(ckpt_dir.iterdir())):
        raise FileExistsError(
            f"out_dir={str(run_dir)!r} already holds a run; pass resume=True (--resume) to "
            "continue it, or choose another out_dir"
        )
    return None


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _merge_metrics_csv(path: Path, earlier: list[dict[str, str]], first_step: int) -> None:
    """Put back the rows of the interrupted run before ``first_step`` (CSVLogger drops them)."""
    if not earlier:
        return
    later = _read_csv(path)
    kept = [row for row in earlier if row.get("step") and int(row["step"]) < first_step]
    rows = kept + later
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def _loggers(run_dir: Path) -> list:
    import importlib.util

    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    loggers: list = [CSVLogger(save_dir=str(run_dir), name="", version="")]
    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        loggers.append(TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version=""))
    return loggers


def _write_figures(
    run_dir: Path,
    config: TrainConfig,
    model: nn.Module,
    val: Dataset,
    metrics: dict,
    train_loss: list[float],
    val_loss: list[float],
    device: torch.device,
) -> None:
    from coordbias.training import figures

    folder = run_dir / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    figures.plot_loss_curves(train_loss, val_loss, folder / "loss_curves.png")
    figures.plot_recall(metrics["recall"], folder / "recall.png", title=f"{config.conv}: recall")
    count = min(_FIGURE_SAMPLES, len(val))
    images = torch.stack([val[i][0] for i in range(count)])
    masks = torch.stack([val[i][1] for i in range(count)])
    with torch.no_grad():
        preds = model(images.to(device)).argmax(1).cpu()
    figures.plot_predictions(
        images, masks, preds, folder / "predictions.png", num_classes=config.num_classes
    )


def train(config: TrainConfig, datasets: tuple[Dataset, Dataset] | None = None) -> TrainResult:
    """Train the network ``config`` describes and write the run folder ``config.out_dir``.

    Args:
        config: every setting of the run; validated first.
        datasets: ``(train, val)`` to use instead of ``make_datasets(config)`` (tests, the study).

    Returns:
        The ``TrainResult`` (also in ``result.json``). Under DDP every process returns one; only
        process 0's has ``metrics`` and wrote the folder.

    Raises:
        ValueError, TypeError: a bad setting, or ``resume`` on a checkpoint of another model.
            ``resume`` on a run that finished with the same settings returns its stored result.
        FileExistsError: ``out_dir`` holds a run and ``resume`` is false.
    """
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from coordbias.training.metrics import evaluate
    from coordbias.training.module import SegmentationModule

    start = time.perf_counter()
    config.validate()
    run_dir = Path(config.out_dir)
    finished = _finished_result(config, run_dir)
    if finished is not None:
        return finished
    accelerator = resolve_accelerator(config.accelerator)
    if accelerator == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    datamodule = CirclesDataModule(config, datasets)
    train_set, val_set = datamodule.datasets
    steps = max(1, math.ceil(len(train_set) / config.batch_size))

    L.seed_everything(config.seed, workers=True, verbose=False)
    model = build_model(config)
    module = SegmentationModule(model, config.to_dict())
    checkpoints = ModelCheckpoint(
        dirpath=str(run_dir / "checkpoints"),
        filename="epoch={epoch}",
        auto_insert_metric_name=False,
        save_top_k=-1,
        every_n_epochs=1,
        save_last=True,
        save_on_train_epoch_end=True,
    )
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    with warnings.catch_warnings(), _quiet_lightning(not config.progress):
        for pattern in _QUIET:
            warnings.filterwarnings("ignore", message=pattern)
        trainer = L.Trainer(
            max_epochs=config.epochs,
            accelerator=accelerator,
            devices=parse_devices(config.devices),
            num_nodes=config.num_nodes,
            strategy=config.strategy,
            precision=config.precision,
            # Bitwise reproducible on the CPU; elsewhere some kernels have no deterministic
            # version, so ask for them but only warn.
            deterministic=True if accelerator == "cpu" else "warn",
            logger=_loggers(run_dir),
            callbacks=[checkpoints, *_progress_bar(config, steps)],
            enable_progress_bar=config.progress,
            enable_model_summary=config.progress,
            log_every_n_steps=min(50, steps),
            num_sanity_val_steps=0,
            # Under DDP on GPUs, BatchNorm statistics span all processes' images, so that N
            # processes with batch B train like one process with batch N * B. torch has no
            # SyncBatchNorm on the CPU: there each process normalises over its own B images.
            sync_batchnorm=accelerator == "cuda",
            use_distributed_sampler=False,  # CirclesDataModule shards with (seed, epoch) order
            default_root_dir=str(run_dir),
        )
        ckpt_path = None
        earlier_rows: list[dict[str, str]] = []
        if trainer.is_global_zero:
            ckpt_path = _prepare_run_dir(config, run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            config.to_yaml(run_dir / "config.yaml")
            earlier_rows = _read_csv(run_dir / "metrics.csv") if ckpt_path else []
        elif config.resume and (run_dir / LAST_CHECKPOINT).is_file():
            ckpt_path = str(run_dir / LAST_CHECKPOINT)
        first_step = 0
        if ckpt_path:
            first_step = int(read_checkpoint(ckpt_path).get("global_step", 0))
        try:
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        finally:
            torch.use_deterministic_algorithms(was_deterministic)

    # Process 0 evaluates alone: leave the process group so that no metric tries to sync.
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    train_loss, val_loss = module.train_loss_history, module.val_loss_history
    params = sum(p.numel() for p in module.model.parameters())
    world = trainer.world_size
    per_s = module.train_images * world / module.train_time_s if module.train_time_s > 0 else 0.0
    if not trainer.is_global_zero:
        return TrainResult(run_dir, {}, val_loss, train_loss, per_s, params, 0.0)
    if not val_loss and (run_dir / LAST_CHECKPOINT).is_file():  # ddp_spawn: ran elsewhere
        saved = read_checkpoint(run_dir / LAST_CHECKPOINT).get("coordbias", {})
        train_loss, val_loss = saved.get("train_loss", []), saved.get("val_loss", [])

    net = module.model
    device = trainer.strategy.root_device
    net.to(device).eval()
    save_model(run_dir / MODEL_FILE, net, config)
    loader = make_loader(
        val_set, batch_size=max(config.batch_size, 16), shuffle=False, workers=config.workers
    )
    metrics = evaluate(net, loader, num_classes=config.num_classes, device=device)
    write_json(run_dir / "eval.json", metrics)
    _write_figures(run_dir, config, net, val_set, metrics, train_loss, val_loss, device)
    _merge_metrics_csv(run_dir / "metrics.csv", earlier_rows, first_step)
    write_json(
        run_dir / "env.json",
        environment(device, accelerator=accelerator, world_size=world, precision=config.precision),
    )
    result = TrainResult(
        run_dir=run_dir,
        metrics=metrics,
        val_loss=list(val_loss),
        train_loss=list(train_loss),
        train_images_per_s=per_s,
        params=params,
        wall_time_s=time.perf_counter() - start,
    )
    write_json(run_dir / RESULT_FILE, result.to_dict())
    return result


__all__ = ["TrainResult", "build_model", "load_run", "make_datasets", "train"]
