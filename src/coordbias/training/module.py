"""``SegmentationModule``: the LightningModule training a segmentation network (cross-entropy).

Kept lean for speed: the per-step training loss is kept as a detached tensor and turned into
numbers once per epoch (no host-device sync per step); the validation loss is summed over all
pixels and reduced across processes once per epoch.
"""

from __future__ import annotations

import io
import os
import time
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from torch import Tensor, nn

from coordbias._util.files import write_bytes
from coordbias.training.config import TrainConfig

#: Key of this package's own entry in a Lightning checkpoint.
CHECKPOINT_KEY = "coordbias"


def make_optimizer(config: TrainConfig, parameters: Any) -> torch.optim.Optimizer:
    """The optimizer ``config`` names (``sgd`` with momentum, ``adam`` or ``adamw``)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer={config.optimizer!r} is not supported; accepted: sgd, adam, adamw")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with every checkpoint written by ``coordbias._util.files``.

    Lightning writes a checkpoint through ``fsspec``, which stages it in the system's temporary
    folder and moves it into place; across file systems that move is a copy, so a full disk left
    a ``last.ckpt`` cut short under its final name and the run could never resume. Here the bytes
    go to a temporary file in the checkpoint's own folder, are flushed to disk and renamed: a
    checkpoint under its final name is always whole, and a failed write leaves the previous one.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        write_bytes(path, buffer.getvalue())


class SegmentationModule(L.LightningModule):
    """Cross-entropy training of ``model`` on ``(image, mask)`` batches.

    Args:
        model: maps images ``(B, 3, H, W)`` to logits ``(B, C, H, W)``.
        config: the run's ``TrainConfig`` as a plain dict (stored in every checkpoint).

    Attributes:
        train_loss_history: training loss of every optimisation step so far (this process).
        val_loss_history: mean validation loss over all pixels, one per finished epoch.
        train_time_s, train_images: time spent in training batches and images seen in them by
            this process (validation excluded), over every ``fit`` call of the run: a resumed
            run starts from the totals its checkpoint recorded.
    """

    def __init__(self, model: nn.Module, config: dict[str, Any]):
        super().__init__()
        self.config = TrainConfig.from_dict(dict(config))
        self.save_hyperparameters(self.config.to_dict())
        self.model = model
        self.train_loss_history: list[float] = []
        self.val_loss_history: list[float] = []
        self._pending: list[Tensor] = []
        self._val_sum: Tensor | None = None
        self._val_count = 0
        self.train_time_s = 0.0
        self.train_images = 0
        self._epoch_start: float | None = None

    def forward(self, images: Tensor) -> Tensor:
        """Logits ``(B, C, H, W)`` of images ``(B, 3, H, W)``."""
        return self.model(images)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return make_optimizer(self.config, self.model.parameters())

    # --- training -------------------------------------------------------------------------
    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        images, masks = batch
        loss = F.cross_entropy(self.model(images), masks)
        self._pending.append(loss.detach())
        self.train_images += images.shape[0]
        if self._should_log_step():
            size = images.shape[0]
            self.log(
                "train_loss", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=size
            )
        return loss

    def _should_log_step(self) -> bool:
        """Whether this step's loss is written or shown: on the steps the loggers write
        (``log_every_n_steps``) and those the progress bar refreshes on. ``self.log`` costs
        about a millisecond on the CPU, so the other steps skip it."""
        trainer = self._trainer
        if trainer is None:
            return False
        connector = getattr(trainer, "_logger_connector", None)  # Lightning's own test of it
        if connector is None or connector.should_update_logs:
            return True
        bar = trainer.progress_bar_callback
        if bar is None:
            return False
        rate = max(1, int(getattr(bar, "refresh_rate", 1) or 1))
        return trainer.global_step % rate == 0

    def _sync_clock(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def on_train_epoch_start(self) -> None:
        self._epoch_start = self._sync_clock()

    def _stop_epoch_clock(self) -> None:
        if self._epoch_start is not None:
            self.train_time_s += self._sync_clock() - self._epoch_start
            self._epoch_start = None

    def _flush_pending(self) -> None:
        if self._pending:
            self.train_loss_history.extend(torch.stack(self._pending).float().cpu().tolist())
            self._pending.clear()

    def on_train_epoch_end(self) -> None:
        self._stop_epoch_clock()
        self._flush_pending()

    # --- validation -----------------------------------------------------------------------
    def on_validation_epoch_start(self) -> None:
        if not self.trainer.sanity_checking:
            self._stop_epoch_clock()  # validation runs inside the training epoch
        self._val_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        self._val_count = 0

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        images, masks = batch
        loss = F.cross_entropy(self.model(images), masks, reduction="sum")
        assert self._val_sum is not None
        self._val_sum += loss.detach().double()
        self._val_count += masks.numel()

    def on_validation_epoch_end(self) -> None:
        assert self._val_sum is not None
        totals = torch.stack([self._val_sum, self._val_sum.new_tensor(float(self._val_count))])
        totals = self.trainer.strategy.reduce(totals, reduce_op="sum")
        val_loss = float(totals[0] / totals[1].clamp_min(1))
        self.log("val_loss", val_loss, on_step=False, on_epoch=True, prog_bar=True)
        if not self.trainer.sanity_checking:
            self.val_loss_history.append(val_loss)

    # --- checkpoints ----------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._flush_pending()
        checkpoint[CHECKPOINT_KEY] = {
            "config": self.config.to_dict(),
            "train_loss": list(self.train_loss_history),
            "val_loss": list(self.val_loss_history),
            # Processes that trained: each takes batch_size images a step, so a resume must
            # run as many (coordbias.training.run).
            "world_size": self._trainer.world_size if self._trainer is not None else 1,
            # Summed over every fit call of the run, so that its throughput survives kills.
            "train_images": self.train_images,
            "train_time_s": self.train_time_s,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY, {})
        self.train_loss_history = list(saved.get("train_loss", []))
        self.val_loss_history = list(saved.get("val_loss", []))
        self.train_images = int(saved.get("train_images", 0))
        self.train_time_s = float(saved.get("train_time_s", 0.0))
