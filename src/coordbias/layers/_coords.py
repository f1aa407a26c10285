"""Where a layer's output locations lie: the coordinate rules and the geometry they read.

The rules themselves are written out once, in :mod:`coordbias.layers.functional`; this module
implements them. Everything here is TorchScript-compatible and builds coordinates with
``torch.arange`` on the requested device (which keeps ONNX export working).
"""

from contextvars import ContextVar
from typing import NamedTuple

import torch
from torch import Tensor

from coordbias._names import COORDS

__all__ = [
    "COORDS",
    "FRAME",
    "Frame",
    "Geometry",
    "center_coords",
    "conv_geometry",
    "coordinate_grid",
    "features",
    "framed_axes",
    "layer_axes",
    "output_coords",
    "same_padding",
    "transposed_geometry",
]


class Geometry(NamedTuple):
    """Everything the coordinates of a layer's output depend on, besides the output's size.

    One small typed object instead of seven positional lists: the functional convolutions build
    it from their arguments, the modules from their attributes, and the coordinate cache keys on
    it (with the output size, dtype, device and layout). TorchScript accepts it.

    Attributes:
        transposed: ``True`` for a transposed convolution (coordinates of the output grid).
        coords: ``"center"`` or ``"output"``.
        size_in: Spatial size of the unpadded input (ignored when ``transposed``).
        kernel: Kernel size per spatial dimension.
        stride: Stride per spatial dimension.
        pad_left: Padding before the first input pixel per spatial dimension.
        dilation: Dilation per spatial dimension.
    """

    transposed: bool
    coords: str
    size_in: list[int]
    kernel: list[int]
    stride: list[int]
    pad_left: list[int]
    dilation: list[int]


def conv_geometry(
    coords: str,
    size_in: list[int],
    kernel: list[int],
    stride: list[int],
    pad_left: list[int],
    dilation: list[int],
) -> Geometry:
    """The geometry of a (not transposed) convolution; see :class:`Geometry` for the fields.

    Example:
        >>> g = conv_geometry("center", [8, 8], [3, 3], [1, 1], [1, 1], [1, 1])
        >>> g.transposed, g.pad_left
        (False, [1, 1])
    """
    return Geometry(False, coords, size_in, kernel, stride, pad_left, dilation)


def transposed_geometry(coords: str, dims: int) -> Geometry:
    """The geometry of a transposed convolution with ``dims`` spatial dimensions.

    Its coordinates depend on the output grid alone, so every other field is zero.

    Example:
        >>> transposed_geometry("center", 2).transposed
        True
    """
    zeros = [0] * dims
    return Geometry(True, coords, zeros, zeros, zeros, zeros, zeros)


def same_padding(kernel: list[int], dilation: list[int]) -> tuple[list[int], list[int]]:
    """torch's split of ``padding="same"``: total ``d * (k - 1)``, the odd pixel on the right.

    Args:
        kernel: Kernel size per spatial dimension.
        dilation: Dilation per spatial dimension.

    Returns:
        ``(pad_left, pad_right)``, one value per spatial dimension each.

    Example:
        >>> same_padding([3, 4], [1, 1])
        ([1, 1], [1, 2])
    """
    pad_left: list[int] = []
    pad_right: list[int] = []
    for i in range(len(kernel)):
        total = dilation[i] * (kernel[i] - 1)
        pad_left.append(total // 2)
        pad_right.append(total - total // 2)
    return pad_left, pad_right


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
    """Kernel-centre coordinates of one spatial axis of a convolution (the ``"center"`` rule).

    The rule is written out in :mod:`coordbias.layers.functional`: the first input pixel is -1,
    the last +1, padding lies outside ``[-1, 1]``, and ``size_in == 1`` gives 0.

    Args:
        size_in: Length of the (unpadded) input along this axis.
        size_out: Length of the output along this axis.
        kernel_size: Kernel length along this axis.
        stride: Stride along this axis.
        pad_left: Padding added before the first input pixel (for ``padding="same"``:
            ``dilation * (kernel_size - 1) // 2``).
        dilation: Dilation along this axis.
        dtype: float32 (default) or float64; other dtypes compute in float32.
        device: Device of the result.

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
    return divide(numerator, max(size_in - 1, 1))


def output_coords(
    size_out: int,
    centered: bool = True,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """Coordinates of the output grid itself along one axis.

    Args:
        size_out: Length of the output along this axis.
        centered: ``True`` maps the first index to -1 and the last to +1 (the ``"center"`` rule
            of transposed layers, and CoordConv's coordinates); ``False`` gives
            ``index / (size_out - 1)`` in ``[0, 1]`` (the ``"output"`` rule). ``size_out == 1``
            gives 0.
        dtype: float32 (default) or float64; other dtypes compute in float32.
        device: Device of the result.

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
    return divide(index, max(size_out - 1, 1))


def divide(numerator: Tensor, denominator: int) -> Tensor:
    """``numerator / denominator``, correctly rounded on every device.

    CUDA divides a tensor by a Python number as a product with the number's reciprocal, one
    rounding more, which moves many coordinates by one unit in the last place (measured on an
    H200, torch 2.11: float32 and float64 ramps of 1,000 points); a divisor on the tensor's own
    device takes the true division there. On the CPU both forms give the same bits.
    """
    return numerator / numerator.new_full([], denominator)


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


def layer_axes(
    g: Geometry, size_out: list[int], dtype: torch.dtype, device: torch.device
) -> list[Tensor]:
    """The per-axis coordinate vectors of a layer's output, vector ``i`` of shape
    ``(size_out[i],)``, in ``dtype`` (float32 or float64) on ``device``."""
    axes: list[Tensor] = []
    for i in range(len(size_out)):
        if g.coords == "output":
            axes.append(output_coords(size_out[i], False, dtype, device))
        elif g.transposed:
            axes.append(output_coords(size_out[i], True, dtype, device))
        else:
            axes.append(
                center_coords(
                    g.size_in[i],
                    size_out[i],
                    g.kernel[i],
                    g.stride[i],
                    g.pad_left[i],
                    g.dilation[i],
                    dtype,
                    device,
                )
            )
    return axes


def features(g: Geometry, size_out: list[int], dtype: torch.dtype, device: torch.device) -> Tensor:
    """The coordinate features of a layer's output as one ``(F, N)`` matrix.

    ``N = prod(size_out)`` output locations in row-major order; here ``F = D`` (the linear
    coordinates, row ``i`` varying along spatial dimension ``i``). The coordinate term of a layer
    is ``coord_weight (C, F) @ features (F, N)``.

    Example:
        >>> g = transposed_geometry("center", 2)
        >>> features(g, [2, 3], torch.float32, torch.device("cpu"))
        tensor([[-1., -1., -1.,  1.,  1.,  1.],
                [-1.,  0.,  1., -1.,  0.,  1.]])
    """
    grid = coordinate_grid(layer_axes(g, size_out, dtype, device))
    return grid.reshape(len(size_out), -1)


# --- the coordinate frame (coordbias.coordinate_frame) ------------------------------------------


class Frame(NamedTuple):
    """Where a model's input (a tile) lies in a larger image; built by ``coordinate_frame``.

    Attributes:
        origin: ``(G, D)`` float64, the image pixel of the tile's first pixel per spatial
            dimension; ``G`` is 1 (one place for the batch) or the batch size (one per sample).
        size: ``(G, D)`` float64, the image's size in pixels.
        tile: The tile's size in pixels (the spatial size of the model's input).
    """

    origin: Tensor
    size: Tensor
    tile: list[int]


#: The frame of the calling thread or async task, or ``None`` (then every layer sees the
#: coordinates of its own tensor). Set only by :func:`coordbias.layers.frame.coordinate_frame`;
#: the layers read it, once per call, as ``_coords.active`` (see :func:`__getattr__`).
FRAME: ContextVar[Frame | None] = ContextVar("coordbias_frame", default=None)


def __getattr__(name: str) -> object:
    """``_coords.active``: :data:`FRAME`'s value in the calling thread or async task.

    An attribute of the module rather than a call: ``torch.compile`` cannot trace
    ``ContextVar.get``, but it reads a module's attributes with ``getattr`` and re-reads them in
    its guards on every call, in the caller's thread and context. So a compiled model sees each
    caller's own frame, entering or leaving a frame selects its graph, and a new tile (whose
    origin is a tensor, a graph input) does not recompile.
    """
    if name == "active":
        return FRAME.get()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _place(frame: Frame, dim: int, n: int, dtype: torch.dtype, device) -> tuple[Tensor, Tensor]:
    # A grid of n pixels spanning the tile: at scale n / tile, it starts at origin * n / tile of
    # an image grid of size * n / tile pixels. Integer-valued for tiles aligned to the stride.
    tile = frame.tile[dim]
    origin = frame.origin[:, dim].to(device=device, dtype=dtype)
    size = frame.size[:, dim].to(device=device, dtype=dtype)
    return divide(origin * n, tile), divide(size * n, tile)


def framed_axes(
    g: Geometry, size_out: list[int], frame: Frame, dtype: torch.dtype, device: torch.device
) -> list[Tensor]:
    """:func:`layer_axes` inside a coordinate frame: vector ``i`` of shape ``(G, size_out[i])``.

    Each rule of :mod:`coordbias.layers.functional` is applied to the image the tile lies in:
    the layer's grid (its input grid for ``"center"`` on a convolution, its output grid
    otherwise) spans the tile, so at its resolution it starts at ``origin * n / tile`` of an
    image of ``size * n / tile`` pixels (``n`` the grid's length). The numerators stay integers
    for tiles aligned to the network's stride, so a tile's coordinates equal, bit for bit, those
    of the same locations in the whole image.

    Example:
        >>> frame = Frame(torch.tensor([[4.0]]), torch.tensor([[8.0]]), [4])
        >>> framed_axes(transposed_geometry("center", 1), [4], frame, torch.float32, None)[0]
        tensor([[0.1429, 0.4286, 0.7143, 1.0000]])
        >>> output_coords(8)[4:]
        tensor([0.1429, 0.4286, 0.7143, 1.0000])
    """
    if len(frame.tile) != len(size_out):
        raise ValueError(
            f"coordinate_frame has {len(frame.tile)} spatial dims (tile={frame.tile}), but a "
            f"layer's output has {len(size_out)} (spatial size {size_out})"
        )
    dtype = _coord_dtype(dtype)
    axes: list[Tensor] = []
    for i, n in enumerate(size_out):
        if g.coords == "output":
            offset, full = _place(frame, i, n, dtype, device)
            numerator = torch.arange(n, dtype=dtype, device=device) + offset[:, None]
        elif g.transposed:
            offset, full = _place(frame, i, n, dtype, device)
            index = torch.arange(1 - n, n, 2, dtype=dtype, device=device)  # 2o - (n - 1)
            numerator = index + (2 * offset + n - full)[:, None]
        else:
            offset, full = _place(frame, i, g.size_in[i], dtype, device)
            start = g.dilation[i] * (g.kernel[i] - 1) - 2 * g.pad_left[i]
            step = 2 * g.stride[i]
            centre = torch.arange(start, start + step * n, step, dtype=dtype, device=device)
            numerator = centre + (2 * offset - (full - 1))[:, None]
        axes.append(numerator / (full - 1).clamp_min(1)[:, None])
    return axes
