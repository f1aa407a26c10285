"""Functional form of the coordinate-bias convolutions, and the statement of their rule.

This docstring is the one place the rule is written out; the layers, CoordConv's
:func:`~coordbias.layers.addcoords.add_coords` and the README refer to it.

A coordinate-bias convolution adds, to each output filter ``f`` of an ordinary convolution, a
plane (or line, or hyper-plane) in the spatial coordinates::

    out[b, f, *o] = conv(x)[b, f, *o] + bias[f] + sum_i coord_weight[f, i] * c_i(o_i)

``c_i`` is a vector along spatial dimension ``i`` (torch order: ``(D, H, W)``, ``(H, W)`` or
``(L,)``; in 2-D column 0 of ``coord_weight`` multiplies the height (y) coordinate and column 1 the
width (x) coordinate), so the term is a ``(C_out, *spatial_out)`` map shared by every sample of the
batch.

Two coordinate conventions exist (``coords=``):

- ``"center"`` (default): for a convolution, the position, in the input's frame, of the kernel
  centre that produced output index ``o``, ``p = o * stride - pad_left + dilation * (k - 1) / 2``
  (``pad_left = dilation * (k - 1) // 2`` for ``padding="same"``, whose odd pixel goes on the
  right as in torch), mapped linearly so that the centre of the first input pixel is -1 and that
  of the last is +1: ``c = (p - (n_in - 1) / 2) * 2 / max(n_in - 1, 1)``. Positions in the padding
  fall outside ``[-1, 1]``; every ``padding_mode`` gives the same coordinates. For a transposed
  convolution, each output location's own position, ``c = (2 * o - (n_out - 1)) / max(n_out - 1,
  1)``: the first output pixel is -1, the last +1 (CoordConv's coordinates follow this rule too).
- ``"output"``: the original study's convention, the output index over ``n_out - 1``,
  ``c = o / max(n_out - 1, 1)`` in ``[0, 1]``, blind to stride and padding.

A side of length 1 gives coordinate 0 under both conventions (never NaN).

Precision: the coordinates and the term are computed in float32 (float64 for float64 weights
and outputs). For a float16 / bfloat16 output (a half-precision layer, or autocast, where the
output has the dtype ``torch.nn.functional.conv2d`` gives under autocast) the term is computed in
float32 and rounded once to the output's dtype. ``coord_weight``'s gradient has its own dtype.

Every function here is TorchScript-compatible and builds its coordinates with ``torch.arange`` on
the input's device (which keeps ONNX export working). In eager mode the features of a geometry
are cached (see ``coordbias.layers._term``).
"""

import torch  # noqa: F401 (the examples use it)
from torch import Tensor

from coordbias.layers._broadcast import add_axes_term
from coordbias.layers._conv import _coord_bias_conv, _coord_bias_conv_transpose
from coordbias.layers._coords import COORDS, center_coords, coordinate_grid, output_coords

__all__ = [
    "COORDS",
    "center_coords",
    "coord_bias",
    "coord_bias_conv",
    "coord_bias_conv1d",
    "coord_bias_conv2d",
    "coord_bias_conv3d",
    "coord_bias_conv_transpose",
    "coord_bias_conv_transpose1d",
    "coord_bias_conv_transpose2d",
    "coord_bias_conv_transpose3d",
    "coordinate_grid",
    "output_coords",
]


def coord_bias(
    out: Tensor, coord_weight: Tensor, axes: list[Tensor], inplace: bool = False
) -> Tensor:
    """Add the coordinate term ``sum_i coord_weight[:, i] * axes[i]`` to a convolution's output.

    The term is built once as a ``(C, *spatial)`` map (an outer sum of the per-axis vectors scaled
    by ``coord_weight``, never a batch-sized tensor) and broadcast over the batch, so its backward
    is one reduction of the output gradient over the batch and saves nothing output-sized.

    Args:
        out: ``(B, C, *spatial)`` or unbatched ``(C, *spatial)``, with ``len(spatial) == D``.
        coord_weight: ``(C, D)``; column ``i`` multiplies ``axes[i]``.
        axes: ``D`` coordinate vectors, vector ``i`` of shape ``(spatial[i],)``.
        inplace: Add into ``out`` (safe on a fresh convolution output, whose backward does not
            need it) instead of allocating a new tensor.

    Returns:
        Tensor of the shape, dtype and memory layout of ``out``.

    Raises:
        ValueError: The shapes of ``out``, ``coord_weight`` and ``axes`` do not fit together.

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
    return add_axes_term(out, coord_weight, axes, inplace)


def coord_bias_conv(
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
    """Coordinate-bias convolution, ``convNd(input) + sum_i coord_weight[:, i] * c_i``.

    One function for 1-D, 2-D and 3-D (``D = weight.dim() - 2``); ``coord_bias_conv1d``,
    ``coord_bias_conv2d`` and ``coord_bias_conv3d`` are its names per dimension, as
    :func:`torch.nn.functional.conv1d` to ``conv3d`` are torch's. ``stride``, ``padding``,
    ``dilation`` and ``groups`` are as there; the rule and the precision are in the module
    docstring.

    Args:
        input: ``(B, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``, ``D`` spatial dims
            (2-D: ``(H, W)``).
        weight: ``(C_out, C_in / groups, *kernel)``.
        bias: ``(C_out,)`` or ``None``.
        coord_weight: ``(C_out, D)``; column ``i`` multiplies the coordinate of spatial dim
            ``i`` (2-D: column 0 the height (y), column 1 the width (x) coordinate).
        stride: Stride, an int or ``D`` ints.
        padding: ``"same"``, ``"valid"``, an int or ``D`` ints.
        dilation: Dilation, an int or ``D`` ints.
        groups: Number of groups.
        coords: ``"center"`` or ``"output"``.
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Returns:
        ``(B, C_out, *spatial_out)`` (or without ``B`` for unbatched input).

    Raises:
        ValueError: An unknown option, or shapes that do not fit together.

    Example:
        >>> x = torch.zeros(1, 1, 5)
        >>> coord_bias_conv1d(x, torch.ones(1, 1, 3), None, torch.ones(1, 1), padding=1)
        tensor([[[-1.0000, -0.5000,  0.0000,  0.5000,  1.0000]]])
        >>> cw = torch.tensor([[0.0, 1.0]])  # x (width) coordinate only
        >>> coord_bias_conv2d(torch.zeros(1, 1, 3, 3), torch.ones(1, 1, 3, 3), None, cw, padding=1)
        tensor([[[[-1.,  0.,  1.],
                  [-1.,  0.,  1.],
                  [-1.,  0.,  1.]]]])
        >>> cw = torch.tensor([[1.0, 0.0, 0.0]])
        >>> x = torch.zeros(2, 1, 4, 4, 4)
        >>> coord_bias_conv3d(x, torch.ones(1, 1, 1, 1, 1), None, cw)[0, 0, :, 0, 0]
        tensor([-1.0000, -0.3333,  0.3333,  1.0000])
    """
    return _coord_bias_conv(
        input, weight, bias, coord_weight, stride, padding, dilation, groups, coords, padding_mode
    )


#: 1-D coordinate-bias convolution, :func:`coord_bias_conv` for ``(B, C_in, L)`` inputs.
coord_bias_conv1d = coord_bias_conv
#: 2-D coordinate-bias convolution, :func:`coord_bias_conv` for ``(B, C_in, H, W)`` inputs:
#: ``conv2d(input) + coord_weight[:, 0] * y + coord_weight[:, 1] * x``.
coord_bias_conv2d = coord_bias_conv
#: 3-D coordinate-bias convolution, :func:`coord_bias_conv` for ``(B, C_in, D, H, W)`` inputs.
coord_bias_conv3d = coord_bias_conv


def coord_bias_conv_transpose(
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
    """Transposed coordinate-bias convolution (coordinates of the output grid).

    One function for 1-D, 2-D and 3-D (``D = weight.dim() - 2``); ``coord_bias_conv_transpose1d``
    to ``coord_bias_conv_transpose3d`` are its names per dimension. ``stride``, ``padding``,
    ``output_padding``, ``groups`` and ``dilation`` are as in
    :func:`torch.nn.functional.conv_transpose2d`; the rule is in the module docstring.

    Args:
        input: ``(B, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
        weight: ``(C_in, C_out / groups, *kernel)``.
        bias: ``(C_out,)`` or ``None``.
        coord_weight: ``(C_out, D)``; column ``i`` multiplies the coordinate of spatial dim
            ``i`` (2-D: y, then x).
        stride: Stride, an int or ``D`` ints.
        padding: Padding, an int or ``D`` ints.
        output_padding: Extra size on one side of the output, an int or ``D`` ints.
        groups: Number of groups.
        dilation: Dilation, an int or ``D`` ints.
        coords: ``"center"`` (output grid in ``[-1, 1]``) or ``"output"`` (in ``[0, 1]``).

    Returns:
        ``(B, C_out, *spatial_out)`` (or without ``B`` for unbatched input), ``spatial_out`` as
        :func:`torch.nn.functional.conv_transpose2d` computes it.

    Raises:
        ValueError: An unknown option, or shapes that do not fit together, as in
            :func:`coord_bias_conv`.

    Example:
        >>> x = torch.zeros(1, 1, 2)
        >>> coord_bias_conv_transpose1d(x, torch.ones(1, 1, 2), None, torch.ones(1, 1), stride=2)
        tensor([[[-1.0000, -0.3333,  0.3333,  1.0000]]])
        >>> cw = torch.tensor([[1.0, 0.0]])  # y (height) coordinate only
        >>> x = torch.zeros(1, 1, 1, 1)
        >>> coord_bias_conv_transpose2d(x, torch.ones(1, 1, 2, 2), None, cw, coords="output")
        tensor([[[[0., 0.],
                  [1., 1.]]]])
        >>> cw = torch.tensor([[0.0, 0.0, 1.0]])
        >>> x = torch.zeros(1, 1, 1, 1, 1)
        >>> coord_bias_conv_transpose3d(x, torch.ones(1, 1, 1, 1, 3), None, cw)[0, 0, 0, 0]
        tensor([-1.,  0.,  1.])
    """
    return _coord_bias_conv_transpose(
        input, weight, bias, coord_weight, stride, padding, output_padding, groups, dilation, coords
    )


#: 1-D transposed coordinate-bias convolution, :func:`coord_bias_conv_transpose` in 1-D.
coord_bias_conv_transpose1d = coord_bias_conv_transpose
#: 2-D transposed coordinate-bias convolution, :func:`coord_bias_conv_transpose` in 2-D.
coord_bias_conv_transpose2d = coord_bias_conv_transpose
#: 3-D transposed coordinate-bias convolution, :func:`coord_bias_conv_transpose` in 3-D.
coord_bias_conv_transpose3d = coord_bias_conv_transpose
