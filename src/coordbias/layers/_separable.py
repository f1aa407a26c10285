"""What the 2-D position layers share: a module's output coordinates, and a separable term.

The position layers of this package that wrap :class:`torch.nn.Conv2d` (the Fourier coordinate
bias, the learned position map, CoordGate) read the coordinates of their output grid from the
one coordinate geometry of :mod:`coordbias.layers._coords` (the ``"center"`` and ``"output"``
rules of :mod:`coordbias.layers.functional`), through :func:`module_axes`. Two of them add a term
that is a sum of a per-row and a per-column part, ``term[c, h, w] = rows[c, h] + cols[c, w]``,
which :func:`add_separable_map` adds in the output's own memory layout. Everything here builds its
tensors with ``torch.arange`` on the output's device, so it traces and exports.

:class:`PositionConv2d` is the base of the four position layers of this package that are a
:class:`torch.nn.Conv2d` (the three above and Fourier-feature CoordConv): it takes
``nn.Conv2d``'s arguments once, in torch's order and with torch's defaults, and hands the
keyword-only options of each layer to that layer's ``_configure``.
"""

import inspect
import math

import torch
from torch import Tensor, nn

from coordbias.layers import _conv
from coordbias.layers._coords import COORDS, Geometry, _coord_dtype, layer_axes, same_padding
from coordbias.layers.coordbias import COORD_INITS
from coordbias.layers.frame import current_frame

__all__ = [
    "PositionConv2d",
    "add_separable_map",
    "channels_last",
    "check_coord_options",
    "init_position_weights",
    "module_axes",
    "module_geometry",
]


def check_coord_options(layer: str, coords: str | None, coord_init: str, inits: tuple) -> None:
    """Raise a ``ValueError`` naming ``layer`` for an unknown ``coords`` or ``coord_init``.

    Args:
        layer: The class name, for the message.
        coords: A value of :data:`~coordbias.layers._coords.COORDS`, or ``None`` where the layer
            has no coordinate rule.
        coord_init: A value of ``inits``.
        inits: The accepted initialisations.
    """
    if coords is not None and coords not in COORDS:
        raise ValueError(f"{layer}: coords must be one of {COORDS}, got {coords!r}")
    if coord_init not in inits:
        raise ValueError(f"{layer}: coord_init must be one of {inits}, got {coord_init!r}")


def init_position_weights(values: list[Tensor], weight: Tensor, coord_init: str) -> None:
    """Initialise position parameters: zeros, or ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    The bound is the one torch uses for a convolution's bias (that of the coordinate-bias
    layers' ``coord_weight``), from the fan-in of ``weight``, also when the layer has no bias.

    Args:
        values: The parameters to initialise, in place.
        weight: The convolution's weight (its fan-in sets the bound).
        coord_init: ``"zeros"`` or ``"uniform"``.
    """
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    with torch.no_grad():
        for value in values:
            if coord_init == "zeros":
                value.zero_()
            else:
                nn.init.uniform_(value, -bound, bound)


def module_geometry(conv: nn.Module, coords: str, size_in: list[int]) -> Geometry:
    """The coordinate geometry of a (not transposed) torch convolution module.

    Args:
        conv: An ``nn.Conv1d/2d/3d`` (or subclass): its kernel, stride, padding and dilation.
        coords: ``"center"`` or ``"output"``.
        size_in: Spatial size of the input.

    Returns:
        The :class:`~coordbias.layers._coords.Geometry` of the layer's output.
    """
    dims = len(conv.kernel_size)
    kernel, dilation = list(conv.kernel_size), list(conv.dilation)
    pad_left = conv.padding
    if pad_left == "same":
        pad_left = same_padding(kernel, dilation)[0]
    elif pad_left == "valid":
        pad_left = [0] * dims
    stride = list(conv.stride)
    return Geometry(False, coords, list(size_in), kernel, stride, list(pad_left), dilation)


def module_axes(conv: nn.Module, coords: str, x: Tensor, out: Tensor) -> list[Tensor]:
    """The per-axis output coordinates of ``conv`` for input ``x`` and its output ``out``.

    Args:
        conv: The convolution module.
        coords: ``"center"`` or ``"output"``.
        x: Its input ``(B, C, *spatial)`` or unbatched.
        out: Its output.

    Returns:
        One vector per spatial axis, in float32 (float64 for a float64 output) on ``out``'s
        device.
    """
    dims = len(conv.kernel_size)
    size_in = list(x.shape[x.dim() - dims :])
    size_out = list(out.shape[out.dim() - dims :])
    geometry = module_geometry(conv, coords, size_in)
    return layer_axes(geometry, size_out, _coord_dtype(out.dtype), out.device)


def refuse_frame(layer: nn.Module) -> None:
    """Raise inside a :func:`coordbias.coordinate_frame`: these layers do not honour it yet, and
    computing a tile's own coordinates there would silently disagree with the whole image."""
    if current_frame() is not None:
        raise RuntimeError(
            f"{type(layer).__name__} does not support coordinate_frame yet (its coordinates would "
            "be the tile's, not the image's); the frame is honoured by the CoordBias* layers, "
            "CoordConv*, CoordConvTranspose* and AddCoords"
        )


def channels_last(out: Tensor) -> bool:
    """Whether a 4-D ``out`` is laid out channels last (and not also contiguous)."""
    return out.dim() == 4 and out.shape[1] > 1 and out.stride(1) == 1 and not out.is_contiguous()


def add_separable_map(out: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """``out += rows[:, :, None] + cols[:, None, :]``, in place, in ``out``'s layout.

    The ``(C, H, W)`` term is formed in the dtype of ``rows`` and ``cols`` (float32 for a
    half-precision output: it is rounded once), broadcast over the batch, and built channels last
    for a channels-last output, so that the add streams both tensors.

    Args:
        out: A 2-D convolution's fresh output ``(B, C, H, W)`` or ``(C, H, W)``, which no other
            autograd node needs (its in-place change is safe).
        rows: ``(C, H)``.
        cols: ``(C, W)``.

    Returns:
        ``out``.
    """
    if channels_last(out):
        term = (rows.t().unsqueeze(1) + cols.t().unsqueeze(0)).permute(2, 0, 1)
    else:
        term = rows.unsqueeze(2) + cols.unsqueeze(1)
    if term.dtype != out.dtype:
        term = term.to(out.dtype)
    return out.add_(term)


class PositionConv2d(nn.Conv2d):
    """Base of the 2-D position layers: :class:`torch.nn.Conv2d`'s arguments, then a layer's own
    keyword-only options.

    A subclass declares its options (names, defaults, checks) as the keyword-only arguments of
    ``_configure``, which runs before the convolution is built (``_conv_in_channels`` may widen
    the convolution's input); ``_add_position`` then adds the layer's own parameters,
    ``_reset_position`` initialises them (also from :meth:`reset_parameters`), and
    ``_add_term(input, out)`` applies them to the convolution's output in :meth:`forward`.
    ``extra_repr`` lists those options (each kept as the attribute of its name).
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
        **options,
    ) -> None:
        """``nn.Conv2d``'s arguments in its order, then the layer's keyword-only ``options``."""
        accepted = self._option_names()
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown argument(s) {', '.join(unknown)}; it takes "
                f"nn.Conv2d's and the keyword-only {', '.join(accepted)}"
            )
        self._configure(**options)
        conv_in = self._conv_in_channels(in_channels, groups)
        torch_arguments = (stride, padding, dilation, groups, bias, padding_mode, device, dtype)
        super().__init__(conv_in, out_channels, kernel_size, *torch_arguments)
        self._add_position(out_channels, {"device": device, "dtype": dtype})
        self._position_ready = True
        self._reset_position()

    def _configure(self, **options) -> None:
        raise NotImplementedError

    def _option_names(self) -> tuple[str, ...]:
        """The layer's keyword-only options: the parameters of its ``_configure``."""
        return tuple(inspect.signature(self._configure).parameters)

    def _set_coord_options(self, coords: str | None, coord_init: str) -> None:
        """Check ``coords`` (``None``: the layer has no coordinate rule) and ``coord_init``, and
        keep them."""
        check_coord_options(type(self).__name__, coords, coord_init, COORD_INITS)
        if coords is not None:
            self.coords = coords
        self.coord_init = coord_init

    def _conv_in_channels(self, in_channels: int, groups: int) -> int:
        return in_channels

    def _add_position(self, out_channels: int, factory: dict) -> None:
        pass

    def _reset_position(self) -> None:
        pass

    def reset_parameters(self) -> None:
        """Initialise ``weight`` and ``bias`` as torch does, then the layer's position part."""
        super().reset_parameters()
        if getattr(self, "_position_ready", False):
            self._reset_position()

    def forward(self, input: Tensor) -> Tensor:
        """The torch convolution with the layer's position term (see the layer's docstring).

        Args:
            input: ``(B, C_in, H, W)`` or unbatched ``(C_in, H, W)``.

        Returns:
            ``(B, C_out, H_out, W_out)`` (or unbatched), as ``nn.Conv2d``'s.
        """
        refuse_frame(self)
        _conv._check_input(input, 2, self.in_channels, type(self).__name__)
        return self._add_term(input, super().forward(input))

    def _add_term(self, input: Tensor, out: Tensor) -> Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        options = (f"{name}={getattr(self, name)!r}" for name in self._option_names())
        return ", ".join((super().extra_repr(), *options))
