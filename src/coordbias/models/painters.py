"""The study's Not-so-Clevr painters: networks from a centre's two coordinates to a logit per pixel
of the 64 x 64 canvas (the pixel of the centre should win).

- :class:`TiledFCN`: the coordinates tiled to the canvas, then four convolutions of one kind
  (:func:`conv_stack`); the registry's ``"tiled_fcn"``.
- :class:`DeconvPainter`: the deconvolution baseline, six stride-2 transposed convolutions from
  1 x 1 to 64 x 64; the registry's ``"deconv_painter"``. Its settings are the network fields of
  ``coordbias.training.notsoclevr.DeconvRecipe`` (which adds the optimiser's).

They were defined beside their training (``coordbias.training.notsoclevr``, which still exports
them) and live here so that the models registry builds them.
"""

from __future__ import annotations

import functools
import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from coordbias.models.convs import make_conv

__all__ = ["CANVAS", "DeconvPainter", "TiledFCN", "conv_stack", "upsample"]

#: Side of the canvas: ``coordbias.data.notsoclevr.CANVAS``, which the models may not import
#: (tests/models/test_painters.py checks that the two agree).
CANVAS = 64


def conv_stack(conv: str, in_channels: int, width: int, out_channels: int) -> nn.ModuleList:
    """The four convolutions of :class:`TiledFCN`, of one kind: 3 x 3 with padding 1 from
    ``in_channels`` to ``width``, two 1 x 1 of ``width``, and a 1 x 1 to ``out_channels``."""
    # map_size: the canvas, for a learned position map (the other kinds ignore it).
    make = functools.partial(make_conv, conv, map_size=CANVAS)
    return nn.ModuleList(
        [
            make(in_channels, width, 3, padding=1),
            make(width, width, 1),
            make(width, width, 1),
            make(width, out_channels, 1),
        ]
    )


class TiledFCN(nn.Module):
    """Four-layer fully convolutional net on the coordinates tiled to a 64 x 64 map.

    Args:
        conv: the convolution used in every layer: a kind of :data:`coordbias.models.CONV_KINDS`
            (the experiment trains ``"vanilla"``, ``"coordconv"`` and ``"coordbias"``).
        width: hidden channels.

    Shape:
        - Input: ``(B, 2)`` coordinates in [-1, 1].
        - Output: ``(B, 4096)`` logits, one per pixel (row-major).
    """

    def __init__(self, conv: str = "coordbias", width: int = 8) -> None:
        super().__init__()
        self.layers = conv_stack(conv, 2, width, 1)

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


class DeconvPainter(nn.Module):
    """The deconvolution baseline: six stride-2 transposed convolutions from 1 x 1 to 64 x 64.

    The coordinates are a ``(B, 2, 1, 1)`` input; ReLU (after BatchNorm when ``batch_norm``)
    follows every layer but the last, which has one channel: the logits.

    Args:
        channels: output channels of the five hidden transposed convolutions.
        kernel: 4 (stride 2, padding 1) or 3 (TensorFlow's ``'same'`` alignment, see
            :func:`upsample`).
        batch_norm: BatchNorm (eps 1e-5, momentum 0.1) before each ReLU.
        he_init: He initialisation as TensorFlow's ``he_normal`` (truncated normal, std
            ``sqrt(2 / fan_in)`` cut at 2 std, fan-in = output channels x k x k for a transposed
            kernel) and zero biases; otherwise PyTorch's default.
        pixel_input: take the centre's pixel coordinates (4..59) instead of [-1, 1].

    Shape:
        - Input: ``(B, 2)`` coordinates in [-1, 1].
        - Output: ``(B, 4096)`` logits.
    """

    def __init__(
        self,
        channels: tuple[int, ...] = (8, 8, 8, 8, 8),
        kernel: int = 4,
        batch_norm: bool = False,
        he_init: bool = False,
        pixel_input: bool = False,
    ) -> None:
        super().__init__()
        chans = [2, *channels, 1]
        pad = 1 if kernel == 4 else 0
        self.layers = nn.ModuleList(
            nn.ConvTranspose2d(a, b, kernel, stride=2, padding=pad)
            for a, b in itertools.pairwise(chans)
        )
        self.norms = nn.ModuleList(
            nn.BatchNorm2d(b, eps=1e-5, momentum=0.1) for b in chans[1:-1] if batch_norm
        )
        if he_init:
            for layer in self.layers:
                std = (2.0 / (layer.out_channels * kernel**2)) ** 0.5
                nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std)
                nn.init.zeros_(layer.bias)
        self.pixel_input = pixel_input

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
