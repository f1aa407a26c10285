"""CoordConv (Liu et al. 2018, arXiv 1807.03247): a convolution that also sees coordinates.

``CoordConvNd(in_channels, ...)`` computes ``ConvNd(add_coords(x))``: the ``d`` coordinate
channels of :func:`~coordbias.layers.addcoords.add_coords` (and the radius channel with
``with_r=True``) are appended to the input, and the layer's own ``weight`` has those extra input
channels. The layer is a subclass of the torch convolution with that one weight (no second
convolution module, no dead weight); ``in_channels`` is the number of channels the caller passes in.

The forward pass uses the linearity of the convolution, ``conv(cat(x, coords), W) =
conv(x, W_x) + conv(coords, W_c)``: the coordinate term does not depend on the sample, so it is
computed once for a batch of one and broadcast over the batch. The result equals the convolution
of the concatenated input up to floating-point rounding, and costs about as much as the plain
convolution instead of one with ``k`` more input channels for every sample. When batch size times
input channels per group is below 8 (an RGB stem at batch size 1), where the second convolution
and the addition would cost more than they save, the forward concatenates instead.

Conventions:

- The coordinate channels are ordinary input channels: every ``padding_mode`` pads them like the
  others (zero padding writes 0 next to the border ramps, reflect mirrors them, circular wraps
  them), and ``stride``, ``dilation`` and ``padding="same"`` apply unchanged.
- With ``groups > 1`` the coordinate channels are appended to every group, so each group sees
  position and ``in_channels`` only needs to be divisible by ``groups``, as for the torch layer:
  ``weight`` has shape ``(out_channels, in_channels // groups + k, *kernel_size)`` with ``k = d``
  (``d + 1`` with r), and its last ``k`` input channels, ``weight[:, -k:]``, are the coordinate
  weights in every group.

The layers (and :class:`~coordbias.layers.addcoords.AddCoords`) work under
``torch.compile(fullgraph=True)``, ``torch.jit.script`` and ``torch.export.export`` with dynamic
spatial sizes, and export to ONNX with dynamic spatial sizes through
``torch.onnx.export(..., dynamo=True, dynamic_shapes=...)`` (tested in onnxruntime at a second
size); the coordinates come from ``torch.arange``, never ``linspace`` or ``meshgrid``.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

from torch import Tensor, nn

from coordbias.layers.addcoords import _add_coords, coord_channels

__all__ = ["CoordConv1d", "CoordConv2d", "CoordConv3d"]


class _CoordConvMixin:
    """Shared constructor checks, ``forward`` and ``extra_repr`` of the CoordConv layers."""

    # Python-only properties (the deprecated alias warns), not compiled by TorchScript.
    __jit_unused_properties__: ClassVar = ("coord_channel_weight", "coord_weight")

    _spatial_dims = 0
    # Below this many (batch size x input channels per group) the forward concatenates the
    # coordinates; from it on it convolves them separately (see the module docstring).
    _split_min = 8

    def _setup(self, in_channels: int, groups: int, with_r: bool) -> int:
        """Check arguments; return the channel count the parent convolution is built with."""
        name = type(self).__name__
        if not isinstance(with_r, bool):
            raise TypeError(f"{name}: with_r must be a bool, got {with_r!r}")
        for arg, value in (("in_channels", in_channels), ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        if in_channels % groups != 0:
            raise ValueError(
                f"{name}: in_channels={in_channels} must be divisible by groups={groups} (the "
                f"coordinate channels are appended to every group, so only your channels count)"
            )
        return in_channels + groups * coord_channels(self._spatial_dims, with_r)

    def forward(self, input: Tensor) -> Tensor:
        """Append coordinates (to every group) and convolve.

        Args:
            input: ``(B, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.

        Returns:
            ``(B, C_out, *spatial_out)`` (or unbatched ``(C_out, *spatial_out)``), as the torch
            convolution with the same arguments.
        """
        d = self._spatial_dims
        if input.dim() != d + 2 and input.dim() != d + 1:
            raise ValueError(
                f"expected a {d + 2}-D input (B, C, *spatial) or an unbatched {d + 1}-D input "
                f"(C, *spatial), got shape {list(input.shape)}"
            )
        channels = input.shape[1] if input.dim() == d + 2 else input.shape[0]
        if channels != self.in_channels:
            raise ValueError(
                f"expected {self.in_channels} input channels, got {channels} "
                f"(input shape {list(input.shape)})"
            )
        batched = input.dim() == d + 2
        x = input if batched else input.unsqueeze(0)
        per_group = self.in_channels // self.groups
        if x.shape[0] * per_group < self._split_min:
            # Tiny inputs (an RGB stem at batch size 1): concatenating is cheapest.
            x = _add_coords(x, self.with_r, d, self.groups)
            out = self._conv_forward(x, self.weight, self.bias)
            return out if batched else out.squeeze(0)
        # conv(cat(x, coords), W) == conv(x, W_x) + conv(coords, W_c): the coordinate term is the
        # same for every sample, so it is computed once on a batch of one and broadcast.
        empty = x.new_zeros([1, 0] + list(x.shape[2:]))  # noqa: RUF005 (TorchScript)
        coords = _add_coords(empty, self.with_r, d, 1)
        if self.groups > 1:
            coords = coords.repeat([1, self.groups] + [1] * d)
        out = self._conv_forward(x, self.weight[:, :per_group], self.bias)
        out = out + self._conv_forward(coords, self.weight[:, per_group:], None)
        return out if batched else out.squeeze(0)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", with_r={self.with_r}"  # type: ignore[misc]

    @property
    def coord_channel_weight(self) -> Tensor:
        """View of ``weight`` on the coordinate channels: ``(C_out, k, *kernel_size)``.

        With ``groups > 1`` this is the last group's slice (every group has its own ``k``
        coordinate channels; see the module docstring for the layout of ``weight``).
        """
        k = coord_channels(self._spatial_dims, self.with_r)
        return self.weight[:, -k:]  # type: ignore[attr-defined]

    @property
    def coord_weight(self) -> Tensor:
        """Deprecated name of :attr:`coord_channel_weight`.

        On the coordinate-bias layers ``coord_weight`` is a ``(C_out, spatial_dims)`` parameter;
        here it was a kernel-shaped slice of ``weight``, hence the new name.
        """
        warnings.warn(
            f"{type(self).__name__}.coord_weight is deprecated; use coord_channel_weight (a "
            "slice of weight; coord_weight names the (C_out, D) parameter of CoordBias layers)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.coord_channel_weight


class _CoordConvNd(_CoordConvMixin):
    """Base of the CoordConv layers: the torch layer's constructor, with the extra channels."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        *,
        with_r: bool = False,
    ) -> None:
        """Arguments as the torch layer's, plus ``with_r`` (also append the radius channel)."""
        total = self._setup(in_channels, groups, with_r)
        options = (stride, padding, dilation, groups, bias, padding_mode, device, dtype)
        super().__init__(total, out_channels, kernel_size, *options)  # type: ignore[call-arg]
        # The user's channel count; the weight holds ``groups * k`` more input channels.
        self.in_channels = in_channels
        self.with_r = with_r
        # Instance attributes, seen by TorchScript.
        self._spatial_dims = self._spatial_dims
        self._split_min = self._split_min


class CoordConv1d(_CoordConvNd, nn.Conv1d):
    """1-D CoordConv: ``nn.Conv1d`` over the input plus one coordinate channel (plus r).

    Takes ``nn.Conv1d``'s arguments in the same order, plus keyword ``with_r``; see the module
    docstring for the coordinates, padding and groups.

    Shape:
        - Input: ``(B, C_in, L)`` or ``(C_in, L)``.
        - Output: ``(B, C_out, L_out)`` or ``(C_out, L_out)``, ``L_out`` as for ``nn.Conv1d``.

    Example:
        >>> import torch
        >>> conv = CoordConv1d(3, 8, 5, padding=2)
        >>> conv.weight.shape, conv(torch.randn(2, 3, 40)).shape
        (torch.Size([8, 4, 5]), torch.Size([2, 8, 40]))
    """

    _spatial_dims = 1


class CoordConv2d(_CoordConvNd, nn.Conv2d):
    """2-D CoordConv: ``nn.Conv2d`` over the input plus row and column coordinates (plus r).

    Takes ``nn.Conv2d``'s arguments in the same order, plus keyword ``with_r``; see the module
    docstring for the coordinates, padding and groups.

    Shape:
        - Input: ``(B, C_in, H, W)`` or ``(C_in, H, W)``.
        - Output: ``(B, C_out, H_out, W_out)`` or ``(C_out, H_out, W_out)``, as for ``nn.Conv2d``.

    Example:
        >>> import torch
        >>> conv = CoordConv2d(3, 16, 3, padding=1, with_r=True)
        >>> conv.weight.shape  # 3 channels + row + column + r
        torch.Size([16, 6, 3, 3])
        >>> conv(torch.randn(2, 3, 32, 48)).shape
        torch.Size([2, 16, 32, 48])
    """

    _spatial_dims = 2


class CoordConv3d(_CoordConvNd, nn.Conv3d):
    """3-D CoordConv: ``nn.Conv3d`` over the input plus depth, row and column coordinates (plus r).

    Takes ``nn.Conv3d``'s arguments in the same order, plus keyword ``with_r``; see the module
    docstring for the coordinates, padding and groups.

    Shape:
        - Input: ``(B, C_in, D, H, W)`` or ``(C_in, D, H, W)``.
        - Output: ``(B, C_out, D_out, H_out, W_out)`` or unbatched, as for ``nn.Conv3d``.

    Example:
        >>> import torch
        >>> conv = CoordConv3d(2, 4, 3, padding=1)
        >>> conv.weight.shape, conv(torch.randn(3, 2, 5, 6, 7)).shape
        (torch.Size([4, 5, 3, 3, 3]), torch.Size([3, 4, 5, 6, 7]))
    """

    _spatial_dims = 3
