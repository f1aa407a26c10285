"""The settings (:class:`NotSoClevrConfig`, :data:`QUICK`, :data:`FULL`) and the training loop."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from coordbias.data.notsoclevr import centres, encode, split_indices, targets
from coordbias.study.experiments._common import check_positive_int, seeded
from coordbias.training.loop import fit as train
from coordbias.training.notsoclevr import (
    BASELINES,
    MODELS,
    DeconvRecipe,
    accuracy,
    build_notsoclevr_model,
    make_optimizer,
    recipe,
)


@dataclass(frozen=True)
class NotSoClevrConfig:
    """Settings of the experiment.

    Attributes:
        width: channels of the hidden layers.
        epochs: passes over the training split.
        batch_size: examples per step (Liu et al.: 16).
        lr: Adam learning rate (Liu et al.: 0.005).
        weight_decay: L2 coefficient, Adam's coupled ``weight_decay`` (Liu et al.: 1e-3).
        models: which of :data:`MODELS` to train.
        max_steps: stop each run after this many steps (0: no limit).
        baseline_epochs: epochs of the deconvolution baselines (:data:`BASELINES`; 0: ``epochs``).
            Liu et al. trained theirs 1,000 to 2,000 epochs against 50 to 100 for CoordConv.
        baseline_lr_drop: the baselines' learning rate is divided by 10 from this epoch on
            (counted from 0; 0: never). Liu et al.'s sweep divided it by 10 every 200 epochs.
    """

    width: int = 8
    epochs: int = 2
    batch_size: int = 16
    lr: float = 0.005
    weight_decay: float = 1e-3
    models: tuple[str, ...] = ("vanilla", "coordconv", "coordbias")
    max_steps: int = 0
    baseline_epochs: int = 0
    baseline_lr_drop: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` / ``TypeError`` naming the first bad field."""
        for name in ("width", "epochs", "batch_size"):
            check_positive_int(name, getattr(self, name))
        for name in ("max_steps", "baseline_epochs", "baseline_lr_drop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int >= 0, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value}")
        if self.baseline_lr_drop and self.baseline_lr_drop >= self.epochs_of(BASELINES[0]):
            raise ValueError(
                f"baseline_lr_drop must be 0 or below the baselines' epochs "
                f"({self.epochs_of(BASELINES[0])}), got {self.baseline_lr_drop}"
            )
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ValueError(
                f"models must be a non-empty tuple of {', '.join(MODELS)}; got {self.models!r}"
            )

    def epochs_of(self, model: str) -> int:
        """Epochs of ``model``: ``baseline_epochs`` for a baseline if set, else ``epochs``."""
        return self.baseline_epochs if model in BASELINES and self.baseline_epochs else self.epochs

    def lr_drop_of(self, model: str) -> int:
        """Epoch from which ``model``'s learning rate is divided by 10 (0: never)."""
        return self.baseline_lr_drop if model in BASELINES else 0


#: About 40 s of CPU time on one thread.
QUICK = NotSoClevrConfig()
#: About 1,100 s of CPU time on one thread, estimated from measured parts: 268 s measured with
#: the deconv baseline at 10 epochs, plus its 60 epochs (about 90 s per split instead of 16) and
#: ``deconv_paper`` (about 330 s per split).
FULL = NotSoClevrConfig(
    width=16, epochs=10, batch_size=16, models=MODELS, baseline_epochs=60, baseline_lr_drop=45
)


def train_one(model_name: str, split: str, config: NotSoClevrConfig, seed: int) -> dict[str, Any]:
    """Train one model on one split; return accuracies, loss curve and timing."""
    spec = recipe(model_name, config.width) if model_name in BASELINES else None
    run = fit(
        model_name,
        spec,
        split,
        config,
        seed,
        epochs=config.epochs_of(model_name),
        lr_drop=config.lr_drop_of(model_name),
    )
    return {"model": model_name, "split": split, **run}


def fit(
    name: str,
    spec: DeconvRecipe | None,
    split: str,
    config: NotSoClevrConfig,
    seed: int,
    *,
    epochs: int,
    lr_drop: int,
) -> dict[str, Any]:
    """Train the model ``name`` (the baseline built from ``spec`` when given) on one split,
    through the one loop (:func:`coordbias.training.loop.fit`).

    Liu et al.'s protocol: a fixed schedule of ``epochs`` (or ``config.max_steps`` steps), no
    model selection, so the model tested is the last epoch's; the test accuracy after every
    epoch is only recorded. The learning rate is divided by 10 from epoch ``lr_drop`` on
    (counted from 0; 0: never).
    """
    c = centres()
    train_idx, test_idx = split_indices(split, seed)
    train_c, test_c = c[train_idx], c[test_idx]
    with seeded(seed):
        model = build_notsoclevr_model(name, config.width, spec)
    opt = make_optimizer(model, config.lr, config.weight_decay, spec)
    drop = (
        torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[lr_drop], gamma=0.1)
        if lr_drop
        else None
    )
    losses: list[float] = []

    def loss_of(net: torch.nn.Module, idx: torch.Tensor) -> torch.Tensor:
        batch = train_c[idx]
        return F.cross_entropy(net(encode(batch)), targets(batch))

    start, cpu_start = time.perf_counter(), time.process_time()
    run = train(
        model,
        opt,
        loss_of,
        train_c.shape[0],
        lambda net: {"test_acc": accuracy(net, test_c)},
        batch_size=config.batch_size,
        max_epochs=epochs,
        seed=seed + 1,
        monitor=None,
        max_steps=config.max_steps,
        after_backward=lambda _net, loss: losses.append(float(loss.detach())),
        scheduler=drop,
    )
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "steps": run.steps,
        "train_acc": accuracy(model, train_c),
        "test_acc": run.curve[-1]["test_acc"],
        "test_acc_per_epoch": [row["test_acc"] for row in run.curve],
        "final_loss": sum(losses[-10:]) / max(len(losses[-10:]), 1),
        "final_lr": opt.param_groups[0]["lr"],
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
    }
