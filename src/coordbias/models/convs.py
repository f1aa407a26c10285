"""Pluggable convolutions: the one factory that builds a convolution of a named kind.

Every part that builds "a convolution of kind X" (the FCN, the open-question experiments, the
layer benchmark) calls :func:`make_conv`; :data:`CONV_KINDS` lists the kinds. The baseline is
called ``"vanilla"`` everywhere. The names ``coords`` and ``coord_init`` accept are the layer
library's (:data:`COORDS`, :data:`COORD_INITS` are its lists); the coordinate layers themselves
are looked up inside the factory.
"""

from __future__ import annotations

import warnings
from typing import Any

from torch import nn

from coordbias._names import CONV_KINDS, PADDING_MODES
from coordbias.layers.coordbias import COORD_INITS
from coordbias.layers.functional import COORDS
from coordbias.models.controls import ParamMatchedConv2d, ParamMatchedConvTranspose2d

__all__ = [
    "CONV_KINDS",
    "COORDS",
    "COORD_INITS",
    "PADDING_MODES",
    "POSITION_KINDS",
    "STACK_SCOPES",
    "check_choice",
    "check_stack",
    "make_conv",
    "make_conv2d",
    "make_conv_transpose2d",
]

#: The kinds that exist as a 2-D, not transposed, convolution only, with their class's name in
#: ``coordbias``, and the options of :func:`make_conv` that each takes.
POSITION_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "fourier": ("FourierCoordBiasConv2d", ("coords", "coord_init")),
    "position_map": ("PositionMapConv2d", ("coord_init", "map_size")),
    "coordgate": ("CoordGateConv2d", ("coords", "coord_init")),
    "fourier_coordconv": ("FourierCoordConv2d", ("coord_init",)),
}
#: Which convolutions of a plain stack (the Red-Green and Not-so-Clevr networks) take a model's
#: ``conv`` kind: the ``"first"`` only (the others plain) or ``"all"``.
STACK_SCOPES = ("first", "all")


def check_choice(argument: str, value: object, accepted: tuple[str, ...] | dict) -> None:
    """Raise a ``ValueError`` naming ``argument`` when ``value`` is not one of ``accepted``."""
    if not isinstance(value, str) or value not in accepted:
        names = ", ".join(repr(a) for a in accepted)
        raise ValueError(f"{argument}={value!r} is not supported; expected one of {names}")


def check_stack(conv: str, conv_scope: str, coords: str, coord_init: str) -> None:
    """Check the settings of a plain stack (:data:`STACK_SCOPES`) with :func:`check_choice`."""
    check_choice("conv", conv, CONV_KINDS)
    check_choice("conv_scope", conv_scope, STACK_SCOPES)
    check_choice("coords", coords, COORDS)
    check_choice("coord_init", coord_init, COORD_INITS)


def _conv_class(kind: str, dims: int, transposed: bool) -> type[nn.Module]:
    """The class that implements ``kind`` for ``dims`` spatial dims (transposed or not)."""
    import coordbias

    if kind == "vanilla":
        names = ("ConvTranspose" if transposed else "Conv") + f"{dims}d"
        return getattr(nn, names)
    if kind == "coordbias":
        return getattr(
            coordbias, ("CoordBiasConvTranspose" if transposed else "CoordBiasConv") + f"{dims}d"
        )
    if kind == "coordconv":
        return getattr(
            coordbias, ("CoordConvTranspose" if transposed else "CoordConv") + f"{dims}d"
        )
    if dims != 2:
        raise ValueError(f"conv={kind!r} exists in 2-D only; got {dims}-D")
    if kind in POSITION_KINDS:
        if transposed:
            raise ValueError(
                f"conv={kind!r} has no transposed convolution; use conv_scope='encoder' with it"
            )
        return getattr(coordbias, POSITION_KINDS[kind][0])
    return ParamMatchedConvTranspose2d if transposed else ParamMatchedConv2d


def make_conv(
    kind: str,
    in_channels: int,
    out_channels: int,
    kernel_size: Any,
    *,
    dims: int = 2,
    transposed: bool = False,
    coords: str = "center",
    coord_init: str = "uniform",
    map_size: Any = None,
    **conv_args: Any,
) -> nn.Module:
    """A convolution of the given ``kind``: the one factory of the project.

    Args:
        kind: one of :data:`CONV_KINDS`.
        in_channels: input channels ``C_in`` (the caller's channels; CoordConv adds its own).
        out_channels: output channels ``C_out``.
        kernel_size: kernel size, as for the torch layer.
        dims: spatial dimensions, 1 to 3 (``param_matched`` exists in 2-D only).
        transposed: a transposed convolution instead.
        coords: coordinate convention of the coordinate-bias, ``fourier`` and ``coordgate``
            layers (ignored by the other kinds).
        coord_init: initialisation of the position weights of every kind that has them
            (``coordbias``, ``fourier``, ``position_map``, ``coordgate``, ``fourier_coordconv``).
        map_size: the output size ``(H, W)`` (or one int) the learned maps of ``position_map``
            are sized for; required by that kind, ignored by the others.
        **conv_args: the torch layer's other arguments (``stride``, ``padding``,
            ``padding_mode``, ``output_padding``, ``dilation``, ``groups``, ``bias``, ``device``,
            ``dtype``).

    Returns:
        The module, mapping ``(B, C_in, *spatial)`` to ``(B, C_out, *spatial_out)``.

    Raises:
        ValueError: an unknown kind, a kind that has no form for ``dims`` / ``transposed``, or
            ``position_map`` without ``map_size``.

    Example:
        >>> make_conv("vanilla", 3, 4, 3, padding=1, padding_mode="reflect").padding_mode
        'reflect'
        >>> type(make_conv("coordbias", 8, 4, 3, transposed=True, stride=2)).__name__
        'CoordBiasConvTranspose2d'
    """
    check_choice("conv", kind, CONV_KINDS)
    cls = _conv_class(kind, dims, transposed)
    if kind == "coordbias":
        conv_args = {**conv_args, "coords": coords, "coord_init": coord_init}
    elif kind in POSITION_KINDS:
        if kind == "position_map" and map_size is None:
            raise ValueError(
                "conv='position_map' needs map_size, the output (H, W) its maps are sized for"
            )
        options = {"coords": coords, "coord_init": coord_init, "map_size": map_size}
        conv_args = {**conv_args, **{k: options[k] for k in POSITION_KINDS[kind][1]}}
    return cls(in_channels, out_channels, kernel_size, **conv_args)


def _deprecated_shorthand(name: str, call: str) -> None:
    warnings.warn(
        f"coordbias.models.{name} is deprecated; the one conv-kind factory is {call}",
        DeprecationWarning,
        stacklevel=3,
    )


def make_conv2d(
    kind: str, in_channels: int, out_channels: int, kernel_size: Any, **conv_args: Any
) -> nn.Module:
    """Deprecated shorthand: ``make_conv(kind, in_channels, out_channels, kernel_size, ...)``.

    Builds exactly what :func:`make_conv` builds with the same arguments, and warns.
    """
    _deprecated_shorthand("make_conv2d", "make_conv(kind, in_channels, out_channels, kernel_size)")
    return make_conv(kind, in_channels, out_channels, kernel_size, **conv_args)


def make_conv_transpose2d(
    kind: str, in_channels: int, out_channels: int, kernel_size: Any, **conv_args: Any
) -> nn.Module:
    """Deprecated shorthand: ``make_conv(kind, in_channels, out_channels, kernel_size,
    transposed=True, ...)``.

    Builds exactly what :func:`make_conv` builds with ``transposed=True``, and warns.
    """
    _deprecated_shorthand("make_conv_transpose2d", "make_conv(..., transposed=True)")
    return make_conv(kind, in_channels, out_channels, kernel_size, transposed=True, **conv_args)
