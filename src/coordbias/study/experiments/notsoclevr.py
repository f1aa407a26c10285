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
stack from a 1 x 1 input. Two versions of it (:class:`DeconvRecipe`, :func:`recipe`): the
coordinates as a ``(B, 2, 1, 1)`` tensor, six stride-2 transposed convolutions (1 -> 64 px, ReLU
between, the last one to 1 channel):

- ``deconv`` (ours): ``ConvTranspose2d(k=4, stride=2, padding=1)``, w channels, no
  normalisation, PyTorch's initialisation, the [-1, 1] encoding, the shared optimiser;
- ``deconv_paper``: Liu et al.'s ``DeconvPainter`` and deconvolution command as their code has
  them (below).

Optimisation as their README's CoordConv command: Adam, lr 0.005, L2 1e-3 (as Adam's
``weight_decay``), batch 16. The quick setting (width 8, 2 epochs, 3 models x 2 splits) takes
about 40 s of CPU time on one thread; batch 16 beat batch 32 at equal compute (more Adam steps),
which is why it is kept. The baselines train longer (``baseline_epochs``, ``baseline_lr_drop``):
in :data:`FULL` 60 epochs, the learning rate divided by 10 for the last 15.

Why our deconvolution baseline was at 26 % (uniform) where Liu et al. report about 86 %
-------------------------------------------------------------------------------------------
Every difference between the two (read from uber-research/CoordConv: ``model_builders.py``
``DeconvPainter``, ``train.py``, ``data/not_so_clevr_generator.py``, ``README.md``,
``experiment_logs.sh``; the right column is what our old full setting ran):

==============  =======================================  ===================================
                Liu et al.                               ours (``deconv``, old full setting)
==============  =======================================  ===================================
uniform split   each centre out with probability 0.25    a seeded quarter out:
                (numpy seed 20202): 2,368 / 768          2,352 train / 784 test
quadrant split  out if x / 64 > 0.5 and y / 64 > 0.5     (c - 4) / 55 > 0.5, c >= 32:
                (x, y >= 33): 27 x 27 = 729              28 x 28 = 784
input           integer pixel coordinates 4..59          ``2 c / 63 - 1`` in [-1, 1]
target, loss    one-hot 64 x 64, softmax cross-entropy   the same
metric          arg-max pixel = centre, every epoch      the same
kernel          3 (``-fs 3``; sweep 2, 3, 4), TF 'same'  4, padding 1
channels        64m, 64m, 64m, 32m, 32m, 1 (``-mul``     16 x 5, 1: 17,233 parameters
                m = 2; sweep 1..3): 409,921 at m = 2
normalisation   BatchNorm (momentum 0.9, eps 1e-5)       none
initialisation  ``he_normal`` (truncated), zero biases   PyTorch's default
optimiser       Adam lr 0.01 (sweep 0.001..0.05),        Adam lr 0.005, beta2 0.999
                beta2 0.99
L2              ``l2 * sum(w ** 2)`` on the kernels,     Adam ``weight_decay`` 1e-3 on
                l2 = 1e-3 (sweep 0, 1e-3, 1e-2)          every parameter
batch           16 (sweep 16, 32)                        16
training        2,000 epochs (README); sweep: 1,000,     10 epochs, constant lr
                lr / 10 every 200
reported        best of 324 configurations per split     one run
==============  =======================================  ===================================

The ablation (``python -m coordbias.study.experiments.notsoclevr OUT.json``: width 16, uniform
split, seed 0, one thread; each row changes one thing from the reference row) shows that the
gap is the training length, and that none of Liu et al.'s other choices closes it:

==========================================  =======  ======  =======  =======  =====
setting                                     params   epochs  test     train    CPU s
==========================================  =======  ======  =======  =======  =====
ours, 10 epochs (the old full setting)      17,233   10      25.9 %   30.6 %   16
ours, 60 epochs, constant lr                17,233   60      78.2 %   77.9 %   101
ours, 60 epochs, lr / 10 at 45 (reference)  17,233   60      99.7 %   99.7 %   98
+ BatchNorm                                 17,393   60      57.4 %   81.9 %   98
kernel 3, TensorFlow ``'same'``             9,729    60      72.6 %   79.3 %   95
He (truncated normal) init, zero biases     17,233   60      97.7 %   99.3 %   103
pixel coordinates as input                  17,233   60      96.7 %   99.4 %   99
lr 0.01                                     17,233   60      99.0 %   99.7 %   100
Adam beta2 0.99                             17,233   60      99.2 %   99.8 %   104
L2 ``1e-3 * sum(w ** 2)`` on kernels only   17,233   60      65.1 %   70.6 %   93
channels 64, 64, 64, 32, 32                 183,041  60      100.0 %  100.0 %  225
all of Liu et al.'s but the channels        9,889    60      18.8 %   22.7 %   144
Liu et al.'s ``deconv_paper`` (``-mul 1``)  103,585  60      23.6 %   27.5 %   327
==========================================  =======  ======  =======  =======  =====

So: trained six times longer with one learning-rate drop, our baseline reaches 98.6 +- 1.0 %
on the uniform split (seeds 0, 1, 2; train 99.1-99.7 %), above the paper's "about 86 % at best",
and 8.6 +- 2.1 % on the held-out quadrant (train 99.7-100 %). Without the drop it is at 78 %
(its test accuracy still swings by several points from epoch to epoch at lr 0.005). Liu et al.'s
recipe is not what made their baseline better: alone, BatchNorm (-42 points), the 3 x 3 kernel
(-27; likely because stride 2 with an odd kernel gives even output pixels two taps, odd ones one)
and TensorFlow's L2 (-35: ``l2 * sum(w ** 2)`` is twice Adam's ``weight_decay`` of the same l2)
each slow learning, the others are within a few points. Their whole recipe reaches 19-24 % in
60 epochs (and 0.0 % on the quadrant, seed 0); Liu et al. trained it for 1,000 to 2,000 epochs
and report the best of a 324-configuration sweep of it. Wider layers do not hurt ours (100 % at
their ``-mul 1`` widths). Not measured here: their recipe at 1,000+ epochs (about 1.5 hours of
CPU per run at ``-mul 1``, 2.5 times that at ``-mul 2``), so their 86 % itself is taken from the
paper. On the quadrant, most of our 8.6 % are centres next to the training region (seed 0: 70
of the 82 in the three rows and columns nearest to it, 10 of 441 deeper than seven);
the quadrant rules differ by one row and column (ours holds out ``c = 32`` too), left as it is
because the quick study's quadrant figures depend on it.

Reproduce on one thread (``NSC`` = ``python -m coordbias.study.experiments.notsoclevr abl.json``;
the table about 27 minutes of CPU, the seeds 13 more; the file makes it resumable)::

    OMP_NUM_THREADS=1 taskset -c 0 $NSC                       # the table (seed 0, uniform)
    OMP_NUM_THREADS=1 taskset -c 0 $NSC --rows 2 --seeds 0 1 2
    OMP_NUM_THREADS=1 taskset -c 0 $NSC --rows 2 --seeds 0 1 2 --split quadrant
    OMP_NUM_THREADS=1 taskset -c 0 $NSC --rows 12 --split quadrant

``run(out_dir, quick=True, seed=0)`` returns a JSON-able dict and writes ``notsoclevr.png``;
``markdown(result, fig_dir_rel)`` renders the report section.
"""

from __future__ import annotations

import dataclasses
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
MODELS = ("vanilla", "deconv", "deconv_paper", "coordconv", "coordbias")
_TILED_CONVS = ("vanilla", "coordconv", "coordbias")
#: The deconvolution baselines (coordinates as a 1 x 1 input), trained longer in :data:`FULL`.
BASELINES = ("deconv", "deconv_paper")

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


@dataclass(frozen=True)
class DeconvRecipe:
    """A deconvolution baseline: its network and its optimiser, the unit of :func:`ablation`.

    :func:`recipe` gives the two the experiment trains, ``deconv`` (ours) and ``deconv_paper``
    (Liu et al.'s, as their code builds and trains it); the ablation changes one field at a time.

    Attributes:
        channels: output channels of the five hidden transposed convolutions (the last has 1).
        kernel: 4 (stride 2, padding 1) or 3 (TensorFlow's ``'same'`` alignment: the full
            transposed convolution's last row and column are cut, so each output is exactly twice
            its input).
        batch_norm: BatchNorm (eps 1e-5, momentum 0.1 = TensorFlow's 0.9) before each ReLU.
        he_init: He initialisation as TensorFlow's ``he_normal`` (truncated normal, std
            ``sqrt(2 / fan_in)`` cut at 2 std, fan-in = output channels x k x k for a transposed
            kernel) and zero biases; otherwise PyTorch's default.
        pixel_input: feed the centre's pixel coordinates (4..59, as Liu et al.'s code does)
            instead of the [-1, 1] encoding.
        lr: Adam learning rate (None: the config's ``lr``).
        beta2: Adam's second-moment decay (PyTorch's default 0.999; Liu et al.'s code 0.99).
        decay_kernels_only: L2 as TensorFlow's regulariser ``l2 * sum(w ** 2)`` on the kernels
            alone (Adam weight decay ``2 * l2`` on kernels, none on biases and BatchNorm);
            otherwise Adam's weight decay ``l2`` on every parameter.
    """

    channels: tuple[int, ...]
    kernel: int = 4
    batch_norm: bool = False
    he_init: bool = False
    pixel_input: bool = False
    lr: float | None = None
    beta2: float = 0.999
    decay_kernels_only: bool = False

    def __post_init__(self) -> None:
        if len(self.channels) != 5 or not all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in self.channels
        ):
            raise ValueError(f"channels must be 5 ints >= 1, got {self.channels!r}")
        if self.kernel not in (3, 4):
            raise ValueError(f"kernel must be 3 or 4, got {self.kernel!r}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be None or > 0, got {self.lr}")
        if not 0 <= self.beta2 < 1:
            raise ValueError(f"beta2 must be in [0, 1), got {self.beta2}")


def recipe(name: str, width: int) -> DeconvRecipe:
    """The recipe of a baseline in :data:`BASELINES` at ``width``.

    ``deconv``: five hidden layers of ``width`` channels, kernel 4, no BatchNorm, PyTorch's
    initialisation, the [-1, 1] encoding and the config's optimiser. ``deconv_paper``: Liu et al.'s
    ``DeconvPainter`` (their ``model_builders.py``) and their deconvolution command (README:
    ``-L 0.01 -mul 2 -fs 3``, Adam with beta2 0.99, L2 on the kernels): channels
    ``(4w, 4w, 4w, 2w, 2w)``, so width 16 is their ``-mul 1`` (103,585 parameters) and width 32
    their ``-mul 2`` (409,921).

    Example:
        >>> recipe("deconv_paper", 16).channels
        (64, 64, 64, 32, 32)
    """
    if name == "deconv":
        return DeconvRecipe(channels=(width,) * 5)
    if name == "deconv_paper":
        return DeconvRecipe(
            channels=(4 * width,) * 3 + (2 * width,) * 2,
            kernel=3,
            batch_norm=True,
            he_init=True,
            pixel_input=True,
            lr=0.01,
            beta2=0.99,
            decay_kernels_only=True,
        )
    raise ValueError(f"name must be one of {', '.join(BASELINES)}; got {name!r}")


class DeconvNet(nn.Module):
    """A deconvolution baseline: six stride-2 transposed convolutions from 1 x 1 to 64 x 64.

    The coordinates are a ``(B, 2, 1, 1)`` input; ReLU (after BatchNorm when the recipe has it)
    follows every layer but the last, which has one channel: the logits.

    Args:
        spec: the network's fields of a :class:`DeconvRecipe` (the optimiser's are ignored).

    Shape:
        - Input: ``(B, 2)`` coordinates in [-1, 1].
        - Output: ``(B, 4096)`` logits.
    """

    def __init__(self, spec: DeconvRecipe) -> None:
        super().__init__()
        chans = [2, *spec.channels, 1]
        pad = 1 if spec.kernel == 4 else 0
        self.layers = nn.ModuleList(
            nn.ConvTranspose2d(a, b, spec.kernel, stride=2, padding=pad)
            for a, b in itertools.pairwise(chans)
        )
        self.norms = nn.ModuleList(
            nn.BatchNorm2d(b, eps=1e-5, momentum=0.1) for b in chans[1:-1] if spec.batch_norm
        )
        if spec.he_init:
            for layer in self.layers:
                std = (2.0 / (layer.out_channels * spec.kernel**2)) ** 0.5
                nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std)
                nn.init.zeros_(layer.bias)
        self.pixel_input = spec.pixel_input

    def forward(self, coords: Tensor) -> Tensor:
        """Logits ``(B, 4096)`` for coordinates ``(B, 2)``."""
        if self.pixel_input:
            coords = (coords + 1.0) * ((CANVAS - 1) / 2)
        x = coords[:, :, None, None]
        for k, layer in enumerate(self.layers):
            x = upsample(layer, x)
            if k < len(self.layers) - 1:
                x = F.relu(self.norms[k](x) if self.norms else x)
        return x.flatten(1)


def upsample(layer: nn.ConvTranspose2d, x: Tensor) -> Tensor:
    """``layer`` (stride 2) applied to ``x``, cut to twice ``x``'s side.

    A no-op cut for kernel 4, padding 1. For kernel 3, padding 0 the full output has ``2n + 1``
    rows and input row ``o`` reaches rows ``2o .. 2o + 2``; cutting the last row and column is
    TensorFlow's ``'same'`` transposed convolution (the transpose of a convolution padded at the
    end only), whereas PyTorch's ``padding=1, output_padding=1`` would cut the first.
    """
    side = 2 * x.shape[-1]
    return layer(x)[..., :side, :side]


def build_model(name: str, width: int) -> nn.Module:
    """One of :data:`MODELS` at the given width (weights in ``channels_last``, faster on CPU)."""
    model = DeconvNet(recipe(name, width)) if name in BASELINES else TiledFCN(name, width)
    return model.to(memory_format=torch.channels_last)


def make_optimizer(
    model: nn.Module, lr: float, weight_decay: float, spec: DeconvRecipe | None = None
) -> torch.optim.Adam:
    """Adam for ``model``: the config's ``lr`` and coupled ``weight_decay``, unless ``spec`` (a
    baseline's recipe) sets its own learning rate, beta2 or L2 on the kernels only."""
    if spec is None:
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    lr = spec.lr if spec.lr is not None else lr
    betas = (0.9, spec.beta2)
    if not spec.decay_kernels_only:
        return torch.optim.Adam(model.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)
    kernels = [p for p in model.parameters() if p.dim() == 4]
    others = [p for p in model.parameters() if p.dim() != 4]
    groups = [
        {"params": kernels, "weight_decay": 2 * weight_decay},
        {"params": others, "weight_decay": 0.0},
    ]
    return torch.optim.Adam(groups, lr=lr, betas=betas)


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
    spec = recipe(model_name, config.width) if model_name in BASELINES else None
    run = _fit(
        model_name,
        spec,
        split,
        config,
        seed,
        epochs=config.epochs_of(model_name),
        lr_drop=config.lr_drop_of(model_name),
    )
    return {"model": model_name, "split": split, **run}


def _fit(
    name: str,
    spec: DeconvRecipe | None,
    split: str,
    config: NotSoClevrConfig,
    seed: int,
    *,
    epochs: int,
    lr_drop: int,
) -> dict[str, Any]:
    """Train the model ``name`` (the baseline built from ``spec`` when given) on one split."""
    c = centres()
    train_idx, test_idx = split_indices(split, seed)
    train_c, test_c = c[train_idx], c[test_idx]
    with seeded(seed):
        if spec is None:
            model = build_model(name, config.width)
        else:
            model = DeconvNet(spec).to(memory_format=torch.channels_last)
    opt = make_optimizer(model, config.lr, config.weight_decay, spec)
    gen = torch.Generator().manual_seed(seed + 1)
    losses: list[float] = []
    test_curve: list[float] = []
    steps = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        if lr_drop and epoch == lr_drop:
            for group in opt.param_groups:
                group["lr"] /= 10
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
        "params": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "train_acc": accuracy(model, train_c),
        "test_acc": test_curve[-1],
        "test_acc_per_epoch": test_curve,
        "final_loss": sum(losses[-10:]) / max(len(losses[-10:]), 1),
        "final_lr": opt.param_groups[0]["lr"],
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
    }


# --------------------------------------------------------------------------------------------
# Ablation: our deconvolution baseline against Liu et al.'s, one difference at a time
# --------------------------------------------------------------------------------------------
#: The reference row of :data:`ABLATION`: ``deconv`` at width 16, 60 epochs, lr / 10 at 45.
ABLATION_BASE = {"epochs": 60, "lr_drop": 45}
_PAPER_16 = recipe("deconv_paper", 16)
#: ``(label, recipe changes, epochs, lr drop)``: ``deconv`` at width 16 (uniform split unless
#: told), each row one difference from the reference row (the third), then all of them.
ABLATION: tuple[tuple[str, dict[str, Any], int, int], ...] = (
    ("ours, 10 epochs (the old full setting)", {}, 10, 0),
    ("ours, 60 epochs, constant lr", {}, 60, 0),
    ("ours, 60 epochs, lr / 10 at 45 (reference)", {}, 60, 45),
    ("+ BatchNorm", {"batch_norm": True}, 60, 45),
    ("kernel 3, TensorFlow 'same'", {"kernel": 3}, 60, 45),
    ("He (truncated normal) init, zero biases", {"he_init": True}, 60, 45),
    ("pixel coordinates as input", {"pixel_input": True}, 60, 45),
    ("lr 0.01", {"lr": 0.01}, 60, 45),
    ("Adam beta2 0.99", {"beta2": 0.99}, 60, 45),
    ("L2 on kernels only (TensorFlow)", {"decay_kernels_only": True}, 60, 45),
    ("channels 64, 64, 64, 32, 32", {"channels": _PAPER_16.channels}, 60, 45),
    (
        "all of Liu et al.'s but the channels",
        {k: v for k, v in asdict(_PAPER_16).items() if k != "channels"},
        60,
        45,
    ),
    ("Liu et al.'s deconv_paper (-mul 1)", asdict(_PAPER_16), 60, 45),
)


def ablation(
    out_path: Path,
    *,
    rows: tuple[int, ...] | None = None,
    seeds: tuple[int, ...] = (0,),
    split: str = "uniform",
    config: NotSoClevrConfig | None = None,
    num_threads: int = 1,
    log: Any = print,
) -> list[dict[str, Any]]:
    """Train the rows of :data:`ABLATION` and store them in the JSON file ``out_path``.

    The file is rewritten atomically after every run; a run already in it with the same label,
    seed, split and settings is not trained again (so an interrupted ablation resumes).

    Args:
        out_path: the JSON file (its folder is created).
        rows: indices into :data:`ABLATION` (None: all).
        seeds: seeds of each row (the uniform split, initialisation and batch order).
        split: ``"uniform"`` or ``"quadrant"``.
        config: batch size, learning rate, L2 and ``max_steps`` of every run (default: width 16,
            batch 16, Adam lr 0.005, L2 1e-3, as :data:`FULL`; its width, epochs and models are
            not used: the rows set them).
        num_threads: torch intra-op threads while it runs.
        log: called with one line per finished run.

    Returns:
        One dict per run: ``row``, ``label``, ``seed``, ``split``, ``recipe``, ``epochs``,
        ``lr_drop`` and what :func:`train_one` returns (accuracies, curve, seconds).
    """
    import json

    from coordbias._util.files import write_json

    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    picked = range(len(ABLATION)) if rows is None else rows
    bad = [
        r
        for r in picked
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < len(ABLATION)
    ]
    if bad:
        raise ValueError(f"rows must be indices 0..{len(ABLATION) - 1}; got {bad}")
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    done: list[dict[str, Any]] = json.loads(path.read_text()) if path.exists() else []
    config = config or NotSoClevrConfig(width=16, batch_size=16, models=("deconv",))
    config.validate()
    base = recipe("deconv", 16)
    with torch_threads(num_threads):
        for row in picked:
            label, changes, epochs, lr_drop = ABLATION[row]
            spec = dataclasses.replace(base, **changes)
            settings = {
                "label": label,
                "split": split,
                "recipe": _jsonable(asdict(spec)),
                "epochs": epochs,
                "lr_drop": lr_drop,
                "train": {
                    k: getattr(config, k) for k in ("batch_size", "lr", "weight_decay", "max_steps")
                },
            }
            for seed in seeds:
                key = {**settings, "seed": seed}
                if any(all(r.get(k) == v for k, v in key.items()) for r in done):
                    continue
                run = _fit("deconv", spec, split, config, seed, epochs=epochs, lr_drop=lr_drop)
                done.append({"row": row, **key, **run})
                write_json(path, done)
                log(
                    f"[{row}] {label}, seed {seed}: train {fmt_pct(run['train_acc'])}, test "
                    f"{fmt_pct(run['test_acc'])}, {run['cpu_seconds']:.0f} s CPU"
                )
    wanted = {(ABLATION[r][0], s) for r in picked for s in seeds}
    mine = [r for r in done if (r["label"], r["seed"]) in wanted and r["split"] == split]
    return sorted(mine, key=lambda r: (r["row"], r["seed"]))


def _jsonable(value: Any) -> Any:
    """Tuples as lists, so a stored recipe compares equal to a fresh one."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def ablation_markdown(runs: list[dict[str, Any]]) -> str:
    """A table of :func:`ablation`'s runs: per row, test (and train) accuracy over its seeds."""
    rows = []
    for label in dict.fromkeys(r["label"] for r in sorted(runs, key=lambda r: r["row"])):
        mine = [r for r in runs if r["label"] == label]
        test = torch.tensor([r["test_acc"] for r in mine], dtype=torch.float64)
        train = torch.tensor([r["train_acc"] for r in mine], dtype=torch.float64)
        spread = f" ± {fmt_pct(float(test.std()))}" if len(mine) > 1 else ""
        rows.append(
            [
                label,
                f"{mine[0]['params']:,}",
                f"{mine[0]['epochs']}",
                fmt_pct(float(test.mean())) + spread,
                fmt_pct(float(train.mean())),
                f"{sum(r['cpu_seconds'] for r in mine) / len(mine):.0f}",
                len(mine),
            ]
        )
    headers = ["setting", "params", "epochs", "test acc.", "train acc.", "CPU s / run", "seeds"]
    return md_table(headers, rows)


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
            :data:`FULL` (width 16, 10 epochs; both deconvolution baselines, 60 epochs).
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
        f"every layer. Adam lr {cfg['lr']:g}, L2 {cfg['weight_decay']:g} (Adam "
        f"weight decay), batch {cfg['batch_size']} (Liu et al.: 16), {cfg['epochs']} epochs"
        + (f", at most {cfg['max_steps']} steps" if cfg["max_steps"] else "")
        + "."
        + _baselines_sentence(cfg),
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


def _baselines_sentence(cfg: dict[str, Any]) -> str:
    """What the deconvolution baselines in ``cfg['models']`` are and how long they train."""
    base = [m for m in BASELINES if m in cfg["models"]]
    if not base:
        return ""
    epochs = cfg.get("baseline_epochs") or cfg["epochs"]
    drop = cfg.get("baseline_lr_drop", 0)
    what = {
        "deconv": "`deconv` is ours (4×4 kernels, no normalisation)",
        "deconv_paper": "`deconv_paper` is Liu et al.'s as their code builds and trains it "
        "(3×3 kernels, BatchNorm, He init, pixel coordinates as input; Adam lr 0.01, β2 0.99, "
        "L2 on the kernels)",
    }
    return (
        f" The deconvolution baselines are six stride-2 transposed convolutions from the "
        f"coordinates as a 1 × 1 input: {'; '.join(what[m] for m in base)}. They train for "
        f"{epochs} epochs"
        + (f", the learning rate divided by 10 from epoch {drop + 1}" if drop else "")
        + " (Liu et al. trained theirs for 1,000 to 2,000 epochs)."
    )


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
    for base in ("vanilla", *BASELINES):
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
            sentence += "; the paper's ≈86% at best on the uniform split " + (
                "is exceeded"
                if u >= 0.96
                else "is matched within 10 points"
                if u >= 0.76
                else "is not reached in this budget"
            )
        verdict.append(sentence + ".")
    return verdict


def main(argv: list[str] | None = None) -> int:
    """The command line of :func:`ablation`: train the chosen rows, print the table."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m coordbias.study.experiments.notsoclevr",
        description="Ablation of the Not-so-Clevr deconvolution baseline: ours against Liu et "
        "al.'s, one difference at a time (rows: "
        + "; ".join(f"{i} {row[0]}" for i, row in enumerate(ABLATION))
        + ").",
    )
    parser.add_argument("out", type=Path, help="JSON file of the runs (resumed if it exists)")
    parser.add_argument("--rows", type=int, nargs="*", help="row indices (default: all)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], help="default: 0")
    parser.add_argument("--split", choices=SPLITS, default="uniform")
    args = parser.parse_args(argv)
    try:
        runs = ablation(
            args.out,
            rows=None if args.rows is None else tuple(args.rows),
            seeds=tuple(args.seeds),
            split=args.split,
        )
    except ValueError as err:
        parser.error(str(err))
    print(ablation_markdown(runs))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
