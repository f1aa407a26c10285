"""A learned absolute position map: a convolution plus a learned per-channel row and column map.

``PositionMapConv2d`` adds to :class:`torch.nn.Conv2d`'s output, for every output filter ``f``,
a learned value per output row and one per output column::

    out[f, h, w] = conv(x)[f, h, w] + row_map[f, h'] + col_map[f, w']

the factorised form of the "learned position embedding" of DETR-style models and of untied
biases: ``C * (H + W)`` parameters for a ``(C, H, W)`` output instead of ``C * H * W``. The maps
are sized at construction (``map_size``: the output size the layer is trained at); at another
output size each map is resized by linear interpolation along its axis with the first and last
entries kept at the first and last output row (column), as the coordinate rule of
:mod:`coordbias.layers.functional` places -1 and +1 (``align_corners=True``). At the map's own
size the interpolation is the identity, exactly. Unlike the coordinate layers the map is
resolution-bound: what it learnt is tied to the pixels of its training size, and at another size
it is stretched rather than re-sampled from a function of position.

The term is formed in the maps' dtype (float32 for a half-precision output: rounded once) and
added in the output's layout. With zero maps (``coord_init="zeros"``) the layer is
:class:`torch.nn.Conv2d` bit for bit.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from coordbias.layers._separable import (
    PositionConv2d,
    add_separable_map,
    init_position_weights,
)

__all__ = ["PositionMapConv2d", "resize_map"]


def resize_map(values: Tensor, size: int) -> Tensor:
    """Resize ``(C, n)`` per-channel values to ``(C, size)`` by linear interpolation.

    The first and last entries stay first and last (``align_corners=True``); ``size == n``
    returns the values unchanged, and ``n == 1`` broadcasts the one value.

    Args:
        values: ``(C, n)``.
        size: The new length.

    Returns:
        ``(C, size)`` in ``values``' dtype.

    Example:
        >>> resize_map(torch.tensor([[0.0, 1.0]]), 5)
        tensor([[0.0000, 0.2500, 0.5000, 0.7500, 1.0000]])
    """
    return F.interpolate(values.unsqueeze(0), size=size, mode="linear", align_corners=True)[0]


def _map_size(layer: str, map_size: object) -> tuple[int, int]:
    sizes = (map_size, map_size) if isinstance(map_size, int) else map_size
    if (
        not isinstance(sizes, (tuple, list))
        or len(sizes) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes)
    ):
        raise ValueError(
            f"{layer}: map_size must be a positive int or two positive ints (H, W): the output "
            f"size the maps are learnt at; got {map_size!r}"
        )
    return int(sizes[0]), int(sizes[1])


class PositionMapConv2d(PositionConv2d):
    """:class:`torch.nn.Conv2d` plus a learned ``row_map (C, H)`` and ``col_map (C, W)``; see
    the module docstring.

    Takes ``nn.Conv2d``'s arguments in the same order, plus the keyword-only options
    (``**options``) ``map_size`` (required) and ``coord_init``.

    Other Parameters:
        map_size (int | tuple[int, int]): ``(H, W)`` or one int for both: the output size the
            maps hold a value per row and column for (the layer's output size at its training
            resolution).
        coord_init (str): ``"uniform"`` (default; ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` per
            entry, torch's bias bound) or ``"zeros"`` (the layer starts as exactly
            ``nn.Conv2d``).

    Shape:
        - Input: ``(B, C_in, H_in, W_in)`` or ``(C_in, H_in, W_in)``.
        - Output: ``(B, C_out, H_out, W_out)`` or ``(C_out, H_out, W_out)``, as ``nn.Conv2d``.

    Example:
        >>> layer = PositionMapConv2d(3, 8, 3, padding=1, map_size=(16, 24))
        >>> layer.row_map.shape, layer.col_map.shape
        (torch.Size([8, 16]), torch.Size([8, 24]))
        >>> layer(torch.randn(2, 3, 32, 48)).shape  # another size: the maps are interpolated
        torch.Size([2, 8, 32, 48])
    """

    def _configure(
        self, *, map_size: int | tuple[int, int] | None = None, coord_init: str = "uniform"
    ) -> None:
        self.map_size = _map_size(type(self).__name__, map_size)
        self._set_coord_options(None, coord_init)

    def _add_position(self, out_channels: int, factory: dict) -> None:
        height, width = self.map_size
        self.row_map = nn.Parameter(torch.empty((out_channels, height), **factory))
        self.col_map = nn.Parameter(torch.empty((out_channels, width), **factory))

    def _reset_position(self) -> None:
        self.reset_map_parameters()

    def reset_map_parameters(self) -> None:
        """Initialise both maps: zeros, or ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` per entry."""
        init_position_weights([self.row_map, self.col_map], self.weight, self.coord_init)

    def _add_term(self, input: Tensor, out: Tensor) -> Tensor:
        """The convolution's output ``out`` plus the (resized) row and column maps."""
        rows, cols = self.row_map, self.col_map
        if rows.dtype in (torch.float16, torch.bfloat16):
            rows, cols = rows.float(), cols.float()
        rows = resize_map(rows, out.shape[-2])
        cols = resize_map(cols, out.shape[-1])
        return add_separable_map(out, rows, cols)
