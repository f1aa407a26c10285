"""Fourier-feature CoordConv: sin/cos coordinate channels concatenated to a convolution's input.

``FourierCoordConv2d`` is CoordConv (:class:`~coordbias.layers.coordconv.CoordConv2d`) with the
Fourier basis of :func:`~coordbias.layers.fourier.fourier_basis` as its coordinate channels, the
sinusoidal positional encoding that Xu et al. (CVPR 2021, "Positional encoding as spatial
inductive bias in GANs") concatenate to a generator's features. Per axis the channels are the
coordinate and ``sin``, ``cos`` of ``K`` frequencies, ``[c, sin(pi c), cos(pi c), ...,
sin(K pi c), cos(K pi c)]``, first for the row coordinate ``Y``, then for the column coordinate
``X``: ``2 + 4 K`` channels, ``K = 0`` being CoordConv's two. The coordinates are CoordConv's
(the input grid, -1 at the first index, +1 at the last), so the encoding is a function of
normalised position and the layer is resolution-free; Xu et al.'s encoding, transformer-style
frequencies of the pixel index, is tied to the pixel grid instead.

The conventions are CoordConv's: the coordinate channels are ordinary input channels (padded by
every ``padding_mode`` like the others; appended to every group with ``groups > 1``), and the
layer's own ``weight`` has ``in_channels // groups + 2 + 4 K`` input channels, the coordinate ones
last. The forward uses the linearity of the convolution, ``conv(cat(x, phi), W) = conv(x, W_x) +
conv(phi, W_phi)``, with ``phi``'s term computed once for a batch of one and broadcast. With
``coord_init="zeros"`` the coordinate channels' weights start at zero and the layer computes
:class:`torch.nn.Conv2d` with ``W_x`` bit for bit.
"""

import torch
from torch import Tensor

from coordbias.layers import _conv, _separable
from coordbias.layers._coords import _coord_dtype, output_coords
from coordbias.layers._separable import PositionConv2d
from coordbias.layers.fourier import _check_frequencies, fourier_basis, fourier_features

__all__ = ["FourierCoordConv2d", "fourier_channels"]


def fourier_channels(
    height: int,
    width: int,
    frequencies: int,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """The Fourier coordinate channels of an ``height x width`` input grid.

    Args:
        height: Rows ``H``.
        width: Columns ``W``.
        frequencies: ``K``, frequencies per axis.
        dtype: float32 (default) or float64; other dtypes compute in float32.
        device: Device of the result.

    Returns:
        ``(2 + 4 K, H, W)``: the row coordinate's basis (each channel constant along a row),
        then the column coordinate's.

    Example:
        >>> fourier_channels(3, 4, 1).shape
        torch.Size([6, 3, 4])
        >>> fourier_channels(3, 4, 1)[0, :, 0].tolist()  # the row coordinate
        [-1.0, 0.0, 1.0]
    """
    work = _coord_dtype(dtype)
    rows = fourier_basis(output_coords(height, True, work, device), frequencies)  # (F, H)
    cols = fourier_basis(output_coords(width, True, work, device), frequencies)  # (F, W)
    per_axis = rows.shape[0]
    return torch.cat(
        (
            rows.unsqueeze(2).expand(per_axis, height, width),
            cols.unsqueeze(1).expand(per_axis, height, width),
        )
    )


class FourierCoordConv2d(PositionConv2d):
    """2-D CoordConv with ``2 + 4 K`` Fourier coordinate channels; see the module docstring.

    Takes ``nn.Conv2d``'s arguments in the same order (``in_channels`` counts the caller's channels
    only), plus the keyword-only options (``**options``) ``frequencies`` and ``coord_init``.

    Other Parameters:
        frequencies (int): ``K``, frequencies per axis (default 2; 0 gives CoordConv's channels).
        coord_init (str): ``"uniform"`` (default: torch's initialisation of the whole kernel, as
            CoordConv) or ``"zeros"`` (the coordinate channels' weights start at zero).

    Shape:
        - Input: ``(B, C_in, H, W)`` or ``(C_in, H, W)``.
        - Output: ``(B, C_out, H_out, W_out)`` or ``(C_out, H_out, W_out)``, as ``nn.Conv2d``.

    Example:
        >>> conv = FourierCoordConv2d(3, 16, 3, padding=1, frequencies=2)
        >>> conv.weight.shape  # 3 channels + 10 Fourier coordinate channels
        torch.Size([16, 13, 3, 3])
        >>> conv(torch.randn(2, 3, 32, 48)).shape
        torch.Size([2, 16, 32, 48])
    """

    def _configure(self, *, frequencies: int = 2, coord_init: str = "uniform") -> None:
        _check_frequencies(type(self).__name__, frequencies)
        self.frequencies = frequencies
        self._set_coord_options(None, coord_init)

    def _conv_in_channels(self, in_channels: int, groups: int) -> int:
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        if in_channels % groups:
            raise ValueError(
                f"{name}: in_channels={in_channels} must be divisible by groups={groups} (the "
                f"coordinate channels are appended to every group, so only your channels count)"
            )
        return in_channels + groups * 2 * fourier_features(self.frequencies)

    def _add_position(self, out_channels: int, factory: dict) -> None:
        # in_channels is the caller's; the weight holds groups * (2 + 4 K) more.
        self.in_channels -= self.groups * 2 * fourier_features(self.frequencies)

    def _reset_position(self) -> None:
        """With ``coord_init="zeros"``, zero the coordinate channels' weights."""
        if self.coord_init == "zeros":
            with torch.no_grad():
                self.coord_channel_weight.zero_()

    @property
    def coord_channel_weight(self) -> Tensor:
        """View of ``weight`` on the coordinate channels: ``(C_out, 2 + 4 K, *kernel_size)``."""
        return self.weight[:, self.weight.shape[1] - 2 * fourier_features(self.frequencies) :]

    def forward(self, input: Tensor) -> Tensor:
        """Append the Fourier coordinate channels (to every group) and convolve.

        Args:
            input: ``(B, C_in, H, W)`` or unbatched ``(C_in, H, W)``.

        Returns:
            ``(B, C_out, H_out, W_out)`` (or unbatched), as the torch convolution with the same
            arguments.
        """
        _separable.refuse_frame(self)
        _conv._check_input(input, 2, self.in_channels, type(self).__name__)
        batched = input.dim() == 4
        x = input if batched else input.unsqueeze(0)
        per_group = self.in_channels // self.groups
        phi = fourier_channels(x.shape[2], x.shape[3], self.frequencies, x.dtype, x.device)
        phi = phi.unsqueeze(0).to(x.dtype)
        if self.groups > 1:
            phi = phi.repeat(1, self.groups, 1, 1)
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            phi = phi.contiguous(memory_format=torch.channels_last)
        out = self._conv_forward(x, self.weight[:, :per_group], self.bias)
        out = out.add_(self._conv_forward(phi, self.weight[:, per_group:], None))
        return out if batched else out.squeeze(0)
