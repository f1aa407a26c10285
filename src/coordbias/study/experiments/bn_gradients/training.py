"""Open question 1, in training: gradient norms per step of the coordinate-bias FCN.

:func:`train_and_record` trains the FCN with or without BatchNorm through the one loop
(:func:`coordbias.training.loop.fit`) and records, every step, the gradients of each encoder
layer's bias, coordinate weights and kernel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from coordbias.study.experiments._common import (
    check_image_size,
    check_positive,
    check_positive_int,
    seeded,
)
from coordbias.training.loop import fit

# In training (float32, sums over N * H * W up to 32k terms, worst filter over hundreds of steps,
# near-dead filters whose BatchNorm backward cancels large terms) rounding reaches a few 1e-5;
# an uncancelled bias sits near 0.5 to 1 of the mass. 1e-3 separates the two by orders.
TRAIN_ZERO_TOLERANCE = 1e-3


@dataclass(frozen=True)
class BNGradConfig:
    """Settings of the training part of the experiment.

    Attributes:
        image_size: side of the circles images (divisible by 8).
        width: FCN width ``w`` (encoder channels w, 2w, 4w).
        steps: optimisation steps per variant.
        batch_size: images per step (the last of an epoch may be smaller).
        train_size: images in the fixed training pool, visited in shuffled epochs.
        lr: Adam learning rate.
    """

    image_size: int = 32
    width: int = 8
    steps: int = 150
    batch_size: int = 8
    train_size: int = 128
    lr: float = 3e-3

    def validate(self) -> None:
        """Raise ``ValueError`` / ``TypeError`` naming the first bad field."""
        for name in ("image_size", "width", "steps", "batch_size", "train_size"):
            check_positive_int(name, getattr(self, name))
        check_image_size(self.image_size)
        check_positive("lr", self.lr)


QUICK = BNGradConfig()
FULL = BNGradConfig(image_size=64, width=16, steps=600, batch_size=8, train_size=512)


def _followed_by_batchnorm(model: nn.Module, layers: list[nn.Module], x: Tensor) -> list[bool]:
    """Whether the leaf module run right after each of ``layers`` is a BatchNorm."""
    order: list[nn.Module] = []
    handles = [
        m.register_forward_hook(lambda mod, *_: order.append(mod))
        for m in model.modules()
        if not list(m.children())
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    result = []
    for layer in layers:
        i = next(k for k, m in enumerate(order) if m is layer)
        nxt = order[i + 1] if i + 1 < len(order) else None
        result.append(isinstance(nxt, nn.modules.batchnorm._NormBase))
    return result


def circles(config: BNGradConfig, seed: int) -> tuple[Tensor, Tensor]:
    """The experiment's training pool: ``config.train_size`` circles images and their masks."""
    from coordbias.data import CirclesConfig, CirclesDataset

    data = CirclesDataset(
        CirclesConfig(image_size=config.image_size),
        split="train",
        length=config.train_size,
        seed=seed,
    )
    images, masks = zip(*(data[i] for i in range(len(data))))
    return torch.stack(images), torch.stack(masks)


def train_and_record(
    config: BNGradConfig, batch_norm: bool, images: Tensor, masks: Tensor, seed: int = 0
) -> dict[str, Any]:
    """Train the coordinate-bias FCN and record per-step gradient norms of every encoder layer.

    Args:
        config: the training settings.
        batch_norm: BatchNorm after each encoder convolution.
        images: training pool ``(N, 3, S, S)``.
        masks: labels ``(N, S, S)``.
        seed: seeds the model's initialisation and the batch order (the loop's: a fresh
            permutation of the pool every epoch, ``config.steps`` steps in all).

    Returns:
        A dict: ``layers`` (names), ``followed_by_bn`` (per layer), ``bias_grad``,
        ``coord_grad``, ``weight_grad`` (per layer, a list of per-step L2 norms),
        ``bias_grad_rel`` (per layer, per step: the largest ``|dL/db_f| / sum|g_f|`` over the
        filters, ``g = dL/dy`` at the layer's output), ``loss`` (per step), ``seconds``.
    """
    from coordbias import CoordBiasConv2d
    from coordbias.models import create_model

    with seeded(seed):
        model = create_model(
            "fcn", width=config.width, conv="coordbias", batch_norm=batch_norm, num_classes=4
        )
    named = [(n, m) for n, m in model.named_modules() if isinstance(m, CoordBiasConv2d)]
    names = [n for n, _ in named]
    layers = [m for _, m in named]
    follows = _followed_by_batchnorm(model, layers, images[:2])
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    record: dict[str, list[list[float]]] = {
        k: [[] for _ in layers] for k in ("bias", "coord", "weight", "bias_rel")
    }
    # The gradient mass sum|g| per filter at each layer's output, g = dL/dy: the forward hook
    # hands the next module a copy, so an in-place ReLU cannot touch the tensor hooked here.
    mass: list[Tensor] = [torch.zeros(0)] * len(layers)

    def keep_mass(k: int):
        def store(grad: Tensor) -> None:
            mass[k] = grad.detach().abs().sum(dim=(0, 2, 3))

        def hook(_mod: nn.Module, _args: Any, out: Tensor) -> Tensor:
            out.register_hook(store)
            return out.clone()

        return hook

    handles = [layer.register_forward_hook(keep_mass(k)) for k, layer in enumerate(layers)]
    losses: list[float] = []

    def record_step(_model: nn.Module, loss: Tensor) -> None:
        for k, layer in enumerate(layers):
            bias_grad = layer.bias.grad.detach()
            record["bias"][k].append(float(bias_grad.norm()))
            record["coord"][k].append(float(layer.coord_weight.grad.norm()))
            record["weight"][k].append(float(layer.weight.grad.norm()))
            rel = bias_grad.abs() / mass[k].clamp_min(1e-30)
            record["bias_rel"][k].append(float(rel.max()))
        losses.append(float(loss.detach()))

    n = images.shape[0]
    start = time.perf_counter()
    try:
        fit(
            model,
            opt,
            lambda net, idx: F.cross_entropy(net(images[idx]), masks[idx]),
            n,
            lambda _net: {},
            batch_size=config.batch_size,
            max_epochs=-(-config.steps // -(-n // config.batch_size)),
            seed=seed,
            monitor=None,
            max_steps=config.steps,
            after_backward=record_step,
        )
    finally:
        for h in handles:
            h.remove()
    return {
        "layers": names,
        "followed_by_bn": follows,
        "bias_grad": record["bias"],
        "coord_grad": record["coord"],
        "weight_grad": record["weight"],
        "bias_grad_rel": record["bias_rel"],
        "loss": losses,
        "seconds": time.perf_counter() - start,
    }


def summarize(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Per layer of a :func:`train_and_record` record: mean gradient norms and their ratios."""
    rows = []
    for k, name in enumerate(run["layers"]):
        bias = torch.tensor(run["bias_grad"][k], dtype=torch.float64)
        coord = torch.tensor(run["coord_grad"][k], dtype=torch.float64)
        weight = torch.tensor(run["weight_grad"][k], dtype=torch.float64)
        rel = torch.tensor(run["bias_grad_rel"][k], dtype=torch.float64)
        rows.append(
            {
                "layer": name,
                "followed_by_bn": run["followed_by_bn"][k],
                "mean_bias_grad": float(bias.mean()),
                "mean_coord_grad": float(coord.mean()),
                "mean_weight_grad": float(weight.mean()),
                "max_bias_over_weight": float((bias / weight.clamp_min(1e-30)).max()),
                "min_coord_over_weight": float((coord / weight.clamp_min(1e-30)).min()),
                "max_bias_rel": float(rel.max()),
                "mean_bias_rel": float(rel.mean()),
            }
        )
    return rows
