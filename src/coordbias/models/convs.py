"""Pluggable convolutions: the one factory that builds a convolution of a named kind.

Every part that builds "a convolution of kind X" (the FCN, the open-question experiments, the
layer benchmark) calls :func:`make_conv`; :data:`CONV_KINDS` lists the kinds. The baseline is
called ``"vanilla"`` everywhere. The coordinate layers live in :mod:`coordbias` and are imported
inside the factory, so this module imports with torch alone.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from coordbias.models.controls import ParamMatchedConv2d, ParamMatchedConvTranspose2d

#: Convolution kinds a model accepts, with what each one is.
CONV_KINDS: dict[str, str] = {
    "vanilla": "torch.nn.Conv2d",
    "coordbias": "coordbias.CoordBiasConv2d (adds 2 * out_channels coordinate weights)",
    "coordconv": "coordbias.CoordConv2d (2 coordinate input channels, 2 * out * k * k weights)",
    "param_matched": "ParamMatchedConv2d (2 * out_channels position-free extras, a control)",
}
COORDS = ("center", "output")
COORD_INITS = ("uniform", "zeros")
PADDING_MODES = ("zeros", "reflect", "circular")


def check_choice(argument: str, value: object, accepted: tuple[str, ...] | dict) -> None:
    """Raise a ``ValueError`` naming ``argument`` when ``value`` is not one of ``accepted``."""
    if not isinstance(value, str) or value not in accepted:
        names = ", ".join(repr(a) for a in accepted)
        raise ValueError(f"{argument}={value!r} is not supported; expected one of {names}")


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
        name = f"CoordConv{dims}d" if not transposed else f"CoordConvTranspose{dims}d"
        if not hasattr(coordbias, name):
            raise ValueError(
                "conv='coordconv' has no transposed convolution; use conv_scope='encoder' with "
                "coordconv, or conv='coordbias' / 'param_matched' / 'vanilla' with conv_scope='all'"
            )
        return getattr(coordbias, name)
    if dims != 2:
        raise ValueError(f"conv={kind!r} exists in 2-D only; got {dims}-D")
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
        coords: coordinate convention of the coordinate-bias layer (ignored by the other kinds).
        coord_init: initialisation of its coordinate weights (ignored by the other kinds).
        **conv_args: the torch layer's other arguments (``stride``, ``padding``,
            ``padding_mode``, ``output_padding``, ``dilation``, ``groups``, ``bias``, ``device``,
            ``dtype``).

    Returns:
        The module, mapping ``(B, C_in, *spatial)`` to ``(B, C_out, *spatial_out)``.

    Raises:
        ValueError: an unknown kind, or a kind that has no form for ``dims`` / ``transposed``.

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
    return cls(in_channels, out_channels, kernel_size, **conv_args)


def make_conv2d(
    kind: str,
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    padding: int = 0,
    padding_mode: str = "zeros",
    coords: str = "center",
    coord_init: str = "uniform",
) -> nn.Conv2d:
    """A stride-1 2-D convolution of the given ``kind``: shorthand for :func:`make_conv`.

    Args:
        kind: one of :data:`CONV_KINDS`.
        in_channels: input channels ``C_in``.
        out_channels: output channels ``C_out``.
        kernel_size: square kernel side ``k``.
        padding: padding on each side.
        padding_mode: ``"zeros" | "reflect" | "circular"``.
        coords: coordinate grid of the coordinate-bias layer (ignored by the other kinds).
        coord_init: initialisation of the coordinate weights (ignored by the other kinds).

    Returns:
        A module mapping ``(B, C_in, H, W)`` to ``(B, C_out, H', W')``.

    Example:
        >>> make_conv2d("vanilla", 3, 4, 3, padding=1, padding_mode="reflect").padding_mode
        'reflect'
    """
    return make_conv(
        kind,
        in_channels,
        out_channels,
        kernel_size,
        padding=padding,
        padding_mode=padding_mode,
        coords=coords,
        coord_init=coord_init,
    )


def make_conv_transpose2d(
    kind: str,
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    coords: str = "center",
    coord_init: str = "uniform",
) -> nn.ConvTranspose2d:
    """A 2-D transposed convolution of ``kind`` (zero padding): shorthand for :func:`make_conv`.

    ``"coordconv"`` has no transposed form in :mod:`coordbias` and raises ``ValueError``.

    Returns:
        A module mapping ``(B, C_in, H, W)`` to ``(B, C_out, H_out, W_out)``.

    Example:
        >>> up = make_conv_transpose2d("vanilla", 8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up.stride
        (2, 2)
    """
    return make_conv(
        kind,
        in_channels,
        out_channels,
        kernel_size,
        transposed=True,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        coords=coords,
        coord_init=coord_init,
    )
