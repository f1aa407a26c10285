"""CoordGate (Howard, Norreys and Döpp 2024, arXiv 2401.04680): a convolution gated by position.

``CoordGateConv2d`` multiplies :class:`torch.nn.Conv2d`'s output, channel by channel, by a gate
computed from the coordinates of each output location by a tiny MLP (a 1 x 1 convolution on the
coordinate maps, ReLU, a 1 x 1 convolution to one value per output channel)::

    out[f, h, w] = conv(x)[f, h, w] * 2 sigmoid(mlp(Y[h], X[w])[f])

``Y``, ``X`` are the normalised output coordinates of the coordinate rule of
:mod:`coordbias.layers.functional` (``coords="center"`` or ``"output"``), built from
``torch.arange`` for whatever size comes in: the gate is a function of position, not a stored map,
so the layer runs at any resolution (the published code fixes the size with a ``linspace`` buffer).
Where the paper's gate is a ReLU of a linear encoding (non-negative, unbounded, and zero for a part
of the units at initialisation), this one is ``2 sigmoid``: positive, bounded by 2, and exactly 1
where the MLP's output is 0, so a zero last layer (``coord_init="zeros"``) makes the layer
:class:`torch.nn.Conv2d` bit for bit. The gate is the same for every sample: it is computed once
per call, ``(H * W, 2) -> (H * W, hidden) -> (H * W, C)``, and broadcast over the batch, in the
output's memory layout. The MLP has ``3 * hidden + (hidden + 1) * out_channels`` parameters.
"""

import torch
from torch import Tensor, nn

from coordbias.layers._coords import coordinate_grid
from coordbias.layers._separable import (
    PositionConv2d,
    channels_last,
    module_axes,
)

__all__ = ["CoordGateConv2d"]


class CoordGateConv2d(PositionConv2d):
    """:class:`torch.nn.Conv2d` times a per-channel gate of the (y, x) output coordinates; see the
    module docstring.

    Takes ``nn.Conv2d``'s arguments in the same order, plus the keyword-only options
    (``**options``) ``hidden``, ``coords`` and ``coord_init``. The MLP is ``gate``
    (``nn.Sequential(Linear(2, hidden), ReLU, Linear(hidden, out_channels))``, applied at every
    location: a pair of 1 x 1 convolutions).

    Other Parameters:
        hidden (int): Width of the MLP's hidden layer (default 16).
        coords (str): ``"center"`` (default) or ``"output"``, the coordinate rule of
            :mod:`coordbias.layers.functional`.
        coord_init (str): ``"uniform"`` (default: torch's ``nn.Linear`` initialisation of both
            layers) or ``"zeros"`` (the last layer zero: every gate is 1, the layer is
            ``nn.Conv2d``).

    Shape:
        - Input: ``(B, C_in, H, W)`` or ``(C_in, H, W)``.
        - Output: ``(B, C_out, H_out, W_out)`` or ``(C_out, H_out, W_out)``, as ``nn.Conv2d``.

    Example:
        >>> layer = CoordGateConv2d(3, 8, 3, padding=1, hidden=4)
        >>> sum(p.numel() for p in layer.gate.parameters())  # 3 * 4 + 5 * 8
        52
        >>> layer(torch.randn(2, 3, 16, 24)).shape
        torch.Size([2, 8, 16, 24])
    """

    def _configure(
        self, *, hidden: int = 16, coords: str = "center", coord_init: str = "uniform"
    ) -> None:
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(
                f"{type(self).__name__}: hidden must be a positive int, got {hidden!r}"
            )
        self.hidden = hidden
        self._set_coord_options(coords, coord_init)

    def _add_position(self, out_channels: int, factory: dict) -> None:
        hidden = self.hidden
        self.gate = nn.Sequential(
            nn.Linear(2, hidden, **factory), nn.ReLU(), nn.Linear(hidden, out_channels, **factory)
        )

    def _reset_position(self) -> None:
        self.reset_gate_parameters()

    def reset_gate_parameters(self) -> None:
        """Initialise the MLP as ``nn.Linear`` does; with ``"zeros"`` its last layer is zero."""
        for layer in (self.gate[0], self.gate[2]):
            layer.reset_parameters()
        if self.coord_init == "zeros":
            with torch.no_grad():
                self.gate[2].weight.zero_()
                self.gate[2].bias.zero_()

    def gate_map(self, y: Tensor, x: Tensor, channels_last: bool = False) -> Tensor:
        """The gate ``2 sigmoid(mlp(Y, X))`` at the coordinates ``y (H,)`` and ``x (W,)``.

        Args:
            y: Row coordinates ``(H,)``.
            x: Column coordinates ``(W,)``.
            channels_last: Lay the result out channels last (a permuted ``(H, W, C)`` tensor).

        Returns:
            ``(C, H, W)`` in the MLP's dtype (autocast's under autocast).
        """
        height, width = y.shape[0], x.shape[0]
        points = coordinate_grid([y, x]).reshape(2, height * width).t()  # (N, 2)
        weight = self.gate[0].weight
        if points.dtype != weight.dtype:
            points = points.to(weight.dtype)
        gate = 2.0 * torch.sigmoid(self.gate(points))  # (N, C)
        if channels_last:
            return gate.reshape(height, width, -1).permute(2, 0, 1)
        return gate.t().reshape(-1, height, width)

    def _add_term(self, input: Tensor, out: Tensor) -> Tensor:
        """The convolution's output ``out`` times the coordinate gate."""
        y, x = module_axes(self, self.coords, input, out)
        gate = self.gate_map(y, x, channels_last(out))
        if gate.dtype != out.dtype:
            gate = gate.to(out.dtype)
        return out * gate
