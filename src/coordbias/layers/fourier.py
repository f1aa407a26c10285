"""The Fourier coordinate bias: a convolution plus a learned Fourier series of the coordinates.

``FourierCoordBiasConv2d`` generalises the linear coordinate bias of
:class:`~coordbias.layers.coordbias.CoordBiasConv2d`. For every output filter ``f``::

    out[f] = conv(x)[f] + b_f + sum_j fourier_weight[f, j] * phi_j(Y, X)

where ``Y``, ``X`` are the normalised coordinates of the output locations (the coordinate rule of
:mod:`coordbias.layers.functional`, ``coords="center"`` or ``"output"``) and ``phi`` is, per axis,
the coordinate itself and ``sin``, ``cos`` of ``K`` frequencies:

    phi(c) = [c, sin(pi c), cos(pi c), sin(2 pi c), cos(2 pi c), ..., sin(K pi c), cos(K pi c)]

first for ``Y`` (the row coordinate), then for ``X``: ``2 + 4 K`` features, so ``fourier_weight``
has shape ``(out_channels, 2 + 4 K)``. ``K = 0`` is exactly the linear coordinate bias (the same
two columns, y then x, as ``coord_weight``); each further frequency adds a full period over the
image per axis. The basis lives on the normalised coordinates, so it is resolution-free: at
another input size the same function of position is sampled more or less densely.

Every feature varies along one axis only, so the term is a per-row part plus a per-column part,
``rows (C, H) + cols (C, W)``: two small matrix products and one broadcast add into the
convolution's output, in its own layout (channels-last outputs stay channels last). The term is
computed in float32 (float64 for float64 outputs) and rounded once to the output's dtype (half
precision, autocast). With ``fourier_weight`` zero the layer is :class:`torch.nn.Conv2d` bit for
bit (``coord_init="zeros"``).
"""

import math

import torch
from torch import Tensor, nn

from coordbias.layers._separable import (
    PositionConv2d,
    add_separable_map,
    init_position_weights,
    module_axes,
)

__all__ = ["FourierCoordBiasConv2d", "fourier_basis", "fourier_features"]


def fourier_features(frequencies: int) -> int:
    """Number of basis functions per axis: the coordinate, then ``sin`` and ``cos`` of each
    frequency.

    Args:
        frequencies: ``K``, the number of frequencies per axis (0 or more).

    Returns:
        ``1 + 2 K``.

    Example:
        >>> fourier_features(0), fourier_features(2)
        (1, 5)
    """
    return 1 + 2 * frequencies


def fourier_basis(coords: Tensor, frequencies: int) -> Tensor:
    """The Fourier basis of one axis: ``[c, sin(pi c), cos(pi c), ..., sin(K pi c), cos(K pi c)]``.

    Args:
        coords: Coordinates of shape ``(n,)`` (normalised, e.g. in ``[-1, 1]``).
        frequencies: ``K``, the number of frequencies (0 or more).

    Returns:
        ``(1 + 2 K, n)`` in ``coords``' dtype: row 0 is ``coords``, rows ``2k - 1`` and ``2k`` are
        ``sin(k pi c)`` and ``cos(k pi c)``.

    Example:
        >>> fourier_basis(torch.tensor([-1.0, 0.0, 1.0]), 1).round(decimals=4)
        tensor([[-1.,  0.,  1.],
                [ 0.,  0., -0.],
                [-1.,  1., -1.]])
    """
    k = torch.arange(1, frequencies + 1, dtype=coords.dtype, device=coords.device) * math.pi
    angles = k.unsqueeze(1) * coords.unsqueeze(0)  # (K, n)
    waves = torch.stack((angles.sin(), angles.cos()), 1).reshape(2 * frequencies, coords.shape[0])
    return torch.cat((coords.unsqueeze(0), waves), 0)


def _check_frequencies(layer: str, frequencies: object) -> None:
    if isinstance(frequencies, bool) or not isinstance(frequencies, int) or frequencies < 0:
        raise ValueError(
            f"{layer}: frequencies must be an int >= 0 (0: the linear coordinate bias; "
            f"1 to 4 are typical), got {frequencies!r}"
        )


class FourierCoordBiasConv2d(PositionConv2d):
    """:class:`torch.nn.Conv2d` plus ``fourier_weight (out_channels, 2 + 4 K)`` times a Fourier
    basis of the (y, x) output coordinates; see the module docstring for the formula.

    Takes ``nn.Conv2d``'s arguments in the same order, plus the keyword-only options
    (``**options``) ``frequencies``, ``coords`` and ``coord_init``.

    Other Parameters:
        frequencies (int): ``K``, frequencies per axis (default 2; 0 is the linear coordinate
            bias).
        coords (str): ``"center"`` (default) or ``"output"``, the coordinate rule of
            :mod:`coordbias.layers.functional`.
        coord_init (str): ``"uniform"`` (default; ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``,
            torch's bias bound) or ``"zeros"`` (the layer starts as exactly ``nn.Conv2d``).

    Shape:
        - Input: ``(B, C_in, H, W)`` or ``(C_in, H, W)``.
        - Output: ``(B, C_out, H_out, W_out)`` or ``(C_out, H_out, W_out)``, as ``nn.Conv2d``.

    Example:
        >>> layer = FourierCoordBiasConv2d(3, 8, 3, padding=1, frequencies=2)
        >>> layer.fourier_weight.shape
        torch.Size([8, 10])
        >>> layer(torch.randn(2, 3, 16, 24)).shape
        torch.Size([2, 8, 16, 24])
    """

    def _configure(
        self, *, frequencies: int = 2, coords: str = "center", coord_init: str = "uniform"
    ) -> None:
        _check_frequencies(type(self).__name__, frequencies)
        self.frequencies = frequencies
        self._set_coord_options(coords, coord_init)

    def _add_position(self, out_channels: int, factory: dict) -> None:
        features = 2 * fourier_features(self.frequencies)
        self.fourier_weight = nn.Parameter(torch.empty((out_channels, features), **factory))

    def _reset_position(self) -> None:
        self.reset_fourier_parameters()

    def reset_fourier_parameters(self) -> None:
        """Initialise ``fourier_weight``: zeros, or ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``."""
        init_position_weights([self.fourier_weight], self.weight, self.coord_init)

    def _add_term(self, input: Tensor, out: Tensor) -> Tensor:
        """The convolution's output ``out`` plus the Fourier coordinate term."""
        y, x = module_axes(self, self.coords, input, out)
        per_axis = fourier_features(self.frequencies)
        weight = self.fourier_weight.to(y.dtype)
        rows = weight[:, :per_axis] @ fourier_basis(y, self.frequencies)  # (C, H)
        cols = weight[:, per_axis:] @ fourier_basis(x, self.frequencies)  # (C, W)
        return add_separable_map(out, rows, cols)
