"""Functional form of the coordinate-bias convolutions.

A coordinate-bias convolution adds, to each output filter ``f`` of an ordinary convolution, a
plane (or line, or hyper-plane) in the spatial coordinates::

    out[b, f, *p] = conv(x)[b, f, *p] + bias[f] + sum_i coord_weight[f, i] * C_i[p_i]

``C_i`` is a vector along spatial dimension ``i`` (torch order: ``(D, H, W)``, ``(H, W)`` or
``(L,)``), so the term is a small ``(C_out, *spatial_out)`` map shared by every sample of the batch.

Two coordinate conventions exist (``coords=``):

- ``"center"`` (default): for a convolution, the position, in the input's frame, of the kernel
  centre that produced each output location, ``p = o * stride - pad_left + dilation * (k - 1) / 2``,
  mapped linearly so that the centre of the first input pixel is -1 and that of the last is +1:
  ``c = (p - (n_in - 1) / 2) * 2 / max(n_in - 1, 1)``. Positions in the padding fall outside
  ``[-1, 1]``. For a transposed convolution, each output location's own position, mapped so that
  the first output pixel is -1 and the last +1.
- ``"output"``: the original study's convention, the output index over ``n_out - 1``, in
  ``[0, 1]``, blind to stride and padding.

A side of length 1 gives coordinate 0 under both conventions (never NaN).

Every function here is TorchScript-compatible and builds its coordinates with ``torch.arange`` on
the input's device (which keeps ONNX export working).
"""

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "COORDS",
    "center_coords",
    "coord_bias",
    "coord_bias_conv1d",
    "coord_bias_conv2d",
    "coord_bias_conv3d",
    "coord_bias_conv_transpose1d",
    "coord_bias_conv_transpose2d",
    "coord_bias_conv_transpose3d",
    "coordinate_grid",
    "output_coords",
]

#: Accepted values of ``coords``.
COORDS = ("center", "output")


def _coord_dtype(dtype: torch.dtype | None) -> torch.dtype:
    # Coordinates are computed in float32 (float64 when asked): float16 and bfloat16 cannot hold
    # pixel indices beyond 2048 and 256 exactly.
    if dtype is None or dtype != torch.float64:
        return torch.float32
    return torch.float64


def center_coords(
    size_in: int,
    size_out: int,
    kernel_size: int,
    stride: int = 1,
    pad_left: int = 0,
    dilation: int = 1,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """Kernel-centre coordinates of one spatial axis of a convolution.

    Output index ``o`` sits at ``p = o * stride - pad_left + dilation * (kernel_size - 1) / 2``
    in the input's frame, mapped to ``c = (p - (size_in - 1) / 2) * 2 / max(size_in - 1, 1)``: the
    first input pixel is -1, the last +1, padding lies outside ``[-1, 1]``, and ``size_in == 1``
    gives 0.

    Args:
        size_in: length of the (unpadded) input along this axis.
        size_out: length of the output along this axis.
        kernel_size: kernel length along this axis.
        stride: stride along this axis.
        pad_left: padding added before the first input pixel (for ``padding="same"``:
            ``dilation * (kernel_size - 1) // 2``).
        dilation: dilation along this axis.
        dtype: float32 (default) or float64; other dtypes compute in float32.
        device: device of the result.

    Returns:
        Coordinates of shape ``(size_out,)``.

    Example:
        >>> center_coords(5, 5, 3, pad_left=1)
        tensor([-1.0000, -0.5000,  0.0000,  0.5000,  1.0000])
        >>> center_coords(6, 3, 2, stride=2)
        tensor([-0.8000,  0.0000,  0.8000])
    """
    # Integer numerator 2p - (n_in - 1): exact, then one rounding in the division.
    # Integer-valued floats are exact up to 2**24 (float32), so two ops suffice.
    start = dilation * (kernel_size - 1) - 2 * pad_left - (size_in - 1)
    step = 2 * stride
    numerator = torch.arange(
        start, start + step * size_out, step, dtype=_coord_dtype(dtype), device=device
    )
    return numerator / max(size_in - 1, 1)


def output_coords(
    size_out: int,
    centered: bool = True,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """Coordinates of the output grid itself along one axis.

    Args:
        size_out: length of the output along this axis.
        centered: ``True`` maps the first index to -1 and the last to +1 (the ``"center"``
            convention of transposed layers); ``False`` gives ``index / (size_out - 1)`` in
            ``[0, 1]`` (the original study's ``"output"`` convention). ``size_out == 1`` gives 0.
        dtype: float32 (default) or float64; other dtypes compute in float32.
        device: device of the result.

    Returns:
        Coordinates of shape ``(size_out,)``.

    Example:
        >>> output_coords(3)
        tensor([-1.,  0.,  1.])
        >>> output_coords(5, centered=False)
        tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
        >>> output_coords(1)
        tensor([0.])
    """
    dtype = _coord_dtype(dtype)
    if centered:
        index = torch.arange(1 - size_out, size_out, 2, dtype=dtype, device=device)
    else:
        index = torch.arange(size_out, dtype=dtype, device=device)
    return index / max(size_out - 1, 1)


def coordinate_grid(axes: list[Tensor]) -> Tensor:
    """Stack per-axis coordinate vectors into a dense grid.

    Args:
        axes: ``D`` vectors, vector ``i`` of shape ``(n_i,)``.

    Returns:
        Grid of shape ``(D, n_0, ..., n_{D-1})``; ``grid[i]`` varies along axis ``i`` only.

    Example:
        >>> grid = coordinate_grid([output_coords(2), output_coords(3)])
        >>> grid.shape
        torch.Size([2, 2, 3])
        >>> grid[0]
        tensor([[-1., -1., -1.],
                [ 1.,  1.,  1.]])
    """
    dims = len(axes)
    sizes: list[int] = [a.shape[0] for a in axes]
    planes: list[Tensor] = []
    for i, axis in enumerate(axes):
        shape = [1] * dims
        shape[i] = sizes[i]
        planes.append(axis.reshape(shape).expand(sizes))
    return torch.stack(planes)


def _shape_axes(axes: list[Tensor], lead: int, channels_last: bool) -> list[Tensor]:
    # Axis i as (lead, 1, .., n_i, .., 1) with the channel slot first, or, channels last,
    # (lead, .., n_i, .., 1) with the channel slot last; ready to broadcast against the weights.
    dims = len(axes)
    shaped: list[Tensor] = []
    for i, axis in enumerate(axes):
        shape = [1] * (lead + dims + 1)
        shape[lead + i if channels_last else lead + 1 + i] = axis.shape[0]
        shaped.append(axis.reshape(shape))
    return shaped


def _add_term(
    out: Tensor, coord_weight: Tensor, shaped: list[Tensor], channels_last: bool, inplace: bool
) -> Tensor:
    # Outer sum of per-axis terms, broadcast elementwise (a K = D matmul is slower on CPU), with
    # a batch dimension of size 1 so that for B == 1 the backward needs no reduction. For a
    # channels-last output the map is built as (1, *S, C), so that the add streams both tensors.
    dims = len(shaped)
    lead = shaped[0].dim() - dims - 1
    wshape = [1] * (lead + dims + 1)
    wshape[lead + dims if channels_last else lead] = coord_weight.shape[0]
    weight = coord_weight
    if weight.dtype != shaped[0].dtype:
        weight = weight.to(shaped[0].dtype)
    columns = weight.unbind(1)
    term = columns[0].reshape(wshape) * shaped[0]
    for i in range(1, dims):
        # mul then add: addcmul with three broadcast operands is ~4x slower on CPU.
        term = term + columns[i].reshape(wshape) * shaped[i]
    if channels_last:
        term = term.movedim(-1, lead)
    if term.dtype != out.dtype:
        term = term.to(out.dtype)
    if inplace:
        return out.add_(term)
    return out + term


def coord_bias(
    out: Tensor, coord_weight: Tensor, axes: list[Tensor], inplace: bool = False
) -> Tensor:
    """Add the coordinate term ``sum_i coord_weight[:, i] * C_i`` to a convolution's output.

    The term is built once as a ``(C, *spatial)`` map (an outer sum of the per-axis vectors scaled
    by ``coord_weight``, never a batch-sized tensor) and broadcast over the batch, so its backward
    is one reduction of the output gradient over the batch and saves nothing for backward.

    Args:
        out: ``(B, C, *spatial)`` or unbatched ``(C, *spatial)``, with ``len(spatial) == D``.
        coord_weight: ``(C, D)``; column ``i`` multiplies ``axes[i]``.
        axes: ``D`` coordinate vectors, vector ``i`` of shape ``(spatial[i],)``.
        inplace: add into ``out`` (safe on a fresh convolution output, whose backward does not
            need it) instead of allocating a new tensor.

    Returns:
        Tensor of the shape, dtype and memory layout of ``out``.

    Example:
        >>> out = torch.zeros(1, 2, 2, 3)
        >>> w = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> y = coord_bias(out, w, [output_coords(2), output_coords(3)])
        >>> y[0, 0]
        tensor([[-1., -1., -1.],
                [ 1.,  1.,  1.]])
        >>> y[0, 1]
        tensor([[-2.,  0.,  2.],
                [-2.,  0.,  2.]])
    """
    dims = len(axes)
    channels = coord_weight.shape[0]
    if coord_weight.dim() != 2 or coord_weight.shape[1] != dims:
        raise ValueError(
            f"coord_weight must have shape (out_channels, {dims}), got {list(coord_weight.shape)}"
        )
    if out.dim() not in (dims + 1, dims + 2) or out.shape[-dims - 1] != channels:
        raise ValueError(
            f"out must have shape (B, {channels}, *spatial) or ({channels}, *spatial) with "
            f"{dims} spatial dims, got {list(out.shape)}"
        )
    spatial: list[int] = list(out.shape[out.dim() - dims :])
    for i, axis in enumerate(axes):
        if axis.dim() != 1 or axis.shape[0] != spatial[i]:
            raise ValueError(f"axes[{i}] must have shape ({spatial[i]},), got {list(axis.shape)}")
    batched = out.dim() == dims + 2
    channels_last = batched and channels > 1 and out.stride(1) == 1
    shaped = _shape_axes(axes, 1 if batched else 0, channels_last)
    return _add_term(out, coord_weight, shaped, channels_last, inplace)


def _expand(value: int | list[int], dims: int, name: str) -> list[int]:
    if isinstance(value, int):
        return [value] * dims
    values = [int(v) for v in value]
    if len(values) != dims:
        raise ValueError(f"{name} must be an int or {dims} ints, got {values}")
    return values


def _check_coords(coords: str) -> None:
    if coords != "center" and coords != "output":
        raise ValueError(f"coords must be 'center' or 'output', got '{coords}'")


def _check_input(input: Tensor, dims: int, channels: int, layer: str) -> None:
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


def _conv(
    dims: int,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: list[int],
    padding: list[int],
    dilation: list[int],
    groups: int,
) -> Tensor:
    if dims == 1:
        return F.conv1d(x, weight, bias, stride, padding, dilation, groups)
    if dims == 2:
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    return F.conv3d(x, weight, bias, stride, padding, dilation, groups)


def _conv_str(
    dims: int,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: list[int],
    padding: str,
    dilation: list[int],
    groups: int,
) -> Tensor:
    if dims == 1:
        return F.conv1d(x, weight, bias, stride, padding, dilation, groups)
    if dims == 2:
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    return F.conv3d(x, weight, bias, stride, padding, dilation, groups)


def _channels_last(out: Tensor) -> bool:
    return out.shape[1] > 1 and out.stride(1) == 1


def _layer_coords(
    transposed: bool,
    coords: str,
    size_in: list[int],
    size_out: list[int],
    kernel: list[int],
    strides: list[int],
    pad_left: list[int],
    dilations: list[int],
    dtype: torch.dtype,
    device: torch.device,
) -> list[Tensor]:
    # The per-axis coordinate vectors of a layer's output, axis i of shape (size_out[i],).
    axes: list[Tensor] = []
    for i in range(len(size_out)):
        if coords == "output":
            axes.append(output_coords(size_out[i], False, dtype, device))
        elif transposed:
            axes.append(output_coords(size_out[i], True, dtype, device))
        else:
            axes.append(
                center_coords(
                    size_in[i],
                    size_out[i],
                    kernel[i],
                    strides[i],
                    pad_left[i],
                    dilations[i],
                    dtype,
                    device,
                )
            )
    return axes


def _layer_axes(
    transposed: bool,
    coords: str,
    size_in: list[int],
    size_out: list[int],
    kernel: list[int],
    strides: list[int],
    pad_left: list[int],
    dilations: list[int],
    dtype: torch.dtype,
    device: torch.device,
    channels_last: bool,
) -> list[Tensor]:
    # The per-axis coordinates of a layer's (batched) output, shaped for broadcasting.
    axes = _layer_coords(
        transposed, coords, size_in, size_out, kernel, strides, pad_left, dilations, dtype, device
    )
    return _shape_axes(axes, 1, channels_last)


def _same_padding(kernel: list[int], dilations: list[int]) -> tuple[list[int], list[int]]:
    # torch's split of padding="same": total d * (k - 1), the odd pixel on the right.
    pad_left: list[int] = []
    pad_right: list[int] = []
    for i in range(len(kernel)):
        total = dilations[i] * (kernel[i] - 1)
        pad_left.append(total // 2)
        pad_right.append(total - total // 2)
    return pad_left, pad_right


# Eager mode only: the shaped coordinate vectors of recent layer geometries. They depend on
# integers, dtype and device alone, are never written to, and are tiny; reusing them saves six
# small tensor ops per call, which is most of the layer's fixed cost on small inputs.
_AXES_CACHE: dict[tuple, list[Tensor]] = {}
_AXES_CACHE_SIZE = 256


@torch.jit.unused
def _cached_layer_axes(
    transposed: bool,
    coords: str,
    size_in: list[int],
    size_out: list[int],
    kernel: list[int],
    strides: list[int],
    pad_left: list[int],
    dilations: list[int],
    dtype: torch.dtype,
    device: torch.device,
    channels_last: bool,
) -> list[Tensor]:
    args = (
        transposed, coords, size_in, size_out, kernel, strides, pad_left, dilations, dtype,
        device, channels_last,
    )  # fmt: skip
    sizes = size_in + size_out
    if (
        torch.compiler.is_compiling()
        or torch.compiler.is_exporting()
        or torch.jit.is_tracing()
        or not all(type(n) is int for n in sizes)  # symbolic sizes: trace, never cache
    ):
        return _layer_axes(*args)
    key = (
        transposed, coords, tuple(size_in), tuple(size_out), tuple(kernel), tuple(strides),
        tuple(pad_left), tuple(dilations), dtype, device, channels_last,
    )  # fmt: skip
    hit = _AXES_CACHE.get(key)
    if hit is not None:
        return hit
    # Normal tensors even under inference_mode, so that later autograd calls may save them.
    with torch.inference_mode(False):
        shaped = _layer_axes(*args)
    if all(type(t) is torch.Tensor for t in shaped):  # never cache fake or subclass tensors
        if len(_AXES_CACHE) >= _AXES_CACHE_SIZE:
            _AXES_CACHE.clear()
        _AXES_CACHE[key] = shaped
    return shaped


def _axes_for(
    out: Tensor,
    coord_weight: Tensor,
    dims: int,
    transposed: bool,
    coords: str,
    size_in: list[int],
    kernel: list[int],
    strides: list[int],
    pad_left: list[int],
    dilations: list[int],
) -> list[Tensor]:
    if (
        coord_weight.dim() != 2
        or coord_weight.shape[0] != out.shape[1]
        or coord_weight.shape[1] != dims
    ):
        raise ValueError(
            f"coord_weight must have shape (out_channels, {dims}) = ({out.shape[1]}, {dims}), "
            f"got {list(coord_weight.shape)}"
        )
    size_out: list[int] = list(out.shape[2:])
    dtype = _coord_dtype(coord_weight.dtype)
    if torch.jit.is_scripting():
        return _layer_axes(
            transposed, coords, size_in, size_out, kernel, strides, pad_left, dilations, dtype,
            out.device, _channels_last(out),
        )  # fmt: skip
    return _cached_layer_axes(
        transposed, coords, size_in, size_out, kernel, strides, pad_left, dilations, dtype,
        out.device, _channels_last(out),
    )  # fmt: skip


def _coord_bias_conv(
    dims: int,
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
    _check_coords(coords)
    if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
        raise ValueError(
            "padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
            f"got '{padding_mode}'"
        )
    name = f"coord_bias_conv{dims}d"
    _check_input(input, dims, weight.shape[1] * groups, name)
    strides = _expand(stride, dims, "stride")
    dilations = _expand(dilation, dims, "dilation")
    kernel: list[int] = list(weight.shape[2:])
    pad_left: list[int] = [0] * dims
    pad_right: list[int] = [0] * dims
    # Separate names per type: TorchScript cannot reload code that re-binds a refined Union.
    padding_str = ""
    if isinstance(padding, str):
        padding_str = padding
        if padding_str == "same":
            pad_left, pad_right = _same_padding(kernel, dilations)
        elif padding_str != "valid":
            raise ValueError(f"padding must be 'same', 'valid' or ints, got '{padding_str}'")
    else:
        pad_left = _expand(padding, dims, "padding")
        pad_right = pad_left

    unbatched = input.dim() == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    if padding_mode != "zeros":
        # As torch's layers do: pad explicitly (last dim first), then convolve without padding.
        pads: list[int] = []
        for i in range(dims - 1, -1, -1):
            pads.append(pad_left[i])
            pads.append(pad_right[i])
        x = F.pad(x, pads, mode=padding_mode)
        out = _conv(dims, x, weight, bias, strides, [0] * dims, dilations, groups)
    elif padding_str != "":
        # torch's own "same" handling, so that the result matches nn.ConvNd bit for bit.
        out = _conv_str(dims, x, weight, bias, strides, padding_str, dilations, groups)
    else:
        out = _conv(dims, x, weight, bias, strides, pad_left, dilations, groups)

    size_in: list[int] = list(input.shape[input.dim() - dims :])
    shaped = _axes_for(
        out, coord_weight, dims, False, coords, size_in, kernel, strides, pad_left, dilations
    )
    # In place: ``out`` is this function's own fresh tensor and the convolution's backward does
    # not need it, so autograd saves nothing extra and no output-sized buffer is allocated.
    # The bias stays inside the convolution: folding it into the map (conv without bias, then
    # one add) would save the conv's own bias reduction in backward, but conv(x) + b is not
    # bit-identical to conv(x, bias=b) on CPU (oneDNN / BLAS round differently; 30 of 42 checked
    # float32, float64 and bfloat16 cases differed), and a zero coord_weight must give exactly the
    # torch layer. Adding a zero map is exact, so the layer is the torch layer bit for bit.
    out = _add_term(out, coord_weight, shaped, _channels_last(out), True)
    return out.squeeze(0) if unbatched else out


def _coord_bias_conv_transpose(
    dims: int,
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
    _check_coords(coords)
    _check_input(input, dims, weight.shape[0], f"coord_bias_conv_transpose{dims}d")
    strides = _expand(stride, dims, "stride")
    paddings = _expand(padding, dims, "padding")
    output_paddings = _expand(output_padding, dims, "output_padding")
    dilations = _expand(dilation, dims, "dilation")
    unbatched = input.dim() == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    if dims == 1:
        out = F.conv_transpose1d(
            x, weight, bias, strides, paddings, output_paddings, groups, dilations
        )
    elif dims == 2:
        out = F.conv_transpose2d(
            x, weight, bias, strides, paddings, output_paddings, groups, dilations
        )
    else:
        out = F.conv_transpose3d(
            x, weight, bias, strides, paddings, output_paddings, groups, dilations
        )
    zeros = [0] * dims
    shaped = _axes_for(out, coord_weight, dims, True, coords, zeros, zeros, zeros, zeros, zeros)
    out = _add_term(out, coord_weight, shaped, _channels_last(out), True)
    return out.squeeze(0) if unbatched else out


def coord_bias_conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    coord_weight: Tensor,
    stride: int | list[int] = 1,
    padding: str | int | list[int] = 0,
    dilation: int | list[int] = 1,
    groups: int = 1,
    coords: str = "center",
    padding_mode: str = "zeros",
) -> Tensor:
    """1-D coordinate-bias convolution: ``conv1d(input) + coord_weight[:, 0] * C_0``.

    Args:
        input: ``(B, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_out, C_in / groups, k)``.
        bias: ``(C_out,)`` or ``None``.
        coord_weight: ``(C_out, 1)``.
        stride, padding, dilation, groups: as :func:`torch.nn.functional.conv1d`.
        coords: ``"center"`` or ``"output"`` (see the module docstring).
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Returns:
        ``(B, C_out, L_out)`` (or ``(C_out, L_out)`` for unbatched input).

    Example:
        >>> x = torch.zeros(1, 1, 5)
        >>> y = coord_bias_conv1d(x, torch.ones(1, 1, 3), None, torch.ones(1, 1), padding=1)
        >>> y
        tensor([[[-1.0000, -0.5000,  0.0000,  0.5000,  1.0000]]])
    """
    return _coord_bias_conv(
        1, input, weight, bias, coord_weight, stride, padding, dilation, groups, coords,
        padding_mode,
    )  # fmt: skip


def coord_bias_conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    coord_weight: Tensor,
    stride: int | list[int] = 1,
    padding: str | int | list[int] = 0,
    dilation: int | list[int] = 1,
    groups: int = 1,
    coords: str = "center",
    padding_mode: str = "zeros",
) -> Tensor:
    """2-D coordinate-bias convolution: ``conv2d(input) + cw[:, 0] * Y + cw[:, 1] * X``.

    Args:
        input: ``(B, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in / groups, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        coord_weight: ``(C_out, 2)``; column 0 multiplies the height (y) coordinate, column 1
            the width (x) coordinate.
        stride, padding, dilation, groups: as :func:`torch.nn.functional.conv2d`.
        coords: ``"center"`` or ``"output"`` (see the module docstring).
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Returns:
        ``(B, C_out, H_out, W_out)`` (or ``(C_out, H_out, W_out)`` for unbatched input).

    Example:
        >>> x = torch.zeros(1, 1, 3, 3)
        >>> cw = torch.tensor([[0.0, 1.0]])  # x (width) coordinate only
        >>> coord_bias_conv2d(x, torch.ones(1, 1, 3, 3), None, cw, padding=1)
        tensor([[[[-1.,  0.,  1.],
                  [-1.,  0.,  1.],
                  [-1.,  0.,  1.]]]])
    """
    return _coord_bias_conv(
        2, input, weight, bias, coord_weight, stride, padding, dilation, groups, coords,
        padding_mode,
    )  # fmt: skip


def coord_bias_conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    coord_weight: Tensor,
    stride: int | list[int] = 1,
    padding: str | int | list[int] = 0,
    dilation: int | list[int] = 1,
    groups: int = 1,
    coords: str = "center",
    padding_mode: str = "zeros",
) -> Tensor:
    """3-D coordinate-bias convolution: ``conv3d(input) + sum_i cw[:, i] * C_i`` over (D, H, W).

    Args:
        input: ``(B, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``.
        weight: ``(C_out, C_in / groups, kD, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        coord_weight: ``(C_out, 3)``; columns multiply the depth, height and width coordinates.
        stride, padding, dilation, groups: as :func:`torch.nn.functional.conv3d`.
        coords: ``"center"`` or ``"output"`` (see the module docstring).
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Returns:
        ``(B, C_out, D_out, H_out, W_out)`` (or without ``B`` for unbatched input).

    Example:
        >>> x = torch.zeros(2, 1, 4, 4, 4)
        >>> cw = torch.tensor([[1.0, 0.0, 0.0]])
        >>> coord_bias_conv3d(x, torch.ones(1, 1, 1, 1, 1), None, cw)[0, 0, :, 0, 0]
        tensor([-1.0000, -0.3333,  0.3333,  1.0000])
    """
    return _coord_bias_conv(
        3, input, weight, bias, coord_weight, stride, padding, dilation, groups, coords,
        padding_mode,
    )  # fmt: skip


def coord_bias_conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    coord_weight: Tensor,
    stride: int | list[int] = 1,
    padding: int | list[int] = 0,
    output_padding: int | list[int] = 0,
    groups: int = 1,
    dilation: int | list[int] = 1,
    coords: str = "center",
) -> Tensor:
    """1-D transposed coordinate-bias convolution (coordinates of the output grid).

    Args:
        input: ``(B, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_in, C_out / groups, k)``.
        bias: ``(C_out,)`` or ``None``.
        coord_weight: ``(C_out, 1)``.
        stride, padding, output_padding, groups, dilation: as
            :func:`torch.nn.functional.conv_transpose1d`.
        coords: ``"center"`` (output grid in ``[-1, 1]``) or ``"output"`` (in ``[0, 1]``).

    Returns:
        ``(B, C_out, L_out)`` (or ``(C_out, L_out)`` for unbatched input).

    Example:
        >>> x = torch.zeros(1, 1, 2)
        >>> coord_bias_conv_transpose1d(x, torch.ones(1, 1, 2), None, torch.ones(1, 1), stride=2)
        tensor([[[-1.0000, -0.3333,  0.3333,  1.0000]]])
    """
    return _coord_bias_conv_transpose(
        1, input, weight, bias, coord_weight, stride, padding, output_padding, groups, dilation,
        coords,
    )  # fmt: skip


def coord_bias_conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    coord_weight: Tensor,
    stride: int | list[int] = 1,
    padding: int | list[int] = 0,
    output_padding: int | list[int] = 0,
    groups: int = 1,
    dilation: int | list[int] = 1,
    coords: str = "center",
) -> Tensor:
    """2-D transposed coordinate-bias convolution (coordinates of the output grid).

    Args:
        input: ``(B, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_in, C_out / groups, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        coord_weight: ``(C_out, 2)``; column 0 multiplies y (height), column 1 x (width).
        stride, padding, output_padding, groups, dilation: as
            :func:`torch.nn.functional.conv_transpose2d`.
        coords: ``"center"`` (output grid in ``[-1, 1]``) or ``"output"`` (in ``[0, 1]``).

    Returns:
        ``(B, C_out, H_out, W_out)`` (or without ``B`` for unbatched input).

    Example:
        >>> x = torch.zeros(1, 1, 1, 1)
        >>> cw = torch.tensor([[1.0, 0.0]])  # y (height) coordinate only
        >>> coord_bias_conv_transpose2d(x, torch.ones(1, 1, 2, 2), None, cw, coords="output")
        tensor([[[[0., 0.],
                  [1., 1.]]]])
    """
    return _coord_bias_conv_transpose(
        2, input, weight, bias, coord_weight, stride, padding, output_padding, groups, dilation,
        coords,
    )  # fmt: skip


def coord_bias_conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    coord_weight: Tensor,
    stride: int | list[int] = 1,
    padding: int | list[int] = 0,
    output_padding: int | list[int] = 0,
    groups: int = 1,
    dilation: int | list[int] = 1,
    coords: str = "center",
) -> Tensor:
    """3-D transposed coordinate-bias convolution (coordinates of the output grid).

    Args:
        input: ``(B, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``.
        weight: ``(C_in, C_out / groups, kD, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        coord_weight: ``(C_out, 3)``; columns multiply the depth, height and width coordinates.
        stride, padding, output_padding, groups, dilation: as
            :func:`torch.nn.functional.conv_transpose3d`.
        coords: ``"center"`` (output grid in ``[-1, 1]``) or ``"output"`` (in ``[0, 1]``).

    Returns:
        ``(B, C_out, D_out, H_out, W_out)`` (or without ``B`` for unbatched input).

    Example:
        >>> x = torch.zeros(1, 1, 1, 1, 1)
        >>> cw = torch.tensor([[0.0, 0.0, 1.0]])
        >>> coord_bias_conv_transpose3d(x, torch.ones(1, 1, 1, 1, 3), None, cw)[0, 0, 0, 0]
        tensor([-1.,  0.,  1.])
    """
    return _coord_bias_conv_transpose(
        3, input, weight, bias, coord_weight, stride, padding, output_padding, groups, dilation,
        coords,
    )  # fmt: skip
