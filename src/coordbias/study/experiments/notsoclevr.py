"""Not-so-Clevr coordinate classification (Liu et al. 2018): a published benchmark beside ours.

The task: a 64 x 64 canvas holds one 9 x 9 square whose centre ``(i, j)`` runs over 4..59 on each
axis (56 x 56 = 3,136 examples). The network gets the centre's coordinates and must output a
one-hot image: a softmax over the 4,096 pixels, trained with cross-entropy; an example is correct
when the arg-max pixel is the centre.

Splits (seeded, deterministic):

- ``uniform``: a random quarter (784 examples) held out for test.
- ``quadrant``: held out when both normalised centre coordinates ``(c - 4) / 55`` exceed 0.5,
  i.e. ``i >= 32`` and ``j >= 32`` (28 x 28 = 784 examples): the bottom-right quadrant is never
  seen in training.

Design of the compared networks (ours; Liu et al. do not publish one for this exact comparison).
The coordinates, scaled to [-1, 1] like the pixel grid (``2 * c / 63 - 1``), are tiled into a
``(B, 2, 64, 64)`` map; every model is fully convolutional with the same depth and width::

    conv 3x3 pad 1 (2 -> w), ReLU, conv 1x1 (w -> w), ReLU, conv 1x1 (w -> w), ReLU,
    conv 1x1 (w -> 1)                                            -> logits (B, 4096)

``vanilla`` uses ``nn.Conv2d`` everywhere, ``coordconv`` ``CoordConv2d`` and ``coordbias``
``CoordBiasConv2d`` in every layer. On a tiled (constant) input a plain convolution sees the
same thing at every pixel; only the first layer's zero padding tells the border pixels apart, so it
cannot place the square in the interior. Liu et al.'s plain baseline was instead a deconvolution
stack from a 1 x 1 input; ``deconv`` is that baseline: the coordinates as a ``(B, 2, 1, 1)``
tensor, six ``ConvTranspose2d(k=4, stride=2, padding=1)`` layers (1 -> 64 px, ReLU between, w
channels, the last one to 1 channel).

Optimisation as their README: Adam, lr 0.005, L2 1e-3 (as Adam's ``weight_decay``), batch 16.
The quick setting (width 8, 2 epochs, 3 models x 2 splits) takes about 40 s of CPU time on one
thread; batch 16 beat batch 32 at equal compute (more Adam steps), which is why it is kept.

``run(out_dir, quick=True, seed=0)`` returns a JSON-able dict and writes ``notsoclevr.png``;
``markdown(result, fig_dir_rel)`` renders the report section.
"""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from coordbias.models.convs import make_conv
from coordbias.study.experiments._common import (
    check_out_dir,
    check_positive_int,
    fmt_pct,
    md_table,
    new_figure,
    save_figure,
    seeded,
    torch_threads,
)

FIGURE = "notsoclevr.png"
CANVAS = 64
SQUARE = 9
CENTRE_MIN = SQUARE // 2  # 4
CENTRE_MAX = CANVAS - SQUARE // 2 - 1  # 59
SPLITS = ("uniform", "quadrant")
MODELS = ("vanilla", "deconv", "coordconv", "coordbias")
_TILED_CONVS = ("vanilla", "coordconv", "coordbias")

#: What Liu et al. (2018) report for coordinate classification (REFERENCES.md, CoordConv).
PAPER = {
    "vanilla": "≈86% test at best (uniform), ≈0% (quadrant); deconvolution baseline",
    "coordconv": "100% train and test on both splits, within a few epochs",
}


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
    """

    width: int = 8
    epochs: int = 2
    batch_size: int = 16
    lr: float = 0.005
    weight_decay: float = 1e-3
    models: tuple[str, ...] = ("vanilla", "coordconv", "coordbias")
    max_steps: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` / ``TypeError`` naming the first bad field."""
        for name in ("width", "epochs", "batch_size"):
            check_positive_int(name, getattr(self, name))
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int):
            raise TypeError(f"max_steps must be an int >= 0, got {self.max_steps!r}")
        if self.max_steps < 0:
            raise ValueError(f"max_steps must be an int >= 0, got {self.max_steps}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ValueError(
                f"models must be a non-empty tuple of {', '.join(MODELS)}; got {self.models!r}"
            )


#: About 40 s of CPU time on one thread.
QUICK = NotSoClevrConfig()
#: Measured: 268 s of CPU time (470 s wall on a shared 2-core CPU); with the deconv baseline.
FULL = NotSoClevrConfig(width=16, epochs=10, batch_size=16, models=MODELS)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def centres() -> Tensor:
    """All square centres, row-major.

    Returns:
        int64 tensor ``(3136, 2)`` of ``(i, j)`` = (row, column), each in 4..59.

    Example:
        >>> c = centres()
        >>> c.shape, c[0].tolist(), c[-1].tolist()
        (torch.Size([3136, 2]), [4, 4], [59, 59])
    """
    side = torch.arange(CENTRE_MIN, CENTRE_MAX + 1)
    ii, jj = torch.meshgrid(side, side, indexing="ij")
    return torch.stack([ii.flatten(), jj.flatten()], dim=1)


def quadrant_mask(c: Tensor) -> Tensor:
    """True where both normalised centre coordinates ``(c - 4) / 55`` exceed 0.5.

    Args:
        c: centres ``(N, 2)``.

    Returns:
        bool tensor ``(N,)``.

    Example:
        >>> quadrant_mask(torch.tensor([[31, 59], [32, 32]])).tolist()
        [False, True]
    """
    norm = (c - CENTRE_MIN).double() / (CENTRE_MAX - CENTRE_MIN)
    return (norm > 0.5).all(dim=1)


def split_indices(split: str, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Train and test indices into :func:`centres` for a split.

    Args:
        split: ``"uniform"`` (a seeded random quarter held out) or ``"quadrant"``.
        seed: seeds the uniform split's permutation (the quadrant split does not depend on it).

    Returns:
        ``(train, test)`` int64 index tensors, sorted, disjoint, together covering all 3,136.

    Example:
        >>> train, test = split_indices("uniform", seed=0)
        >>> len(train), len(test)
        (2352, 784)
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    c = centres()
    n = c.shape[0]
    if split == "uniform":
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        test = perm[: n // 4]
    else:
        test = torch.nonzero(quadrant_mask(c)).flatten()
    held = torch.zeros(n, dtype=torch.bool)
    held[test] = True
    return torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()


def encode(c: Tensor) -> Tensor:
    """Centres scaled to [-1, 1] on the pixel grid: ``2 * c / 63 - 1``.

    Args:
        c: centres ``(N, 2)``, int.

    Returns:
        float32 ``(N, 2)``.
    """
    return 2.0 * c.float() / (CANVAS - 1) - 1.0


def targets(c: Tensor) -> Tensor:
    """Index of the centre pixel in the flattened 64 x 64 canvas: ``i * 64 + j``, shape ``(N,)``."""
    return c[:, 0] * CANVAS + c[:, 1]


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------
class TiledFCN(nn.Module):
    """Four-layer fully convolutional net on the coordinates tiled to a 64 x 64 map.

    Args:
        conv: ``"vanilla" | "coordconv" | "coordbias"``: the convolution used in every layer.
        width: hidden channels.

    Shape:
        - Input: ``(B, 2)`` coordinates in [-1, 1].
        - Output: ``(B, 4096)`` logits, one per pixel (row-major).
    """

    def __init__(self, conv: str, width: int) -> None:
        super().__init__()
        if conv not in _TILED_CONVS:
            raise ValueError(f"conv must be one of {', '.join(_TILED_CONVS)}; got {conv!r}")
        make = functools.partial(make_conv, conv)
        self.layers = nn.ModuleList(
            [
                make(2, width, 3, padding=1),
                make(width, width, 1),
                make(width, width, 1),
                make(width, 1, 1),
            ]
        )

    def forward(self, coords: Tensor) -> Tensor:
        """Logits ``(B, 4096)`` for coordinates ``(B, 2)``."""
        # channels_last makes the 1 x 1 convolutions plain matrix products (several times
        # faster on CPU than the default layout).
        x = coords[:, None, None, :].expand(-1, CANVAS, CANVAS, -1).permute(0, 3, 1, 2)
        x = x.contiguous(memory_format=torch.channels_last)
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = F.relu(x)
        return x.flatten(1)


class DeconvNet(nn.Module):
    """Liu et al.'s plain baseline: transposed convolutions from a 1 x 1 input up to 64 x 64.

    Args:
        width: hidden channels.

    Shape:
        - Input: ``(B, 2)`` coordinates in [-1, 1].
        - Output: ``(B, 4096)`` logits.
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        chans = [2] + [width] * 5 + [1]
        self.layers = nn.ModuleList(
            nn.ConvTranspose2d(a, b, 4, stride=2, padding=1) for a, b in itertools.pairwise(chans)
        )

    def forward(self, coords: Tensor) -> Tensor:
        """Logits ``(B, 4096)`` for coordinates ``(B, 2)``."""
        x = coords[:, :, None, None]
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = F.relu(x)
        return x.flatten(1)


def build_model(name: str, width: int) -> nn.Module:
    """One of :data:`MODELS` at the given width (weights in ``channels_last``, faster on CPU)."""
    model = DeconvNet(width) if name == "deconv" else TiledFCN(name, width)
    return model.to(memory_format=torch.channels_last)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
@torch.no_grad()
def accuracy(model: nn.Module, c: Tensor, batch_size: int = 256) -> float:
    """Fraction of centres ``c`` ``(N, 2)`` whose arg-max pixel is the centre pixel."""
    model.eval()
    correct = 0
    for start in range(0, c.shape[0], batch_size):
        chunk = c[start : start + batch_size]
        correct += int((model(encode(chunk)).argmax(1) == targets(chunk)).sum())
    return correct / max(c.shape[0], 1)


def train_one(model_name: str, split: str, config: NotSoClevrConfig, seed: int) -> dict[str, Any]:
    """Train one model on one split; return accuracies, loss curve and timing."""
    c = centres()
    train_idx, test_idx = split_indices(split, seed)
    train_c, test_c = c[train_idx], c[test_idx]
    with seeded(seed):
        model = build_model(model_name, config.width)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(seed + 1)
    losses: list[float] = []
    test_curve: list[float] = []
    steps = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(train_c.shape[0], generator=gen)
        for b in range(0, len(order), config.batch_size):
            batch = train_c[order[b : b + config.batch_size]]
            loss = F.cross_entropy(model(encode(batch)), targets(batch))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            steps += 1
            if config.max_steps and steps >= config.max_steps:
                break
        test_curve.append(accuracy(model, test_c))
        if config.max_steps and steps >= config.max_steps:
            break
    return {
        "model": model_name,
        "split": split,
        "params": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "train_acc": accuracy(model, train_c),
        "test_acc": test_curve[-1],
        "test_acc_per_epoch": test_curve,
        "final_loss": sum(losses[-10:]) / max(len(losses[-10:]), 1),
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
    }


def _figure(result: dict[str, Any], path: Path) -> None:
    models = result["config"]["models"]
    fig, axes = new_figure(1, 2, figsize=(11, 4))
    bar = 0.38
    for s, split in enumerate(SPLITS):
        for m, model in enumerate(models):
            r = next(x for x in result["runs"] if x["model"] == model and x["split"] == split)
            for off, key, hatch in ((-bar / 2, "train_acc", ""), (bar / 2, "test_acc", "//")):
                x = s * (len(models) + 1) + m + off
                axes[0].bar(
                    x,
                    100 * r[key],
                    bar,
                    color=f"C{m}",
                    hatch=hatch,
                    edgecolor="black",
                    lw=0.5,
                    label=model if (s == 0 and key == "train_acc") else None,
                )
                axes[0].text(
                    x, 100 * r[key] + 1, f"{100 * r[key]:.0f}", ha="center", va="bottom", fontsize=6
                )
            epochs = range(1, len(r["test_acc_per_epoch"]) + 1)
            axes[1].plot(
                epochs,
                [100 * v for v in r["test_acc_per_epoch"]],
                color=f"C{m}",
                ls="-" if split == "uniform" else "--",
                marker=".",
                label=f"{model}, {split}",
            )
    ticks = [s * (len(models) + 1) + (len(models) - 1) / 2 for s in range(len(SPLITS))]
    axes[0].set_xticks(ticks, [f"{s} split" for s in SPLITS])
    axes[0].set_ylabel("accuracy (%)")
    axes[0].set_ylim(0, 112)
    axes[0].legend(fontsize=7, loc="upper center", ncol=len(models))
    axes[0].set_title("Not-so-Clevr: train (plain bars) and test (hatched) accuracy", fontsize=9)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("test accuracy (%)")
    axes[1].set_ylim(-2, 105)
    axes[1].xaxis.get_major_locator().set_params(integer=True)
    axes[1].legend(fontsize=6, loc="center right")
    axes[1].set_title("test accuracy after each epoch", fontsize=9)
    save_figure(fig, path)


def run(
    out_dir: Path,
    *,
    quick: bool = True,
    seed: int = 0,
    config: NotSoClevrConfig | None = None,
    num_threads: int = 1,
) -> dict[str, Any]:
    """Train every model on both splits and write ``notsoclevr.png`` into ``out_dir``.

    Args:
        out_dir: folder for the figure (created).
        quick: :data:`QUICK` (width 8, 2 epochs, 3 models; about 40 s of CPU time) or
            :data:`FULL` (width 16, 10 epochs, the deconvolution baseline too).
        seed: seeds the uniform split, the initialisation and the batch order.
        config: overrides the setting chosen by ``quick`` (tests use tiny ones).
        num_threads: torch intra-op threads while it runs (restored afterwards).

    Returns:
        JSON-able dict: ``config``, ``seed``, ``split_sizes`` (per split: train, test),
        ``runs`` (one dict per model and split: ``model``, ``split``, ``params``, ``steps``,
        ``train_acc``, ``test_acc``, ``test_acc_per_epoch``, ``final_loss``, ``seconds``,
        ``cpu_seconds``),
        ``paper`` (what Liu et al. report), ``figure``, ``seconds``.
    """
    out = check_out_dir(out_dir)
    config = config or (QUICK if quick else FULL)
    if not isinstance(config, NotSoClevrConfig):
        raise TypeError(f"config must be a NotSoClevrConfig, got {type(config).__name__}")
    config.validate()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    start = time.perf_counter()
    sizes = {}
    for split in SPLITS:
        train, test = split_indices(split, seed)
        sizes[split] = {"train": len(train), "test": len(test)}
    with torch_threads(num_threads):
        runs = [train_one(m, s, config, seed) for s in SPLITS for m in config.models]
    cfg = asdict(config)
    cfg["models"] = list(config.models)
    result = {
        "config": cfg,
        "quick": quick,
        "seed": seed,
        "num_threads": num_threads,
        "split_sizes": sizes,
        "runs": runs,
        "paper": dict(PAPER),
        "figure": FIGURE,
    }
    _figure(result, out / FIGURE)
    result["seconds"] = time.perf_counter() - start
    return result


def markdown(result: dict[str, Any], fig_dir_rel: str) -> str:
    """The report section of the Not-so-Clevr experiment, computed from ``result``.

    Args:
        result: the dict :func:`run` returned.
        fig_dir_rel: folder of the figure relative to the report (``""`` for the same folder).

    Returns:
        Markdown text with a heading, a table per model and split, and a conclusion.
    """
    cfg = result["config"]
    fig = f"{fig_dir_rel.rstrip('/')}/{result['figure']}" if fig_dir_rel else result["figure"]
    runs = result["runs"]
    by = {(r["model"], r["split"]): r for r in runs}
    rows = [
        [
            f"`{r['model']}`",
            r["split"],
            f"{r['params']:,}",
            r["steps"],
            fmt_pct(r["train_acc"]),
            fmt_pct(r["test_acc"]),
            f"{r['seconds']:.1f}",
        ]
        for r in runs
    ]
    sizes = result["split_sizes"]
    lines = [
        "### Not-so-Clevr coordinate classification (Liu et al. 2018)",
        "",
        "Coordinates in, one-hot 64 × 64 image out (softmax over 4,096 pixels; correct when the "
        "arg-max is the square's centre). 3,136 centres (4..59 on each axis); uniform split "
        f"{sizes['uniform']['train']:,} train / {sizes['uniform']['test']:,} test (random, seed "
        f"{result['seed']}), quadrant split {sizes['quadrant']['train']:,} / "
        f"{sizes['quadrant']['test']:,} (test = both normalised coordinates > 0.5). Each tiled "
        f"model is 3×3, 1×1, 1×1, 1×1 convolutions of width {cfg['width']} on the coordinates "
        "tiled to a (2, 64, 64) map, the convolution being plain, CoordConv or coordinate-bias in "
        "every layer; `deconv` is Liu et al.'s plain baseline (six stride-2 transposed "
        f"convolutions from 1 × 1). Adam lr {cfg['lr']:g}, L2 {cfg['weight_decay']:g} (Adam "
        f"weight decay), batch {cfg['batch_size']} (Liu et al.: 16), {cfg['epochs']} epochs"
        + (f", at most {cfg['max_steps']} steps" if cfg["max_steps"] else "")
        + ".",
        "",
        md_table(["model", "split", "params", "steps", "train acc.", "test acc.", "seconds"], rows),
        "",
        f"Liu et al. report: plain {result['paper']['vanilla']}; CoordConv "
        f"{result['paper']['coordconv']}.",
        "",
        f"![Not-so-Clevr accuracy per model and split]({fig})",
        "",
    ]
    notes = []
    for model in cfg["models"]:
        u, q = by.get((model, "uniform")), by.get((model, "quadrant"))
        if u and q:
            notes.append(
                f"`{model}` reaches {fmt_pct(u['test_acc'])} test on the uniform split and "
                f"{fmt_pct(q['test_acc'])} on the held-out quadrant "
                f"(train {fmt_pct(u['train_acc'])} / {fmt_pct(q['train_acc'])})"
            )
    verdict = _verdict(by, cfg)
    lines.append("Per model: " + "; ".join(notes) + ".")
    lines.append("")
    lines.append("**Conclusion.** " + " ".join(verdict))
    return "\n".join(lines) + "\n"


def _names(models: list[str]) -> str:
    return " and ".join(f"`{m}`" for m in models)


def _verdict(by: dict[tuple[str, str], dict[str, Any]], cfg: dict[str, Any]) -> list[str]:
    """Conclusion sentences computed from the per-(model, split) results."""
    coord_models = [m for m in ("coordconv", "coordbias") if m in cfg["models"]]
    worst = {m: min(by[(m, s)]["test_acc"] for s in SPLITS) for m in coord_models}
    solved = [m for m in coord_models if worst[m] >= 0.99]
    unsolved = [m for m in coord_models if worst[m] < 0.99]
    verdict = []
    if solved:
        verdict.append(
            f"{_names(solved)} {'solves' if len(solved) == 1 else 'solve'} the task on both "
            "splits (at least 99% test), as Liu et al. found for CoordConv: with position an "
            "input of every layer the held-out quadrant is no obstacle."
        )
    if unsolved:
        parts = [
            f"`{m}` reaches {fmt_pct(by[(m, 'uniform')]['test_acc'])} / "
            f"{fmt_pct(by[(m, 'quadrant')]['test_acc'])} (uniform / quadrant test)"
            for m in unsolved
        ]
        verdict.append(
            "; ".join(parts)
            + f" after {cfg['epochs']} epochs, below 99% on at least one split"
            + (
                ", so the paper's 100% for CoordConv is not reproduced in this budget"
                if "coordconv" in unsolved
                else ""
            )
            + "."
        )
        gaps = [
            m
            for m in unsolved
            if by[(m, "quadrant")]["train_acc"] - by[(m, "quadrant")]["test_acc"] > 0.1
        ]
        if gaps:
            verdict.append(
                f"On the quadrant split {_names(gaps)} fits the training centres better than "
                "the unseen quadrant: it has not yet learned the exact plane that extrapolates."
            )
    if "coordbias" in unsolved and "coordconv" in solved:
        verdict.append(
            "The coordinate bias can express the same solution (its first layer can form "
            "`X − i` directly), so the gap is most likely one of optimisation speed in this "
            "short run (the full setting trains longer); a possible cause is that under Adam "
            "each parameter moves about `lr` per step and "
            "CoordConv's first 3×3 layer has 9 taps per coordinate whose sum is the slope, "
            "against one coordinate weight per filter for the coordinate bias."
        )
    for base in ("vanilla", "deconv"):
        if base not in cfg["models"]:
            continue
        u = by[(base, "uniform")]["test_acc"]
        q = by[(base, "quadrant")]["test_acc"]
        sentence = f"`{base}` gets {fmt_pct(u)} (uniform) and {fmt_pct(q)} (quadrant)"
        sentence += (
            ", in line with the paper's ≈0% on the quadrant"
            if q < 0.05
            else ", unlike the paper's ≈0% on the quadrant"
        )
        if base == "vanilla":
            sentence += (
                "; on the tiled input a plain convolution computes the same value at every "
                "interior pixel, so it cannot localise at all (this is not the paper's 86% "
                "baseline, which is `deconv`)"
            )
        else:
            sentence += "; the paper's ≈86% on the uniform split " + (
                "is matched" if u >= 0.8 else "is not reached in this budget"
            )
        verdict.append(sentence + ".")
    return verdict
