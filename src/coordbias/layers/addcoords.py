"""AddCoords (Liu et al. 2018): coordinate channels concatenated to a tensor.

One channel is added per spatial dim in torch's order: for a 2-D input ``(B, C, H, W)`` first the
row (height) coordinate, then the column (width) coordinate. Each follows the output-grid rule of
:mod:`coordbias.layers.functional` (that of the transposed coordinate-bias layers): -1 at the
first index, +1 at the last, 0 in the middle, and 0 (not NaN) for a side of length 1. With
``with_r=True`` one more channel holds the distance from the centre,

    r = sqrt(c_0^2 + ... + c_{d-1}^2) / sqrt(d),

so r is 0 at the centre and 1 in the corners. The coordinates are built from ``torch.arange`` on
the input's device, computed in float32 (float64 for float64 inputs) and cast to the input's
dtype, so they stay exact under float16 and bfloat16 and export to ONNX.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from coordbias.layers import _coords
from coordbias.layers._coords import coordinate_grid, output_coords
from coordbias.layers.frame import current_frame, refuse_export

__all__ = ["AddCoords", "add_coords", "coord_channels"]


def coord_channels(spatial_dims: int, with_r: bool = False) -> int:
    """Number of channels :func:`add_coords` appends (per group).

    Args:
        spatial_dims: Number of spatial dims ``d`` (1, 2 or 3).
        with_r: Whether the radius channel is added.

    Returns:
        ``d + 1`` with the radius channel, else ``d``.

    Example:
        >>> coord_channels(2), coord_channels(3, with_r=True)
        (2, 4)
    """
    return spatial_dims + int(with_r)


def _check_spatial_dims(spatial_dims: int) -> None:
    if isinstance(spatial_dims, bool) or not isinstance(spatial_dims, int):
        raise TypeError(f"spatial_dims must be an int in (1, 2, 3), got {spatial_dims!r}")
    if spatial_dims not in (1, 2, 3):
        raise ValueError(f"spatial_dims must be 1, 2 or 3, got {spatial_dims}")


def _coordinate_grid(
    shape: list[int], with_r: bool, device: torch.device, dtype: torch.dtype
) -> Tensor:
    """Coordinate channels, for one sample or, inside a per-sample coordinate frame, for each.

    Args:
        shape: Spatial sizes ``[S_0, ..., S_{d-1}]``.
        with_r: Whether the radius channel is appended.
        device: Device of the result.
        dtype: Dtype of the result.

    Returns:
        Tensor of shape ``(G, d (+1), S_0, ..., S_{d-1})``: ``G = 1``, or inside a coordinate
        frame with one origin per sample, the batch size.
    """
    d = len(shape)
    work = torch.float64 if dtype == torch.float64 else torch.float32
    grid = torch.empty(0)
    framed = False
    if not torch.jit.is_scripting():
        framed_grid = _framed_grid(shape, work, device)
        if framed_grid is not None:
            grid, framed = framed_grid, True
    if not framed:
        grid = coordinate_grid([output_coords(n, True, work, device) for n in shape]).unsqueeze(0)
    if with_r:
        r = torch.sqrt(torch.sum(grid * grid, dim=1, keepdim=True)) / math.sqrt(d)
        grid = torch.cat([grid, r], 1)
    return grid.to(dtype)


@torch.jit.unused
def _framed_grid(shape: list[int], dtype: torch.dtype, device: torch.device) -> Tensor | None:
    # Inside coordbias.coordinate_frame: the input grid's coordinates in the image, (G, d, *shape).
    frame = current_frame()
    if frame is None:
        return None
    refuse_export()
    geometry = _coords.transposed_geometry("center", len(shape))  # the grid's own positions
    axes = _coords.framed_axes(geometry, shape, frame, dtype, device)
    rows = axes[0].shape[0]
    planes: list[Tensor] = []
    for i, axis in enumerate(axes):
        view = [rows] + [1] * len(shape)
        view[1 + i] = shape[i]
        planes.append(axis.reshape(view).expand([rows] + shape))  # noqa: RUF005
    return torch.stack(planes, 1)


def _check_batch(grid: Tensor, batch: int) -> None:
    rows = grid.shape[0]
    if rows != 1 and rows != batch:
        raise ValueError(
            f"coordinate_frame has {rows} per-sample origins, but the input has batch size "
            f"{batch}; give one origin per sample, or D numbers for the whole batch"
        )


def add_coords(
    x: Tensor,
    with_r: bool = False,
    *,
    spatial_dims: int | None = None,
    groups: int = 1,
) -> Tensor:
    """Concatenate coordinate channels in [-1, 1] (and optionally r in [0, 1]) to ``x``.

    See the module docstring for the formulas and the channel order.

    Args:
        x: Floating tensor ``(B, C, *spatial)`` with 1 to 3 spatial dims, or unbatched
            ``(C, *spatial)`` when ``spatial_dims`` is given.
        with_r: Also append the distance from the centre, normalised to [0, 1].
        spatial_dims: Number of spatial dims ``d``. ``None`` reads it as ``x.dim() - 2``
            (batched input); give it to accept unbatched inputs too.
        groups: Split the ``C`` channels into this many equal groups and append the coordinate
            channels after each group (what a grouped CoordConv needs); 1 appends them once.

    Returns:
        Tensor ``(B, C + groups * k, *spatial)`` (or unbatched ``(C + groups * k, *spatial)``),
        ``k = d (+1 with r)``, on ``x``'s device and in ``x``'s dtype.

    Raises:
        TypeError: ``x`` is not a floating-point tensor.
        ValueError: Wrong rank, or ``C`` not divisible by ``groups``.

    Example:
        >>> out = add_coords(torch.zeros(2, 3, 4, 5))
        >>> out.shape
        torch.Size([2, 5, 4, 5])
        >>> out[0, 3, :, 0].tolist()  # the row coordinate runs down the height
        [-1.0, -0.3333333432674408, 0.3333333432674408, 1.0]
        >>> out[0, 4, 0].tolist()  # the column coordinate runs along the width
        [-1.0, -0.5, 0.0, 0.5, 1.0]
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not isinstance(with_r, bool):
        raise TypeError(f"with_r must be a bool, got {with_r!r}")
    if spatial_dims is not None:
        _check_spatial_dims(spatial_dims)
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"groups must be a positive int, got {groups!r}")
    return _add_coords(x, with_r, spatial_dims, groups)


def _add_coords(x: Tensor, with_r: bool, spatial_dims: int | None, groups: int) -> Tensor:
    """:func:`add_coords` without the Python-only argument checks (TorchScript compiles it)."""
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if spatial_dims is None:
        d = x.dim() - 2
        if d < 1 or d > 3:
            raise ValueError(
                f"x must have shape (B, C, *spatial) with 1 to 3 spatial dims, got shape "
                f"{list(x.shape)}; pass spatial_dims= for an unbatched input"
            )
        batched = True
    else:
        d = spatial_dims
        if x.dim() != d + 1 and x.dim() != d + 2:
            raise ValueError(
                f"x must have shape (B, C, *spatial) or (C, *spatial) with {d} spatial dims, "
                f"i.e. {d + 2} or {d + 1} dims, got shape {list(x.shape)}"
            )
        batched = x.dim() == d + 2
    if groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups}")
    if not batched:
        x = x.unsqueeze(0)
    b = x.shape[0]
    c = x.shape[1]
    if c % groups != 0:
        raise ValueError(f"the {c} channels of x are not divisible by groups={groups}")
    # TorchScript has no starred list literals, hence the list concatenations (RUF005) below.
    spatial = list(x.shape[2:])
    grid = _coordinate_grid(spatial, with_r, x.device, x.dtype)
    _check_batch(grid, b)
    k = grid.shape[1]
    if groups == 1:
        out = torch.cat([x, grid.expand([b, k] + spatial)], 1)  # noqa: RUF005
    else:
        xg = x.reshape([b, groups, c // groups] + spatial)  # noqa: RUF005
        coords = grid.unsqueeze(1).expand([b, groups, k] + spatial)  # noqa: RUF005
        out = torch.cat([xg, coords], 2).reshape([b, c + groups * k] + spatial)  # noqa: RUF005
    if not batched:
        out = out.squeeze(0)
    return out


class AddCoords(nn.Module):
    """Module form of :func:`add_coords` (no parameters).

    Args:
        with_r: Also append the distance from the centre, normalised to [0, 1].
        spatial_dims: Number of spatial dims; ``None`` accepts any batched input
            ``(B, C, *spatial)`` with 1 to 3 spatial dims, an int also accepts unbatched input.

    Shape:
        - Input: ``(B, C, *spatial)`` or ``(C, *spatial)``.
        - Output: ``(B, C + d (+1), *spatial)`` or ``(C + d (+1), *spatial)``.

    Example:
        >>> AddCoords(with_r=True)(torch.zeros(1, 3, 8, 8)).shape
        torch.Size([1, 6, 8, 8])
    """

    def __init__(self, with_r: bool = False, spatial_dims: int | None = None) -> None:
        super().__init__()
        if not isinstance(with_r, bool):
            raise TypeError(f"with_r must be a bool, got {with_r!r}")
        if spatial_dims is not None:
            _check_spatial_dims(spatial_dims)
        self.with_r = with_r
        self.spatial_dims = spatial_dims

    def forward(self, x: Tensor) -> Tensor:
        """Append the coordinate channels; see :func:`add_coords`."""
        return _add_coords(x, self.with_r, self.spatial_dims, 1)

    def extra_repr(self) -> str:
        return f"with_r={self.with_r}, spatial_dims={self.spatial_dims}"
