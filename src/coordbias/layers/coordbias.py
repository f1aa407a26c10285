"""Coordinate-bias convolutions: a torch convolution plus a learned plane in the coordinates.

Each class subclasses the torch layer it replaces, takes the same arguments in the same order
(plus keyword-only ``coords`` and ``coord_init``) and adds one parameter, ``coord_weight`` of shape
``(out_channels, spatial_dims)``. Its forward is one call to :mod:`coordbias.layers.functional`.
"""

import math

import torch
from torch import Tensor, nn

from coordbias.layers import functional as CF
from coordbias.layers._eager import eager_forward

__all__ = [
    "COORD_INITS",
    "CoordBiasConv1d",
    "CoordBiasConv2d",
    "CoordBiasConv3d",
    "CoordBiasConvTranspose1d",
    "CoordBiasConvTranspose2d",
    "CoordBiasConvTranspose3d",
]

#: Accepted values of ``coord_init``.
COORD_INITS = ("uniform", "zeros")


def _check_options(layer: str, coords: str, coord_init: str) -> None:
    if coords not in CF.COORDS:
        raise ValueError(f"{layer}: coords must be one of {CF.COORDS}, got {coords!r}")
    if coord_init not in COORD_INITS:
        raise ValueError(f"{layer}: coord_init must be one of {COORD_INITS}, got {coord_init!r}")


def _check_groups(layer: str, in_channels: int, out_channels: int, groups: int) -> None:
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{layer}: groups must be a positive int, got {groups!r}")
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise ValueError(
                f"{layer}: {name}={value} is not divisible by groups={groups}; "
                f"choose groups among the common divisors of in_channels and out_channels"
            )


class _CoordBiasMixin:
    """Shared parameter handling: creation, initialisation, repr."""

    coord_weight: Tensor

    def _init_coord_weight(self, coords: str, coord_init: str, dims: int, device, dtype) -> None:
        self.coords = coords
        self.coord_init = coord_init
        self.coord_weight = nn.Parameter(
            torch.empty((self.out_channels, dims), device=device, dtype=dtype)
        )
        self.reset_coord_parameters()

    def reset_parameters(self) -> None:
        """Initialise ``weight`` and ``bias`` as torch does, then ``coord_weight``."""
        super().reset_parameters()
        # torch's __init__ calls this before coord_weight exists.
        if getattr(self, "coord_weight", None) is not None:
            self.reset_coord_parameters()

    def reset_coord_parameters(self) -> None:
        """Initialise ``coord_weight``: zeros, or ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

        The bound is the one torch uses for the layer's bias, also when ``bias=False``.
        """
        with torch.no_grad():
            if self.coord_init == "zeros":
                self.coord_weight.zero_()
                return
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            nn.init.uniform_(self.coord_weight, -bound, bound)

    @torch.jit.unused
    def _eager_forward(self, input: Tensor, output_size: list[int] | None) -> Tensor | None:
        # The eager fast path (coordbias.layers._eager); None where the general path must run.
        return eager_forward(self, input, output_size)

    def __getstate__(self) -> dict:
        # The cached coordinate grid is derived data: not pickled, not deep-copied.
        state = self.__dict__.copy()
        state.pop("_coord_grid_cache", None)
        return state

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, coords={self.coords!r}, coord_init={self.coord_init!r}"


class CoordBiasConv1d(_CoordBiasMixin, nn.Conv1d):
    """:class:`torch.nn.Conv1d` plus a learned linear function of the kernel-centre position.

    For each output filter ``f``::

        out[b, f, *o] = conv1d(x)[b, f, *o] + bias[f] + sum_i coord_weight[f, i] * c_i(o_i)

    Column ``i`` of ``coord_weight`` ``(out_channels, 1)`` multiplies the coordinate along
    spatial dimension ``i`` in torch's order (``(L,)``).

    With ``coords="center"`` (default) the coordinate is the position, in the input's frame, of the
    kernel centre that produced output index ``o``,
    ``p = o * stride - pad_left + dilation * (kernel_size - 1) / 2`` (``pad_left =
    dilation * (kernel_size - 1) // 2`` for ``padding="same"``), mapped so that the first input
    pixel is -1 and the last +1: ``c = (p - (n_in - 1) / 2) * 2 / max(n_in - 1, 1)``; padding falls
    outside ``[-1, 1]`` and a side of length 1 gives 0. With ``coords="output"`` it is the original
    study's ``o / max(n_out - 1, 1)`` in ``[0, 1]``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device, dtype: as :class:`torch.nn.Conv1d`.
        coords: ``"center"`` or ``"output"``.
        coord_init: ``"uniform"`` (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the bound of torch's
            bias init; also with ``bias=False``) or ``"zeros"`` (starts as the torch layer).

    Shape:
        - Input: ``(B, C_in, L)`` or unbatched without ``B``.
        - Output: ``(B, C_out, L_out)`` or unbatched without ``B``.
    """

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
        coords: str = "center",
        coord_init: str = "uniform",
    ) -> None:
        _check_options(type(self).__name__, coords, coord_init)
        _check_groups(type(self).__name__, in_channels, out_channels, groups)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device, dtype,
        )  # fmt: skip
        self._init_coord_weight(coords, coord_init, 1, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        """``(B, C_in, L)`` or ``(C_in, L)`` -> ``(B, C_out, L_out)`` or ``(C_out, L_out)``."""
        if not torch.jit.is_scripting():
            fast = self._eager_forward(input, None)
            if fast is not None:
                return fast
        return CF.coord_bias_conv1d(
            input, self.weight, self.bias, self.coord_weight, list(self.stride),
            self.padding if isinstance(self.padding, str) else list(self.padding),
            list(self.dilation), self.groups, self.coords, self.padding_mode,
        )  # fmt: skip


class CoordBiasConv2d(_CoordBiasMixin, nn.Conv2d):
    """:class:`torch.nn.Conv2d` plus a learned linear function of the kernel-centre position.

    For each output filter ``f``::

        out[b, f, *o] = conv2d(x)[b, f, *o] + bias[f] + sum_i coord_weight[f, i] * c_i(o_i)

    Column ``i`` of ``coord_weight`` ``(out_channels, 2)`` multiplies the coordinate along
    spatial dimension ``i`` in torch's order: column 0 is y (height), column 1 is x (width).

    With ``coords="center"`` (default) the coordinate is the position, in the input's frame, of the
    kernel centre that produced output index ``o``,
    ``p = o * stride - pad_left + dilation * (kernel_size - 1) / 2`` (``pad_left =
    dilation * (kernel_size - 1) // 2`` for ``padding="same"``), mapped so that the first input
    pixel is -1 and the last +1: ``c = (p - (n_in - 1) / 2) * 2 / max(n_in - 1, 1)``; padding falls
    outside ``[-1, 1]`` and a side of length 1 gives 0. With ``coords="output"`` it is the original
    study's ``o / max(n_out - 1, 1)`` in ``[0, 1]``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device, dtype: as :class:`torch.nn.Conv2d`.
        coords: ``"center"`` or ``"output"``.
        coord_init: ``"uniform"`` (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the bound of torch's
            bias init; also with ``bias=False``) or ``"zeros"`` (starts as the torch layer).

    Shape:
        - Input: ``(B, C_in, H, W)`` or unbatched without ``B``.
        - Output: ``(B, C_out, H_out, W_out)`` or unbatched without ``B``.

    Example:
        >>> layer = CoordBiasConv2d(3, 8, 3, padding=1)
        >>> layer.coord_weight.shape
        torch.Size([8, 2])
        >>> layer(torch.randn(2, 3, 16, 24)).shape
        torch.Size([2, 8, 16, 24])
        >>> zero = CoordBiasConv2d(3, 8, 3, coord_init="zeros")
        >>> plain = torch.nn.Conv2d(3, 8, 3)
        >>> _ = plain.load_state_dict(zero.state_dict(), strict=False)
        >>> x = torch.randn(1, 3, 9, 9)
        >>> torch.equal(zero(x), plain(x))
        True
    """

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
        coords: str = "center",
        coord_init: str = "uniform",
    ) -> None:
        _check_options(type(self).__name__, coords, coord_init)
        _check_groups(type(self).__name__, in_channels, out_channels, groups)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device, dtype,
        )  # fmt: skip
        self._init_coord_weight(coords, coord_init, 2, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        """``(B, C_in, H, W)`` or ``(C_in, H, W)`` -> ``(B, C_out, H_out, W_out)`` or unbatched."""
        if not torch.jit.is_scripting():
            fast = self._eager_forward(input, None)
            if fast is not None:
                return fast
        return CF.coord_bias_conv2d(
            input, self.weight, self.bias, self.coord_weight, list(self.stride),
            self.padding if isinstance(self.padding, str) else list(self.padding),
            list(self.dilation), self.groups, self.coords, self.padding_mode,
        )  # fmt: skip


class CoordBiasConv3d(_CoordBiasMixin, nn.Conv3d):
    """:class:`torch.nn.Conv3d` plus a learned linear function of the kernel-centre position.

    For each output filter ``f``::

        out[b, f, *o] = conv3d(x)[b, f, *o] + bias[f] + sum_i coord_weight[f, i] * c_i(o_i)

    Column ``i`` of ``coord_weight`` ``(out_channels, 3)`` multiplies the coordinate along
    spatial dimension ``i`` in torch's order (depth, height, width).

    With ``coords="center"`` (default) the coordinate is the position, in the input's frame, of the
    kernel centre that produced output index ``o``,
    ``p = o * stride - pad_left + dilation * (kernel_size - 1) / 2`` (``pad_left =
    dilation * (kernel_size - 1) // 2`` for ``padding="same"``), mapped so that the first input
    pixel is -1 and the last +1: ``c = (p - (n_in - 1) / 2) * 2 / max(n_in - 1, 1)``; padding falls
    outside ``[-1, 1]`` and a side of length 1 gives 0. With ``coords="output"`` it is the original
    study's ``o / max(n_out - 1, 1)`` in ``[0, 1]``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device, dtype: as :class:`torch.nn.Conv3d`.
        coords: ``"center"`` or ``"output"``.
        coord_init: ``"uniform"`` (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the bound of torch's
            bias init; also with ``bias=False``) or ``"zeros"`` (starts as the torch layer).

    Shape:
        - Input: ``(B, C_in, D, H, W)`` or unbatched without ``B``.
        - Output: ``(B, C_out, D_out, H_out, W_out)`` or unbatched without ``B``.
    """

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
        coords: str = "center",
        coord_init: str = "uniform",
    ) -> None:
        _check_options(type(self).__name__, coords, coord_init)
        _check_groups(type(self).__name__, in_channels, out_channels, groups)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device, dtype,
        )  # fmt: skip
        self._init_coord_weight(coords, coord_init, 3, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        """``(B, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)`` -> ``(B, C_out, *out)``."""
        if not torch.jit.is_scripting():
            fast = self._eager_forward(input, None)
            if fast is not None:
                return fast
        return CF.coord_bias_conv3d(
            input, self.weight, self.bias, self.coord_weight, list(self.stride),
            self.padding if isinstance(self.padding, str) else list(self.padding),
            list(self.dilation), self.groups, self.coords, self.padding_mode,
        )  # fmt: skip


class CoordBiasConvTranspose1d(_CoordBiasMixin, nn.ConvTranspose1d):
    """:class:`torch.nn.ConvTranspose1d` plus a learned linear function of the output position.

    For each output filter ``f``::

        out[b, f, *o] = conv_transpose1d(x)[b, f, *o] + bias[f]
                        + sum_i coord_weight[f, i] * c_i(o_i)

    Column ``i`` of ``coord_weight`` ``(out_channels, 1)`` multiplies the coordinate along
    spatial dimension ``i`` in torch's order (``(L,)``).

    With ``coords="center"`` (default) the coordinate is the output location's own position,
    ``c = (o - (n_out - 1) / 2) * 2 / max(n_out - 1, 1)``, so the first output pixel is -1 and the
    last +1; with ``coords="output"`` it is the original study's
    ``o / max(n_out - 1, 1)`` in ``[0, 1]``. A side of length 1 gives 0.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
            dilation, padding_mode, device, dtype: as :class:`torch.nn.ConvTranspose1d`.
        coords: ``"center"`` or ``"output"``.
        coord_init: ``"uniform"`` (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the bound of torch's
            bias init; also with ``bias=False``) or ``"zeros"`` (starts as the torch layer).

    Shape:
        - Input: ``(B, C_in, L)`` or unbatched without ``B``.
        - Output: ``(B, C_out, L_out)`` or unbatched without ``B``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        *,
        coords: str = "center",
        coord_init: str = "uniform",
    ) -> None:
        _check_options(type(self).__name__, coords, coord_init)
        _check_groups(type(self).__name__, in_channels, out_channels, groups)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, output_padding, groups,
            bias, dilation, padding_mode, device, dtype,
        )  # fmt: skip
        self._init_coord_weight(coords, coord_init, 1, device, dtype)

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        """``(B, C_in, L)`` or ``(C_in, L)`` -> ``(B, C_out, L_out)`` or ``(C_out, L_out)``."""
        if not torch.jit.is_scripting():
            fast = self._eager_forward(input, output_size)
            if fast is not None:
                return fast
        output_padding = self._output_padding(
            input, output_size, list(self.stride), list(self.padding), list(self.kernel_size),
            1, list(self.dilation),
        )  # fmt: skip
        return CF.coord_bias_conv_transpose1d(
            input, self.weight, self.bias, self.coord_weight, list(self.stride),
            list(self.padding), output_padding, self.groups, list(self.dilation), self.coords,
        )  # fmt: skip


class CoordBiasConvTranspose2d(_CoordBiasMixin, nn.ConvTranspose2d):
    """:class:`torch.nn.ConvTranspose2d` plus a learned linear function of the output position.

    For each output filter ``f``::

        out[b, f, *o] = conv_transpose2d(x)[b, f, *o] + bias[f]
                        + sum_i coord_weight[f, i] * c_i(o_i)

    Column ``i`` of ``coord_weight`` ``(out_channels, 2)`` multiplies the coordinate along
    spatial dimension ``i`` in torch's order: column 0 is y (height), column 1 is x (width).

    With ``coords="center"`` (default) the coordinate is the output location's own position,
    ``c = (o - (n_out - 1) / 2) * 2 / max(n_out - 1, 1)``, so the first output pixel is -1 and the
    last +1; with ``coords="output"`` it is the original study's
    ``o / max(n_out - 1, 1)`` in ``[0, 1]``. A side of length 1 gives 0.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
            dilation, padding_mode, device, dtype: as :class:`torch.nn.ConvTranspose2d`.
        coords: ``"center"`` or ``"output"``.
        coord_init: ``"uniform"`` (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the bound of torch's
            bias init; also with ``bias=False``) or ``"zeros"`` (starts as the torch layer).

    Shape:
        - Input: ``(B, C_in, H, W)`` or unbatched without ``B``.
        - Output: ``(B, C_out, H_out, W_out)`` or unbatched without ``B``.

    Example:
        >>> up = CoordBiasConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up(torch.randn(2, 8, 5, 7)).shape
        torch.Size([2, 4, 10, 14])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        *,
        coords: str = "center",
        coord_init: str = "uniform",
    ) -> None:
        _check_options(type(self).__name__, coords, coord_init)
        _check_groups(type(self).__name__, in_channels, out_channels, groups)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, output_padding, groups,
            bias, dilation, padding_mode, device, dtype,
        )  # fmt: skip
        self._init_coord_weight(coords, coord_init, 2, device, dtype)

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        """``(B, C_in, H, W)`` or ``(C_in, H, W)`` -> ``(B, C_out, H_out, W_out)`` or unbatched."""
        if not torch.jit.is_scripting():
            fast = self._eager_forward(input, output_size)
            if fast is not None:
                return fast
        output_padding = self._output_padding(
            input, output_size, list(self.stride), list(self.padding), list(self.kernel_size),
            2, list(self.dilation),
        )  # fmt: skip
        return CF.coord_bias_conv_transpose2d(
            input, self.weight, self.bias, self.coord_weight, list(self.stride),
            list(self.padding), output_padding, self.groups, list(self.dilation), self.coords,
        )  # fmt: skip


class CoordBiasConvTranspose3d(_CoordBiasMixin, nn.ConvTranspose3d):
    """:class:`torch.nn.ConvTranspose3d` plus a learned linear function of the output position.

    For each output filter ``f``::

        out[b, f, *o] = conv_transpose3d(x)[b, f, *o] + bias[f]
                        + sum_i coord_weight[f, i] * c_i(o_i)

    Column ``i`` of ``coord_weight`` ``(out_channels, 3)`` multiplies the coordinate along
    spatial dimension ``i`` in torch's order (depth, height, width).

    With ``coords="center"`` (default) the coordinate is the output location's own position,
    ``c = (o - (n_out - 1) / 2) * 2 / max(n_out - 1, 1)``, so the first output pixel is -1 and the
    last +1; with ``coords="output"`` it is the original study's
    ``o / max(n_out - 1, 1)`` in ``[0, 1]``. A side of length 1 gives 0.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
            dilation, padding_mode, device, dtype: as :class:`torch.nn.ConvTranspose3d`.
        coords: ``"center"`` or ``"output"``.
        coord_init: ``"uniform"`` (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the bound of torch's
            bias init; also with ``bias=False``) or ``"zeros"`` (starts as the torch layer).

    Shape:
        - Input: ``(B, C_in, D, H, W)`` or unbatched without ``B``.
        - Output: ``(B, C_out, D_out, H_out, W_out)`` or unbatched without ``B``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        *,
        coords: str = "center",
        coord_init: str = "uniform",
    ) -> None:
        _check_options(type(self).__name__, coords, coord_init)
        _check_groups(type(self).__name__, in_channels, out_channels, groups)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, output_padding, groups,
            bias, dilation, padding_mode, device, dtype,
        )  # fmt: skip
        self._init_coord_weight(coords, coord_init, 3, device, dtype)

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        """``(B, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)`` -> ``(B, C_out, *out)``."""
        if not torch.jit.is_scripting():
            fast = self._eager_forward(input, output_size)
            if fast is not None:
                return fast
        output_padding = self._output_padding(
            input, output_size, list(self.stride), list(self.padding), list(self.kernel_size),
            3, list(self.dilation),
        )  # fmt: skip
        return CF.coord_bias_conv_transpose3d(
            input, self.weight, self.bias, self.coord_weight, list(self.stride),
            list(self.padding), output_padding, self.groups, list(self.dilation), self.coords,
        )  # fmt: skip
