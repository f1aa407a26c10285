"""``train(config)``: one training run with Lightning, written into its own folder.

The run folder (``config.out_dir``) holds:

- ``config.yaml``: the resolved ``TrainConfig``;
- ``metrics.csv``: train loss every few steps, val loss per epoch (Lightning's CSV format, kept
  whole across any number of resumptions: ``coordbias.training.logs``), and ``tensorboard/``
  when TensorBoard is installed;
- ``checkpoints/``: ``epoch=N.ckpt`` after every epoch (N counts from 0, Lightning's way) and
  ``last.ckpt``, from which ``resume=True`` continues;
- ``model.pt``: the final ``state_dict`` with the config; ``eval.json``: ``evaluate()`` on the
  validation split; ``env.json``: versions, device, threads; ``figures/``: loss curves, recall,
  predictions;
- ``result.json``: the ``TrainResult``, written last: its presence means the run finished.

A run's settings are its identity (``coordbias.training.config.IDENTITY_FIELDS``): ``resume=True``
refuses, before it writes anything, a config that differs from the run on disk in any field that
shapes the weights or the evaluation, or in the number of training processes. A finished run
resumed with the same settings is left alone; one resumed with a larger ``epochs`` trains further,
and every file it then writes describes the longer run (its ``result.json`` is removed first, so
that an interrupted continuation does not pass for a finished run).
"""

from __future__ import annotations

import contextlib
import dataclasses
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

from coordbias._util.errors import (
    UserError,
    UserFileExistsError,
    UserValueError,
    check_folder_destination,
    check_readable_file,
)
from coordbias._util.files import read_json, write_json
from coordbias.training.checkpoint import (
    LAST_CHECKPOINT,
    MODEL_FILE,
    build_model,
    load_model,
    newest_readable_checkpoint,
    read_checkpoint,
    save_model,
)
from coordbias.training.config import (
    PRECISIONS,
    TrainConfig,
    parse_devices,
    read_run_config,
    refuse_resume,
    resume_conflicts,
)
from coordbias.training.datamodule import CirclesDataModule, make_datasets, make_loader
from coordbias.training.env import environment
from coordbias.training.logs import run_loggers

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
CONFIG_FILE = "config.yaml"
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
            over every epoch of the run: the images and training time of each invocation that
            trained (a resumed one included) are summed in the checkpoints, so a run killed and
            resumed reports the figure of what is on disk.
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
        """Read a finished run's ``result.json``, checked for every entry and its type.

        Raises:
            FileNotFoundError: the file is missing (the run has not finished).
            UserValueError: the file is damaged (cut short, not JSON, an entry missing or of the
                wrong type); the message names it and says how to redo it.
        """
        path = Path(run_dir) / RESULT_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{str(path)!r} does not exist: the run has not finished")
        try:
            return _read_result(path)
        except UserValueError as error:
            raise UserValueError(
                f"{error}; train the run again with --resume (resume=True) to redo its "
                "evaluation and rewrite the file"
            ) from None


def _read_result(path: Path) -> TrainResult:
    """The ``TrainResult`` in ``path``.

    Raises:
        UserValueError: ``'PATH' is damaged (what is wrong)``.
    """
    values = read_json(path)
    try:
        _check_result(values)
        return TrainResult.from_dict(values)
    except (TypeError, ValueError) as error:
        detail = " ".join(str(error).split())
        raise UserValueError(f"{str(path)!r} is damaged ({detail})") from None


def _check_result(values: Any) -> None:
    """Raise ``TypeError`` naming the first entry of a ``result.json`` mapping that is wrong."""
    kinds = {
        "run_dir": str,
        "metrics": dict,
        "val_loss": list,
        "train_loss": list,
        "train_images_per_s": (int, float),
        "params": int,
        "wall_time_s": (int, float),
    }
    if not isinstance(values, dict):
        raise TypeError(f"it holds a {type(values).__name__}, not a mapping")
    missing = sorted(set(kinds) - set(values))
    if missing:
        raise TypeError(f"it lacks {', '.join(missing)}")
    for name, kind in kinds.items():
        if isinstance(values[name], bool) or not isinstance(values[name], kind):
            raise TypeError(f"{name} is a {type(values[name]).__name__}")


def load_run(run_dir: str | os.PathLike) -> tuple[TrainConfig, nn.Module]:
    """The config and final network (eval mode, CPU) of a run folder, ``model.pt`` or ``.ckpt``.

    A run folder gives its ``model.pt``, or ``checkpoints/last.ckpt`` when the run was stopped.
    Weights are read with ``torch.load(..., weights_only=True)``.
    """
    return load_model(run_dir)


def resolve_accelerator(accelerator: str) -> str:
    """The concrete accelerator ``auto`` / ``gpu`` stand for on this machine.

    Raises:
        UserValueError: ``gpu``, ``cuda`` or ``mps`` asked for on a machine without one.

    Example:
        >>> resolve_accelerator("cpu")
        'cpu'
    """
    cuda = torch.cuda.is_available()
    mps_backend = getattr(torch.backends, "mps", None)
    mps = mps_backend is not None and mps_backend.is_available()
    here = ", ".join(["auto", "cpu", *(["gpu", "cuda"] if cuda else []), *(["mps"] if mps else [])])
    if accelerator in ("auto", "gpu"):
        if cuda:
            return "cuda"
        if mps:
            return "mps"
        if accelerator == "gpu":
            raise UserValueError(
                f"accelerator='gpu' but neither CUDA nor MPS is available here; accepted on this "
                f"machine: {here}"
            )
        return "cpu"
    if (accelerator == "cuda" and not cuda) or (accelerator == "mps" and not mps):
        raise UserValueError(
            f"accelerator={accelerator!r} but {accelerator.upper()} is not available here; "
            f"accepted on this machine: {here}"
        )
    return accelerator


def check_precision(precision: str, accelerator: str) -> None:
    """Refuse a precision that would not run as named on ``accelerator`` (a concrete one).

    Lightning turns ``16-mixed`` on the CPU into ``bf16-mixed`` with a warning, so the run's
    ``config.yaml`` would name a precision that did not run: it is refused here instead.

    Raises:
        UserValueError: naming the precision and the ones accepted on this accelerator.

    Example:
        >>> check_precision("bf16-mixed", "cpu")
    """
    if precision == "16-mixed" and accelerator == "cpu":
        accepted = ", ".join(p for p in PRECISIONS if p != "16-mixed")
        raise UserValueError(
            "precision='16-mixed' needs a GPU: float16 mixed precision does not run on the CPU "
            "(Lightning would run bf16-mixed instead); accepted on the CPU: "
            f"{accepted}"
        )


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


@dataclass(frozen=True)
class _RunDir:
    """What ``config.out_dir`` holds, once checked against the config (nothing written yet).

    Attributes:
        finished: the stored result of a run that already finished with these very settings.
        checkpoint: the checkpoint to resume from, if any.
        first_step: optimizer steps done in ``checkpoint`` (0 without one).
        world_size: training processes recorded in ``checkpoint`` (``None``: not recorded).
        continues_finished: the folder holds a ``result.json`` (a finished run that trains
            further, or a damaged one) that is removed before anything else is written.
    """

    finished: TrainResult | None = None
    checkpoint: Path | None = None
    first_step: int = 0
    world_size: int | None = None
    continues_finished: bool = False


def _inspect_run_dir(config: TrainConfig, run_dir: Path) -> _RunDir:
    """Check ``run_dir`` against ``config`` and say what ``train`` will do there; writes nothing.

    Raises:
        UserFileExistsError: a run is there and ``resume`` is false.
        UserValueError: ``resume`` asks for settings the run on disk was not trained with, or a
            longer run of a finished one whose checkpoint is gone.
    """
    result_file = run_dir / RESULT_FILE
    if not config.resume:
        ckpt_dir = run_dir / "checkpoints"
        if result_file.exists() or (ckpt_dir.is_dir() and any(ckpt_dir.iterdir())):
            raise UserFileExistsError(
                f"out_dir={str(run_dir)!r} already holds a run; pass resume=True (--resume) to "
                "continue it, or choose another out_dir"
            )
        return _RunDir()
    recorded: list[tuple[Path, TrainConfig]] = []
    config_file = run_dir / CONFIG_FILE
    damaged_config: str | None = None
    if config_file.is_file():
        check_readable_file(config_file, "the run's")  # a permission error is not damage
        try:
            recorded.append((config_file, read_run_config(config_file)))
        except UserError as error:
            damaged_config = str(error)
    found = newest_readable_checkpoint(run_dir)
    if found is not None:
        recorded.append((found[0], found[2]))
    for source, saved in recorded:
        conflicts = resume_conflicts(saved, config)
        if conflicts:
            refuse_resume(source, conflicts)
    if damaged_config is not None:
        if found is None and (result_file.exists() or (run_dir / MODEL_FILE).exists()):
            raise UserValueError(
                f"{damaged_config}; no checkpoint of the run records its settings either, so "
                f"it cannot be resumed safely: restore {CONFIG_FILE} or choose another out_dir"
            )
        log.warning("%s; it is rewritten from the settings asked for", damaged_config)
    planned_epochs = max((saved.epochs for _, saved in recorded), default=config.epochs)
    stored: TrainResult | None = None
    if result_file.is_file():
        try:
            stored = _read_result(result_file)
        except UserValueError as error:
            log.warning("%s: the run counts as unfinished and what is missing is redone", error)
    if stored is not None and config.epochs == planned_epochs and damaged_config is None:
        return _RunDir(finished=stored)
    if found is None:
        if stored is not None and config.epochs > planned_epochs:
            raise UserValueError(
                f"out_dir={str(run_dir)!r} holds a finished run of {planned_epochs} epochs but no "
                f"{LAST_CHECKPOINT} to continue it from to epochs={config.epochs}"
            )
        log.info("no checkpoint in %s: starting the run from scratch", run_dir)
        return _RunDir(continues_finished=result_file.exists())
    payload = found[1]
    world = payload.get("coordbias", {}).get("world_size")
    return _RunDir(
        checkpoint=found[0],
        first_step=int(payload.get("global_step", 0)),
        world_size=int(world) if world is not None else None,
        continues_finished=result_file.exists(),
    )


def finished_run(config: TrainConfig) -> TrainResult | None:
    """The stored result when ``config`` resumes a run that already finished with the same
    settings (``train(config)`` would then do nothing), else ``None``.

    Raises:
        UserFileExistsError, UserValueError: as ``train`` would, before it writes anything.
    """
    config.validate()
    return _inspect_run_dir(config, Path(config.out_dir)).finished


def _make_trainer(config: TrainConfig, accelerator: str, **kwargs: Any) -> Any:
    """``lightning.Trainer`` for ``config``'s runtime fields; a combination Lightning refuses
    (strategy, devices, precision on this accelerator) is the user's to fix."""
    import lightning as L
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    runtime = {
        "accelerator": accelerator,
        "devices": parse_devices(config.devices),
        "num_nodes": config.num_nodes,
        "strategy": config.strategy,
        "precision": config.precision,
    }
    try:
        return L.Trainer(**runtime, **kwargs)
    except (MisconfigurationException, ValueError, TypeError) as error:
        given = ", ".join(
            f"{name}={getattr(config, name)!r}"
            for name in ("accelerator", "devices", "num_nodes", "strategy", "precision")
        )
        detail = " ".join(str(error).split())
        raise UserValueError(f"Lightning cannot run {given}: {detail}") from None


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
    from coordbias.training.metrics import input_dtype

    folder = run_dir / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    figures.plot_loss_curves(train_loss, val_loss, folder / "loss_curves.png")
    figures.plot_recall(metrics["recall"], folder / "recall.png", title=f"{config.conv}: recall")
    count = min(_FIGURE_SAMPLES, len(val))
    images = torch.stack([val[i][0] for i in range(count)])
    masks = torch.stack([val[i][1] for i in range(count)])
    with torch.no_grad():
        preds = model(images.to(device, dtype=input_dtype(model))).argmax(1).cpu()
    figures.plot_predictions(
        images, masks, preds, folder / "predictions.png", num_classes=config.num_classes
    )


def _begin(trainer: Any, config: TrainConfig, run_dir: Path, state: _RunDir) -> None:
    """The last check (the number of processes), then the first writes of the run folder."""
    if state.world_size is not None and trainer.world_size != state.world_size:
        raise UserValueError(
            f"out_dir={str(run_dir)!r} holds a run trained by {state.world_size} process(es), "
            f"but devices={config.devices!r} and num_nodes={config.num_nodes!r} give "
            f"{trainer.world_size}; each process takes batch_size images a step, so that would "
            "change the run: resume it with as many processes (nothing was written)"
        )
    if not trainer.is_global_zero:
        return
    if state.continues_finished:  # the marker first: the folder now holds a run underway
        (run_dir / RESULT_FILE).unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    config.to_yaml(run_dir / CONFIG_FILE)


def train(config: TrainConfig, datasets: tuple[Dataset, Dataset] | None = None) -> TrainResult:
    """Train the network ``config`` describes and write the run folder ``config.out_dir``.

    Every check runs before the first file is written: the settings, the run folder (a run
    there, the settings it was trained with), that the folder can be written, the accelerator and
    the data.

    Args:
        config: every setting of the run; validated first.
        datasets: ``(train, val)`` to use instead of ``make_datasets(config)`` (tests, the study).

    Returns:
        The ``TrainResult`` (also in ``result.json``). Under DDP every process returns one; only
        process 0's has ``metrics`` and wrote the folder. ``resume`` on a run that finished with
        the same settings returns its stored result and writes nothing.

    Raises:
        ValueError, TypeError: a bad setting.
        UserValueError: ``resume`` with settings the run on disk was not trained with (naming
            each field and both values), a folder that cannot be written, an accelerator this
            machine lacks, bad data.
        UserFileExistsError: ``out_dir`` holds a run and ``resume`` is false.
    """
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from coordbias.training.metrics import evaluate
    from coordbias.training.module import AtomicCheckpointIO, SegmentationModule

    start = time.perf_counter()
    config.validate()
    run_dir = Path(config.out_dir)
    state = _inspect_run_dir(config, run_dir)
    if state.finished is not None:
        log.info("%s already finished with this config: nothing to train", run_dir)
        return state.finished
    check_folder_destination(run_dir, "out_dir")
    accelerator = resolve_accelerator(config.accelerator)
    check_precision(config.precision, accelerator)
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
    try:
        with warnings.catch_warnings(), _quiet_lightning(not config.progress):
            for pattern in _QUIET:
                warnings.filterwarnings("ignore", message=pattern)
            trainer = _make_trainer(
                config,
                accelerator,
                max_epochs=config.epochs,
                # Bitwise reproducible on the CPU; elsewhere some kernels have no deterministic
                # version, so ask for them but only warn.
                deterministic=True if accelerator == "cpu" else "warn",
                logger=run_loggers(run_dir, state.first_step),
                callbacks=[checkpoints, *_progress_bar(config, steps)],
                plugins=[AtomicCheckpointIO()],
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
            _begin(trainer, config, run_dir, state)
            ckpt_path = str(state.checkpoint) if state.checkpoint else None
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    finally:  # Lightning switched deterministic algorithms on for the whole process
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


__all__ = ["TrainResult", "build_model", "finished_run", "load_run", "make_datasets", "train"]
