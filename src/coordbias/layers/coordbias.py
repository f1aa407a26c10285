"""Coordinate-bias convolutions: a torch convolution plus a learned plane in the coordinates.

Each class subclasses the torch layer it replaces, takes the same arguments in the same order,
plus keyword-only

- ``coords``: ``"center"`` (default) or ``"output"``, the coordinate rule of
  :mod:`coordbias.layers.functional` (where the formula is written out);
- ``coord_init``: ``"uniform"`` (default; ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the bound of
  torch's bias init, also with ``bias=False``) or ``"zeros"`` (the layer starts as exactly the
  torch layer),

and adds one parameter, ``coord_weight`` of shape ``(out_channels, spatial_dims)``, whose column
``i`` multiplies the coordinate of spatial dimension ``i`` in torch's order (2-D: y, then x).

Shapes are the torch layer's: ``(B, C_in, *spatial)`` or unbatched ``(C_in, *spatial)`` in,
``(B, C_out, *spatial_out)`` or unbatched out. The forward is torch's own convolution (bias
inside it, so a zero ``coord_weight`` gives the torch layer bit for bit, outputs and gradients),
then the coordinate term added in place (``coordbias.layers._term``: cached features in eager
mode, a traceable form under TorchScript, ``torch.compile`` and export). In float16 / bfloat16
and under autocast the output has the torch layer's dtype and the term is computed in float32
and rounded once; ``coord_weight`` keeps its own dtype.
"""

import math

import torch
from torch import Tensor, nn

from coordbias._names import COORD_INITS
from coordbias.layers import _conv, _signature
from coordbias.layers._coords import COORDS, Geometry, same_padding, transposed_geometry
from coordbias.layers._term import add_coord_term

__all__ = [  # COORD_INITS is exported by coordbias.layers
    "CoordBiasConv1d",
    "CoordBiasConv2d",
    "CoordBiasConv3d",
    "CoordBiasConvTranspose1d",
    "CoordBiasConvTranspose2d",
    "CoordBiasConvTranspose3d",
]


def _check_options(layer: str, coords: str, coord_init: str) -> None:
    if coords not in COORDS:
        raise ValueError(f"{layer}: coords must be one of {COORDS}, got {coords!r}")
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
    """What both kinds share: the parameter's creation and initialisation, checks, repr."""

    coord_weight: Tensor

    # inspect.signature: the torch layer's parameters, then the keyword-only options.
    __signature__ = _signature.TorchSignature(coords="center", coord_init="uniform")

    def __init__(self, *args, coords: str = "center", coord_init: str = "uniform", **kwargs):
        """The torch layer's arguments, in its order, plus ``coords`` and ``coord_init``."""
        layer = type(self).__name__
        arguments = _signature.bind(type(self), args, kwargs)
        # Before torch's __init__, so that a bad argument gets this module's message.
        _check_options(layer, coords, coord_init)
        _check_groups(
            layer, arguments["in_channels"], arguments["out_channels"], arguments["groups"]
        )
        super().__init__(*args, **kwargs)
        self.coords = coords
        self.coord_init = coord_init
        dims = len(self.kernel_size)
        self.coord_weight = nn.Parameter(
            torch.empty(
                (self.out_channels, dims), device=arguments["device"], dtype=arguments["dtype"]
            )
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
    def _check_input(self, input: Tensor) -> None:
        dims = len(self.kernel_size)
        if input.dim() - dims not in (1, 2) or input.shape[-dims - 1] != self.in_channels:
            _conv._check_input(input, dims, self.in_channels, type(self).__name__)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, coords={self.coords!r}, coord_init={self.coord_init!r}"


class _CoordBiasConvNd(_CoordBiasMixin):
    """Base of the coordinate-bias convolutions (not transposed)."""

    def forward(self, input: Tensor) -> Tensor:
        """The torch layer's convolution plus the coordinate term.

        Args:
            input: ``(B, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.

        Returns:
            ``(B, C_out, *spatial_out)`` (or unbatched), as the torch layer's.
        """
        if torch.jit.is_scripting():
            padding = self.padding if isinstance(self.padding, str) else list(self.padding)
            return _conv._coord_bias_conv(
                input,
                self.weight,
                self.bias,
                self.coord_weight,
                list(self.stride),
                padding,
                list(self.dilation),
                self.groups,
                self.coords,
                self.padding_mode,
            )
        return self._forward(input)

    @torch.jit.unused
    def _forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        out = super().forward(input)  # type: ignore[misc]
        return add_coord_term(out, self.coord_weight, self._geometry(input))

    def _geometry(self, input: Tensor) -> Geometry:
        # Any int sequences do in eager code; the cache key turns them into tuples.
        dims = len(self.kernel_size)
        pad_left = self.padding
        if pad_left == "same":
            pad_left = same_padding(self.kernel_size, self.dilation)[0]
        elif pad_left == "valid":
            pad_left = (0,) * dims
        size_in = input.shape[-dims:]
        return Geometry(
            False, self.coords, size_in, self.kernel_size, self.stride, pad_left, self.dilation
        )


class _CoordBiasConvTransposeNd(_CoordBiasMixin):
    """Base of the transposed coordinate-bias convolutions."""

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        """The torch layer's transposed convolution plus the coordinate term.

        Args:
            input: ``(B, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
            output_size: As for the torch layer: the wanted output size, which picks the
                ``output_padding``.

        Returns:
            ``(B, C_out, *spatial_out)`` (or unbatched), as the torch layer's.
        """
        if torch.jit.is_scripting():
            output_padding = self._output_padding(
                input,
                output_size,
                list(self.stride),
                list(self.padding),
                list(self.kernel_size),
                len(self.kernel_size),
                list(self.dilation),
            )
            return _conv._coord_bias_conv_transpose(
                input,
                self.weight,
                self.bias,
                self.coord_weight,
                list(self.stride),
                list(self.padding),
                output_padding,
                self.groups,
                list(self.dilation),
                self.coords,
            )
        return self._forward(input, output_size)

    @torch.jit.unused
    def _forward(self, input: Tensor, output_size: list[int] | None) -> Tensor:
        self._check_input(input)
        out = super().forward(input, output_size)  # type: ignore[misc]
        geometry = transposed_geometry(self.coords, len(self.kernel_size))
        return add_coord_term(out, self.coord_weight, geometry)


class CoordBiasConv1d(_CoordBiasConvNd, nn.Conv1d):
    """:class:`torch.nn.Conv1d` plus ``coord_weight (out_channels, 1)`` times the coordinate.

    The arguments and options are in the module docstring, the rule in
    :mod:`coordbias.layers.functional`.

    Example:
        >>> layer = CoordBiasConv1d(3, 8, 5, padding=2)
        >>> layer.coord_weight.shape, layer(torch.randn(2, 3, 40)).shape
        (torch.Size([8, 1]), torch.Size([2, 8, 40]))
    """


class CoordBiasConv2d(_CoordBiasConvNd, nn.Conv2d):
    """:class:`torch.nn.Conv2d` plus ``coord_weight (out_channels, 2)`` times (y, x).

    The arguments and options are in the module docstring, the rule in
    :mod:`coordbias.layers.functional`.

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


class CoordBiasConv3d(_CoordBiasConvNd, nn.Conv3d):
    """:class:`torch.nn.Conv3d` plus ``coord_weight (out_channels, 3)`` times (z, y, x).

    The arguments and options are in the module docstring, the rule in
    :mod:`coordbias.layers.functional`.

    Example:
        >>> layer = CoordBiasConv3d(2, 4, 3, padding=1)
        >>> layer.coord_weight.shape, layer(torch.randn(1, 2, 5, 6, 7)).shape
        (torch.Size([4, 3]), torch.Size([1, 4, 5, 6, 7]))
    """


class CoordBiasConvTranspose1d(_CoordBiasConvTransposeNd, nn.ConvTranspose1d):
    """:class:`torch.nn.ConvTranspose1d` plus ``coord_weight (out_channels, 1)`` times the
    coordinate of the output grid.

    The arguments and options are in the module docstring, the rule in
    :mod:`coordbias.layers.functional`.

    Example:
        >>> up = CoordBiasConvTranspose1d(4, 2, 2, stride=2)
        >>> up(torch.randn(3, 4, 10)).shape
        torch.Size([3, 2, 20])
    """


class CoordBiasConvTranspose2d(_CoordBiasConvTransposeNd, nn.ConvTranspose2d):
    """:class:`torch.nn.ConvTranspose2d` plus ``coord_weight (out_channels, 2)`` times the (y, x)
    coordinates of the output grid.

    The arguments and options are in the module docstring, the rule in
    :mod:`coordbias.layers.functional`.

    Example:
        >>> up = CoordBiasConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up(torch.randn(2, 8, 5, 7)).shape
        torch.Size([2, 4, 10, 14])
    """


class CoordBiasConvTranspose3d(_CoordBiasConvTransposeNd, nn.ConvTranspose3d):
    """:class:`torch.nn.ConvTranspose3d` plus ``coord_weight (out_channels, 3)`` times the
    (z, y, x) coordinates of the output grid.

    The arguments and options are in the module docstring, the rule in
    :mod:`coordbias.layers.functional`.

    Example:
        >>> up = CoordBiasConvTranspose3d(2, 2, 2, stride=2)
        >>> up(torch.randn(1, 2, 3, 3, 3)).shape
        torch.Size([1, 2, 6, 6, 6])
    """
