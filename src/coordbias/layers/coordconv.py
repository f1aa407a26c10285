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

``CoordConvTransposeNd`` is the same for a transposed convolution: the coordinates of the *input*
grid (as CoordConv's, in ``[-1, 1]``) are appended to the input of ``ConvTransposeNd``, whose
``weight`` then has shape ``(in_channels + groups * k, out_channels // groups, *kernel_size)``,
the ``k`` coordinate channels last in every group (``weight[-k:]`` in the last one); the forward
splits it the same way, and takes torch's ``output_size`` argument.

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

from coordbias.layers import _signature
from coordbias.layers._conv import _convolution
from coordbias.layers.addcoords import _add_coords, _check_batch, _coordinate_grid, coord_channels

__all__ = [
    "CoordConv1d",
    "CoordConv2d",
    "CoordConv3d",
    "CoordConvTranspose1d",
    "CoordConvTranspose2d",
    "CoordConvTranspose3d",
]


class _CoordConvMixin:
    """What the CoordConv layers share: the constructor, ``forward``'s work, ``extra_repr``."""

    # Python-only properties (the deprecated alias warns), not compiled by TorchScript.
    __jit_unused_properties__: ClassVar = ("coord_channel_weight", "coord_weight")
    # inspect.signature: the torch layer's parameters, then with_r.
    __signature__ = _signature.TorchSignature(with_r=False)

    _spatial_dims = 0
    # Below this many (batch size x input channels per group) the forward concatenates the
    # coordinates; from it on it convolves them separately (see the module docstring).
    _split_min = 8

    def __init__(self, *args, with_r: bool = False, **kwargs) -> None:
        """The torch layer's arguments, in its order, plus ``with_r`` (also the radius channel)."""
        name = type(self).__name__
        arguments = _signature.bind(type(self), args, kwargs)
        in_channels, groups = arguments["in_channels"], arguments["groups"]
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
        arguments["in_channels"] = in_channels + groups * coord_channels(self._spatial_dims, with_r)
        super().__init__(**arguments)
        # The user's channel count; the weight holds ``groups * k`` more input channels.
        self.in_channels = in_channels
        self.with_r = with_r
        # Instance attributes, seen by TorchScript.
        self._spatial_dims = self._spatial_dims
        self._split_min = self._split_min

    def _coord_forward(self, input: Tensor, output_padding: list[int]) -> Tensor:
        """Append coordinates (to every group) and convolve; see ``forward``."""
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
            out = self._convolve(x, self.weight, self.bias, output_padding)
            return out if batched else out.squeeze(0)
        # conv(cat(x, coords), W) == conv(x, W_x) + conv(coords, W_c): the coordinate term is the
        # same for every sample, so it is computed once on a batch of one and broadcast.
        coords = _coordinate_grid(list(x.shape[2:]), self.with_r, x.device, x.dtype)
        _check_batch(coords, x.shape[0])  # a per-sample coordinate frame: one row per sample
        if self.groups > 1:
            coords = coords.repeat([1, self.groups] + [1] * d)
        weight_x, weight_c = self._split_weight(per_group)
        out = self._convolve(x, weight_x, self.bias, output_padding)
        out = out + self._convolve(coords, weight_c, None, output_padding)
        return out if batched else out.squeeze(0)

    def _split_weight(self, per_group: int) -> tuple[Tensor, Tensor]:
        """``weight`` on the user's channels and on the coordinate channels, per group."""
        weight = self.weight
        if not self.transposed:  # (C_out, C_in / groups + k, *kernel)
            return weight[:, :per_group], weight[:, per_group:]
        # Transposed: (C_in + groups * k, C_out / groups, *kernel), the groups along dim 0.
        rest: list[int] = list(weight.shape[1:])
        grouped = weight.reshape([self.groups, -1] + rest)  # noqa: RUF005 (TorchScript)
        user = grouped[:, :per_group].reshape([-1] + rest)  # noqa: RUF005
        return user, grouped[:, per_group:].reshape([-1] + rest)  # noqa: RUF005

    def extra_repr(self) -> str:
        return super().extra_repr() + f", with_r={self.with_r}"  # type: ignore[misc]

    @property
    def coord_channel_weight(self) -> Tensor:
        """View of ``weight`` on the coordinate channels of the last group.

        ``(C_out, k, *kernel_size)``; transposed: ``(k, C_out / groups, *kernel_size)``. With
        ``groups > 1`` every group has its own ``k`` coordinate channels (see the module
        docstring for the layout of ``weight``).
        """
        k = coord_channels(self._spatial_dims, self.with_r)
        if self.transposed:  # type: ignore[attr-defined]
            return self.weight[-k:]  # type: ignore[attr-defined]
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
    """Base of the CoordConv layers."""

    def forward(self, input: Tensor) -> Tensor:
        """Append coordinates (to every group) and convolve.

        Args:
            input: ``(B, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.

        Returns:
            ``(B, C_out, *spatial_out)`` (or unbatched ``(C_out, *spatial_out)``), as the torch
            convolution with the same arguments.
        """
        return self._coord_forward(input, [0])

    def _convolve(
        self, x: Tensor, weight: Tensor, bias: Tensor | None, output_padding: list[int]
    ) -> Tensor:
        return self._conv_forward(x, weight, bias)  # type: ignore[attr-defined]


class _CoordConvTransposeNd(_CoordConvMixin):
    """Base of the transposed CoordConv layers."""

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        """Append the input grid's coordinates (to every group), then transpose-convolve.

        The arguments (``output_size`` picks the ``output_padding``) and the shapes, batched
        ``(B, C, *spatial)`` or unbatched, are the torch layer's.
        """
        output_padding = self._output_padding(  # type: ignore[attr-defined]
            input,
            output_size,
            list(self.stride),  # type: ignore[attr-defined]
            list(self.padding),  # type: ignore[attr-defined]
            list(self.kernel_size),  # type: ignore[attr-defined]
            self._spatial_dims,
            list(self.dilation),  # type: ignore[attr-defined]
        )
        return self._coord_forward(input, output_padding)

    def _convolve(
        self, x: Tensor, weight: Tensor, bias: Tensor | None, output_padding: list[int]
    ) -> Tensor:
        return _convolution(
            x,
            weight,
            bias,
            True,
            list(self.stride),  # type: ignore[attr-defined]
            list(self.padding),  # type: ignore[attr-defined]
            output_padding,
            list(self.dilation),  # type: ignore[attr-defined]
            self.groups,  # type: ignore[attr-defined]
        )


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


class CoordConvTranspose1d(_CoordConvTransposeNd, nn.ConvTranspose1d):
    """1-D transposed CoordConv: ``nn.ConvTranspose1d`` over the input plus its coordinate (plus r).

    Arguments, input and output shapes as ``nn.ConvTranspose1d``'s, plus keyword
    ``with_r``; the coordinates are those of the input grid ``(B, C_in, L)``, as CoordConv's.

    Example:
        >>> from torch import randn
        >>> up = CoordConvTranspose1d(3, 8, 2, stride=2)  # weight: (3 + 1, 8, 2)
        >>> up(randn(2, 3, 40)).shape
        torch.Size([2, 8, 80])
    """

    _spatial_dims = 1


class CoordConvTranspose2d(_CoordConvTransposeNd, nn.ConvTranspose2d):
    """2-D transposed CoordConv: ``nn.ConvTranspose2d`` over the input plus row and column
    coordinates (plus r).

    Arguments, input and output shapes as ``nn.ConvTranspose2d``'s, plus keyword
    ``with_r``; the coordinates are those of the input grid ``(B, C_in, H, W)``, as CoordConv's.

    Example:
        >>> import torch
        >>> up = CoordConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up.weight.shape  # 8 channels + row + column, then C_out
        torch.Size([10, 4, 3, 3])
        >>> up(torch.randn(2, 8, 5, 7)).shape
        torch.Size([2, 4, 10, 14])
    """

    _spatial_dims = 2


class CoordConvTranspose3d(_CoordConvTransposeNd, nn.ConvTranspose3d):
    """3-D transposed CoordConv: ``nn.ConvTranspose3d`` over the input plus depth, row and column
    coordinates (plus r).

    Arguments, input and output shapes as ``nn.ConvTranspose3d``'s, plus keyword
    ``with_r``; the coordinates are those of the input grid ``(B, C_in, D, H, W)``, as CoordConv's.

    Example:
        >>> import torch
        >>> up = CoordConvTranspose3d(2, 2, 2, stride=2, with_r=True)
        >>> up.weight.shape, up(torch.randn(1, 2, 3, 3, 3)).shape
        (torch.Size([6, 2, 2, 2, 2]), torch.Size([1, 2, 6, 6, 6]))
    """

    _spatial_dims = 3
