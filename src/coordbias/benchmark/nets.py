"""The networks of the benchmark's tasks, each with one convolution kind in every layer.

- circles tasks: the study's FCN (:func:`coordbias.models.create_model`), the method's variant
  fields as the study sets them;
- Not-so-Clevr classification: the experiment's
  :class:`~coordbias.training.notsoclevr.TiledFCN` (coordinates tiled to a 64 x 64 map,
  four convolutions, logits per pixel);
- Not-so-Clevr regression: :class:`OneHotRegressor`, the same four convolutions on the one-hot
  image (3 x 3 pad 1, then 1 x 1) with no nonlinearity between them, two output channels, the
  maximum over the pixels: the coordinates. Liu et al.'s CoordConv regressor (their
  ``ConvRegressor``) is built the same way (linear 1 x 1 and 3 x 3 convolutions, a global
  max-pool to two numbers). With a plain convolution the maximum of a translated response is the
  same wherever the hot pixel is (but at the borders), so ``vanilla`` cannot regress the
  position; a coordinate term per layer can (``K * hot + X`` peaks at the hot pixel at ``K + X``).
  With ReLUs between the layers the coordinate bias reached only 14 to 16 px of error (the mean
  prediction's: 21 px) in three of four optimiser settings tried at the quick scale (seed 0).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from coordbias.models import create_model
from coordbias.models.variants import variant_fields
from coordbias.training.notsoclevr import TiledFCN, conv_stack

__all__ = ["OneHotRegressor", "build_network"]


class OneHotRegressor(nn.Module):
    """One-hot image in, coordinates out: four linear convolutions of one kind, a global max.

    Args:
        conv: a kind of :data:`coordbias.models.CONV_KINDS`, used in every layer.
        width: hidden channels.

    Shape:
        - Input: ``(B, 1, H, W)``.
        - Output: ``(B, 2)`` (row, column) in the units of the targets.
    """

    def __init__(self, conv: str, width: int) -> None:
        super().__init__()
        self.layers = conv_stack(conv, 1, width, 2)

    def forward(self, x: Tensor) -> Tensor:
        """Coordinates ``(B, 2)`` of images ``(B, 1, H, W)``."""
        x = x.contiguous(memory_format=torch.channels_last)
        for layer in self.layers:
            x = layer(x)
        return x.amax(dim=(2, 3))


def build_network(
    family: str, method: str, width: int, num_classes: int = 4, image_size: int = 64
) -> nn.Module:
    """The network of a task family for ``method`` (a study variant), at ``width``; a learned
    position map is sized for ``image_size`` (circles) or the 64 x 64 canvas (Not-so-Clevr).

    Raises:
        ValueError: the method's convolution has no form this network needs (the cell is then
            "n/a" with this message).
    """
    fields = variant_fields(method)
    if family == "circles":
        return create_model(
            "fcn", num_classes=num_classes, width=width, map_size=image_size, **fields
        )
    if family == "nsc_class":
        return TiledFCN(fields["conv"], width).to(memory_format=torch.channels_last)
    if family == "nsc_reg":
        return OneHotRegressor(fields["conv"], width).to(memory_format=torch.channels_last)
    raise ValueError(f"family must be circles, nsc_class or nsc_reg; got {family!r}")
