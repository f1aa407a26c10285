"""The convolution half of the functional layers: argument checks and torch's convolution.

:func:`_coord_bias_conv` and :func:`_coord_bias_conv_transpose` back the public functions of
:mod:`coordbias.layers.functional` and the modules under TorchScript: they check and normalise
the arguments, run torch's functional convolution, and hand its output, with the layer's
:class:`~coordbias.layers._coords.Geometry`, to :func:`~coordbias.layers._term.add_coord_term`.
TorchScript-compatible.
"""

import torch.nn.functional as F
from torch import Tensor

from coordbias.layers._coords import conv_geometry, same_padding, transposed_geometry
from coordbias.layers._term import add_coord_term


def _expand(value: int | list[int], dims: int, name: str) -> list[int]:
    if isinstance(value, int):
        return [value] * dims
    values = [int(v) for v in value]
    if len(values) != dims:
        raise ValueError(f"{name} must be an int or {dims} ints, got {values}")
    return values


def _check_input(input: Tensor, dims: int, channels: int, layer: str) -> None:
    """Raise a ValueError naming ``layer`` unless ``input`` is ``(B, channels, *spatial)`` or
    unbatched ``(channels, *spatial)`` with ``dims`` spatial dimensions."""
    if input.dim() != dims + 1 and input.dim() != dims + 2:
        raise ValueError(
            f"{layer}: input must be {dims + 2}-D (B, C, *spatial) or {dims + 1}-D unbatched "
            f"(C, *spatial), got {input.dim()}-D input of shape {list(input.shape)}"
        )
    got = input.shape[input.dim() - dims - 1]
    if got != channels:
        raise ValueError(
            f"{layer}: input has {got} channels, expected {channels} "
            f"(input shape {list(input.shape)})"
        )


def _check_options(coords: str, coord_weight: Tensor, channels: int, dims: int) -> None:
    if coords != "center" and coords != "output":
        raise ValueError(f"coords must be 'center' or 'output', got '{coords}'")
    shape = coord_weight.shape
    if coord_weight.dim() != 2 or shape[0] != channels or shape[1] != dims:
        raise ValueError(
            f"coord_weight must have shape (out_channels, {dims}) = ({channels}, {dims}), "
            f"got {list(shape)}"
        )


def _convolution(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    transposed: bool,
    stride: list[int],
    padding: list[int],
    output_padding: list[int],
    dilation: list[int],
    groups: int,
) -> Tensor:
    # torch's functional convolutions (which autocast knows, unlike torch.convolution).
    dims = weight.dim() - 2
    if transposed:
        if dims == 1:
            return F.conv_transpose1d(
                x, weight, bias, stride, padding, output_padding, groups, dilation
            )
        if dims == 2:
            return F.conv_transpose2d(
                x, weight, bias, stride, padding, output_padding, groups, dilation
            )
        return F.conv_transpose3d(
            x, weight, bias, stride, padding, output_padding, groups, dilation
        )
    if dims == 1:
        return F.conv1d(x, weight, bias, stride, padding, dilation, groups)
    if dims == 2:
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    return F.conv3d(x, weight, bias, stride, padding, dilation, groups)


def _coord_bias_conv(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    coord_weight: Tensor,
    stride: int | list[int],
    padding: str | int | list[int],
    dilation: int | list[int],
    groups: int,
    coords: str,
    padding_mode: str,
) -> Tensor:
    dims = weight.dim() - 2
    _check_options(coords, coord_weight, weight.shape[0], dims)
    if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
        raise ValueError(
            f"padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
            f"got '{padding_mode}'"
        )
    _check_input(input, dims, weight.shape[1] * groups, f"coord_bias_conv{dims}d")
    strides = _expand(stride, dims, "stride")
    dilations = _expand(dilation, dims, "dilation")
    kernel: list[int] = list(weight.shape[2:])
    # Separate names per type: TorchScript cannot reload code that re-binds a refined Union.
    if isinstance(padding, str):
        padding_str = padding
        if padding_str == "same":
            if strides != [1] * dims:
                raise ValueError(f"padding='same' needs stride 1 (as torch), got stride {strides}")
            pad_left, pad_right = same_padding(kernel, dilations)
        elif padding_str == "valid":
            pad_left, pad_right = [0] * dims, [0] * dims
        else:
            raise ValueError(f"padding must be 'same', 'valid' or ints, got '{padding_str}'")
    else:
        pad_left = _expand(padding, dims, "padding")
        pad_right = pad_left

    unbatched = input.dim() == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    conv_padding = pad_left
    if padding_mode != "zeros" or pad_left != pad_right:
        # Pad explicitly (last dim first), then convolve without padding, as torch does for
        # padding modes and for the odd pixel of padding="same": the same result bit for bit.
        mode = "constant" if padding_mode == "zeros" else padding_mode
        pads: list[int] = []
        for i in range(dims - 1, -1, -1):
            left = 0 if mode == "constant" else pad_left[i]
            pads.extend([left, pad_right[i] - pad_left[i] + left])
        x = F.pad(x, pads, mode=mode)
        conv_padding = pad_left if mode == "constant" else [0] * dims
    out = _convolution(x, weight, bias, False, strides, conv_padding, [0] * dims, dilations, groups)
    size_in: list[int] = list(input.shape[input.dim() - dims :])
    geometry = conv_geometry(coords, size_in, kernel, strides, pad_left, dilations)
    out = add_coord_term(out, coord_weight, geometry)
    return out.squeeze(0) if unbatched else out


def _coord_bias_conv_transpose(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    coord_weight: Tensor,
    stride: int | list[int],
    padding: int | list[int],
    output_padding: int | list[int],
    groups: int,
    dilation: int | list[int],
    coords: str,
) -> Tensor:
    dims = weight.dim() - 2
    _check_options(coords, coord_weight, weight.shape[1] * groups, dims)
    _check_input(input, dims, weight.shape[0], f"coord_bias_conv_transpose{dims}d")
    strides = _expand(stride, dims, "stride")
    paddings = _expand(padding, dims, "padding")
    output_paddings = _expand(output_padding, dims, "output_padding")
    dilations = _expand(dilation, dims, "dilation")
    unbatched = input.dim() == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    out = _convolution(x, weight, bias, True, strides, paddings, output_paddings, dilations, groups)
    out = add_coord_term(out, coord_weight, transposed_geometry(coords, dims))
    return out.squeeze(0) if unbatched else out
