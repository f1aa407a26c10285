"""Pluggable convolutions: one factory that builds the convolution a model asks for by name.

The coordinate layers live in :mod:`coordbias` and are imported inside the factories, so this
module imports with torch alone.
"""

from __future__ import annotations

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
    """A stride-1 2-D convolution of the given ``kind``.

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
    check_choice("conv", kind, CONV_KINDS)
    common = {"padding": padding, "padding_mode": padding_mode}
    if kind == "vanilla":
        return nn.Conv2d(in_channels, out_channels, kernel_size, **common)
    if kind == "param_matched":
        return ParamMatchedConv2d(in_channels, out_channels, kernel_size, **common)
    if kind == "coordbias":
        from coordbias import CoordBiasConv2d

        return CoordBiasConv2d(
            in_channels, out_channels, kernel_size, coords=coords, coord_init=coord_init, **common
        )
    from coordbias import CoordConv2d

    return CoordConv2d(in_channels, out_channels, kernel_size, **common)


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
    """A 2-D transposed convolution of the given ``kind`` (zero padding only, as in torch).

    ``"coordconv"`` has no transposed form in :mod:`coordbias` and raises ``ValueError``.

    Returns:
        A module mapping ``(B, C_in, H, W)`` to ``(B, C_out, H_out, W_out)``.

    Example:
        >>> up = make_conv_transpose2d("vanilla", 8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up.stride
        (2, 2)
    """
    check_choice("conv", kind, CONV_KINDS)
    common = {"stride": stride, "padding": padding, "output_padding": output_padding}
    if kind == "vanilla":
        return nn.ConvTranspose2d(in_channels, out_channels, kernel_size, **common)
    if kind == "param_matched":
        return ParamMatchedConvTranspose2d(in_channels, out_channels, kernel_size, **common)
    if kind == "coordbias":
        from coordbias import CoordBiasConvTranspose2d

        return CoordBiasConvTranspose2d(
            in_channels, out_channels, kernel_size, coords=coords, coord_init=coord_init, **common
        )
    raise ValueError(
        "conv='coordconv' has no transposed convolution; use conv_scope='encoder' with coordconv, "
        "or conv='coordbias' / 'param_matched' / 'vanilla' with conv_scope='all'"
    )
