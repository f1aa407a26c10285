"""The Not-so-Clevr painters' training: which network each of :data:`MODELS` is (the tiled FCN,
plain, CoordConv or coordinate bias, and the deconvolution baselines, :class:`DeconvRecipe`,
:func:`recipe`; the networks themselves are :mod:`coordbias.models.painters`, built by the
models registry), their optimiser, and their scores (:func:`accuracy`,
:func:`mean_over_centres`).

The study's Not-so-Clevr experiment (``coordbias.study.experiments.notsoclevr``) trains these
(the benchmark's Not-so-Clevr cells train Liu et al.'s networks, ``coordbias.models.liu``); the
scores need the data's encoding, so they live in training, the lowest part that may import both
the data and the models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from coordbias.data.notsoclevr import encode, targets
from coordbias.models.painters import DeconvPainter, TiledFCN, conv_stack, upsample

__all__ = [
    "BASELINES",
    "MODELS",
    "DeconvNet",
    "DeconvRecipe",
    "TiledFCN",
    "accuracy",
    "build_notsoclevr_model",
    "conv_stack",
    "make_optimizer",
    "mean_over_centres",
    "recipe",
    "upsample",
]

MODELS = ("vanilla", "deconv", "deconv_paper", "coordconv", "coordbias")
#: The deconvolution baselines (coordinates as a 1 x 1 input), trained longer in the
#: experiment's ``FULL`` setting (``coordbias.study.experiments.notsoclevr.FULL``).
BASELINES = ("deconv", "deconv_paper")


@dataclass(frozen=True)
class DeconvRecipe:
    """A deconvolution baseline: its network and its optimiser, the unit of the ablation
    (``coordbias notsoclevr-ablation``).

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

    def network_settings(self) -> dict[str, Any]:
        """The network's fields: the settings of ``create_model("deconv_painter", ...)``."""
        return {
            "channels": self.channels,
            "kernel": self.kernel,
            "batch_norm": self.batch_norm,
            "he_init": self.he_init,
            "pixel_input": self.pixel_input,
        }


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


class DeconvNet(DeconvPainter):
    """A deconvolution baseline built from its recipe: the :class:`DeconvPainter` (the registry's
    ``"deconv_painter"``) of the recipe's network fields.

    Args:
        spec: the network's fields of a :class:`DeconvRecipe` (the optimiser's are ignored).
    """

    def __init__(self, spec: DeconvRecipe) -> None:
        super().__init__(**spec.network_settings())


def build_notsoclevr_model(name: str, width: int, spec: DeconvRecipe | None = None) -> nn.Module:
    """One of :data:`MODELS` at the given width, from the models registry (``"tiled_fcn"`` of
    kind ``name``, or a baseline's ``"deconv_painter"``), weights in ``channels_last`` (faster on
    CPU).

    Args:
        name: one of :data:`MODELS`.
        width: hidden channels.
        spec: a baseline's recipe, instead of :func:`recipe` ``(name, width)`` (the ablation's).
    """
    from coordbias.models import create_model

    if spec is not None or name in BASELINES:
        spec = spec if spec is not None else recipe(name, width)
        model = create_model("deconv_painter", **spec.network_settings())
    else:
        model = create_model("tiled_fcn", conv=name, width=width)
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


@torch.no_grad()
def mean_over_centres(
    model: nn.Module,
    c: Tensor,
    chunk_sum: Callable[[nn.Module, Tensor], float],
    batch_size: int = 256,
) -> float:
    """Mean of a per-centre score over centres ``c`` ``(N, 2)``: ``model`` in eval mode, no
    gradients, ``batch_size`` centres at a time; ``chunk_sum(model, chunk)`` is the score's sum
    over one chunk."""
    model.eval()
    total = 0.0
    for start in range(0, c.shape[0], batch_size):
        total += chunk_sum(model, c[start : start + batch_size])
    return total / max(c.shape[0], 1)


def _correct(model: nn.Module, chunk: Tensor) -> int:
    return int((model(encode(chunk)).argmax(1) == targets(chunk)).sum())


def accuracy(model: nn.Module, c: Tensor, batch_size: int = 256) -> float:
    """Fraction of centres ``c`` ``(N, 2)`` whose arg-max pixel is the centre pixel."""
    return mean_over_centres(model, c, _correct, batch_size)
