"""One plain PyTorch supervised loop: epochs of seeded batches, a validation after each epoch,
early stopping with patience, the best epoch's weights restored, a per-epoch curve.

The benchmark's cells (the circles FCN, the Red-Green network, Liu et al.'s Not-so-Clevr
networks) and the study's BatchNorm and Not-so-Clevr experiments all train through :func:`fit`,
so two of them differ only in what they are given: the model, the optimiser, the loss of a batch,
the validation and the hooks. It holds no Lightning, no logger and no checkpoint: a benchmark cell
or an experiment is short and is rerun whole when interrupted.

The rule, once:

- an epoch visits the training indices ``0 .. n - 1`` in batches of ``batch_size``, in an order
  drawn from ``torch.Generator().manual_seed(seed)`` (a fresh permutation per epoch), or in their
  own order when ``shuffle`` is off (Kayhan and van Gemert's protocol);
- after every epoch ``validate(model)`` (in ``eval`` mode, without gradients) returns numbers;
  ``monitor`` names the one that decides: an epoch *improves* when it is strictly better than
  every earlier epoch (lower, or higher with ``higher_is_better``);
- training stops after ``patience`` epochs in a row without improvement (``None``: never early),
  or after ``max_epochs``, or after ``max_steps`` optimiser steps (0: no limit);
- the weights of the best epoch are put back into ``model`` before :func:`fit` returns, so what
  the caller tests is the model chosen on validation; with ``monitor=None`` nothing is chosen:
  the validation numbers are only recorded and the model keeps its last epoch's weights (the
  study's experiments, which report the end of a fixed schedule);
- ``after_backward(model, loss)``, when given, runs after every backward pass and before the
  optimiser's step (where a caller reads the gradients), and ``scheduler``, when given, steps
  once after every epoch (a learning-rate schedule by epoch).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

__all__ = ["FitResult", "fit"]


@dataclass
class FitResult:
    """What :func:`fit` did.

    Attributes:
        best_epoch: the epoch (from 1) whose weights the model holds now.
        best: the ``monitor`` value at that epoch.
        epochs_run: epochs trained.
        stopped_early: stopped by the patience rule, before ``max_epochs``.
        reached: stopped by ``stop_when``, before ``max_epochs``.
        steps: optimiser steps taken.
        curve: one dict per epoch: ``epoch``, ``train_loss`` (the mean of the epoch's batch
            losses) and every number ``validate`` returned.
        step_s: median seconds of one training step (forward, backward, optimiser).
        final_train_loss: ``train_loss`` of the last epoch run.
    """

    best_epoch: int
    best: float
    epochs_run: int
    stopped_early: bool
    reached: bool
    steps: int
    curve: list[dict[str, float]] = field(default_factory=list)
    step_s: float = 0.0
    final_train_loss: float = math.nan

    def best_row(self) -> dict[str, float]:
        """The curve's row of the best epoch."""
        return self.curve[self.best_epoch - 1]


def _better(value: float, best: float, higher_is_better: bool) -> bool:
    if math.isnan(value):
        return False
    return value > best if higher_is_better else value < best


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_of: Callable[[nn.Module, Tensor], Tensor],
    n_train: int,
    validate: Callable[[nn.Module], Mapping[str, float]],
    *,
    batch_size: int,
    max_epochs: int,
    seed: int,
    monitor: str | None = "val_loss",
    higher_is_better: bool = False,
    patience: int | None = None,
    shuffle: bool = True,
    max_steps: int = 0,
    after_backward: Callable[[nn.Module, Tensor], None] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    stop_when: Callable[[Mapping[str, float]], bool] | None = None,
) -> FitResult:
    """Train ``model`` and keep its best epoch on validation (see the module docstring).

    Args:
        model: the network; trained in place and left with the best epoch's weights.
        optimizer: over ``model``'s parameters.
        loss_of: ``loss_of(model, idx)`` is the loss of the training samples ``idx`` (an int64
            index tensor into ``0 .. n_train - 1``).
        n_train: training samples.
        validate: the validation numbers of ``model``, e.g. ``{"val_loss": ..., "val_metric":
            ...}``; must hold ``monitor``.
        batch_size: samples per step (the last batch of an epoch may be smaller).
        max_epochs: at most this many epochs.
        seed: seeds the batch order.
        monitor: the key of ``validate``'s numbers that early stopping and the best epoch follow;
            ``None``: no selection, the model keeps its last epoch (``patience`` must be
            ``None``; ``best_epoch`` is then the last epoch and ``best`` is NaN).
        higher_is_better: direction of ``monitor``.
        patience: stop after this many epochs in a row without improvement; ``None``: never.
        shuffle: draw a new order every epoch (else the samples' own order).
        max_steps: stop after this many optimiser steps (0: no limit).
        after_backward: called as ``after_backward(model, loss)`` after each backward pass,
            before the optimiser's step (the gradients are in the parameters' ``.grad``).
        scheduler: a learning-rate scheduler over ``optimizer``, stepped after every epoch.
        stop_when: ``stop_when(numbers)`` of an epoch's validation numbers; true stops training
            after that epoch (a task solved on validation: nothing left to gain). The best epoch
            is still chosen by ``monitor``.

    Returns:
        A :class:`FitResult`.

    Raises:
        ValueError: a count that cannot work, or ``validate`` without ``monitor``.

    Example:
        >>> net = nn.Linear(1, 1)
        >>> x = torch.linspace(-1, 1, 8)[:, None]
        >>> def loss_of(m, idx):
        ...     return ((m(x[idx]) - 2 * x[idx]) ** 2).mean()
        >>> def validate(m):
        ...     return {"val_loss": float(((m(x) - 2 * x) ** 2).mean())}
        >>> opt = torch.optim.SGD(net.parameters(), lr=0.5)
        >>> out = fit(net, opt, loss_of, 8, validate, batch_size=4, max_epochs=20, seed=0)
        >>> out.epochs_run, out.best < 1e-3
        (20, True)
    """
    for name, value, low in (("n_train", n_train, 1), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"max_epochs must be an int >= 1, got {max_epochs!r}")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be None or an int >= 1, got {patience!r}")
    if monitor is None and patience is not None:
        raise ValueError(f"patience needs a monitor to follow, got patience={patience!r}")
    gen = torch.Generator().manual_seed(seed)
    best = -math.inf if higher_is_better else math.inf
    best_epoch, best_state, since, steps = 0, None, 0, 0
    curve: list[dict[str, float]] = []
    times: list[float] = []
    stopped_early = reached = False
    for epoch in range(1, max_epochs + 1):
        model.train()
        order = torch.randperm(n_train, generator=gen) if shuffle else torch.arange(n_train)
        losses = []
        for start in range(0, n_train, batch_size):
            t0 = time.perf_counter()
            loss = loss_of(model, order[start : start + batch_size])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if after_backward is not None:
                after_backward(model, loss)
            optimizer.step()
            times.append(time.perf_counter() - t0)
            losses.append(float(loss.detach()))
            steps += 1
            if max_steps and steps >= max_steps:
                break
        model.eval()
        with torch.no_grad():
            numbers = {k: float(v) for k, v in validate(model).items()}
        if monitor is not None and monitor not in numbers:
            raise ValueError(f"validate returned {sorted(numbers)}, without monitor {monitor!r}")
        curve.append({"epoch": epoch, "train_loss": sum(losses) / len(losses), **numbers})
        if scheduler is not None:
            scheduler.step()
        if monitor is None:
            best, best_epoch = math.nan, epoch
        elif best_state is None or _better(numbers[monitor], best, higher_is_better):
            best, best_epoch, since = numbers[monitor], epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            since += 1
        if max_steps and steps >= max_steps:
            break
        if patience is not None and since >= patience and epoch < max_epochs:
            stopped_early = True
            break
        if stop_when is not None and stop_when(numbers) and epoch < max_epochs:
            reached = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return FitResult(
        best_epoch=best_epoch,
        best=best,
        epochs_run=len(curve),
        stopped_early=stopped_early,
        reached=reached,
        steps=steps,
        curve=curve,
        step_s=float(torch.tensor(times, dtype=torch.float64).median()) if times else 0.0,
        final_train_loss=curve[-1]["train_loss"],
    )
