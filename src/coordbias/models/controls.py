"""Study controls: convolutions with the coordinate bias's extra parameters but no position.

The coordinate bias adds ``2 * out_channels`` parameters to a 2-D convolution. To tell whether a
gain comes from *position* or merely from *more parameters*, :class:`ParamMatchedConv2d` adds
exactly as many per-channel parameters, none of which can see where a pixel is:

    y = (1 + scale[f]) * conv(x)[f] + shift[f]

``scale`` and ``shift`` have shape ``(out_channels,)`` and start at zero, so a fresh layer equals
the plain torch layer with the same weights. Both act identically at every pixel, so the layer is
exactly as translation-equivariant as the convolution it wraps.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _scale_shift(y: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Apply ``(1 + scale) * y + shift`` per channel to ``y`` of shape ``(B, C, *spatial)``."""
    view = (1, -1) + (1,) * (y.dim() - 2)
    return torch.addcmul(shift.view(view), y, 1.0 + scale.view(view))


class ParamMatchedConv2d(nn.Conv2d):
    """``nn.Conv2d`` plus a per-channel scale and shift: ``2 * out_channels`` position-free extras.

    Takes exactly ``nn.Conv2d``'s arguments. The extra parameters are ``scale`` and ``shift``, each
    of shape ``(out_channels,)``, initialised to zero.

    Shape:
        - Input: ``(B, C_in, H, W)``
        - Output: ``(B, C_out, H_out, W_out)`` as for ``nn.Conv2d``

    Example:
        >>> conv = ParamMatchedConv2d(3, 8, 3, padding=1)
        >>> conv(torch.zeros(2, 3, 16, 12)).shape
        torch.Size([2, 8, 16, 12])
        >>> sum(p.numel() for p in conv.parameters()) - (8 * 3 * 3 * 3 + 8)
        16
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        factory = {"device": self.weight.device, "dtype": self.weight.dtype}
        self.scale = nn.Parameter(torch.zeros(self.out_channels, **factory))
        self.shift = nn.Parameter(torch.zeros(self.out_channels, **factory))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return _scale_shift(super().forward(input), self.scale, self.shift)


class ParamMatchedConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` plus a per-channel scale and shift (see :class:`ParamMatchedConv2d`).

    Takes exactly ``nn.ConvTranspose2d``'s arguments; ``forward`` accepts ``output_size`` like the
    parent.

    Shape:
        - Input: ``(B, C_in, H, W)``
        - Output: ``(B, C_out, H_out, W_out)`` as for ``nn.ConvTranspose2d``

    Example:
        >>> up = ParamMatchedConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up(torch.zeros(1, 8, 5, 7)).shape
        torch.Size([1, 4, 10, 14])
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        factory = {"device": self.weight.device, "dtype": self.weight.dtype}
        self.scale = nn.Parameter(torch.zeros(self.out_channels, **factory))
        self.shift = nn.Parameter(torch.zeros(self.out_channels, **factory))

    def forward(self, input: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        output_padding = self._output_padding(
            input, output_size, self.stride, self.padding, self.kernel_size, 2, self.dilation
        )
        y = F.conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )
        return _scale_shift(y, self.scale, self.shift)
