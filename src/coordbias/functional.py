"""Functional API of the coordinate-bias convolutions, and CoordConv's ``add_coords``.

Re-exports :mod:`coordbias.layers.functional` and :func:`coordbias.layers.addcoords.add_coords`.

Example:
    >>> import torch
    >>> from coordbias import functional as CF
    >>> x = torch.randn(2, 3, 8, 8)
    >>> y = CF.coord_bias_conv2d(x, torch.randn(4, 3, 3, 3), None, torch.zeros(4, 2), padding=1)
    >>> y.shape
    torch.Size([2, 4, 8, 8])
"""

from coordbias.layers.addcoords import add_coords
from coordbias.layers.functional import (
    COORDS,
    center_coords,
    coord_bias,
    coord_bias_conv1d,
    coord_bias_conv2d,
    coord_bias_conv3d,
    coord_bias_conv_transpose1d,
    coord_bias_conv_transpose2d,
    coord_bias_conv_transpose3d,
    coordinate_grid,
    output_coords,
)

__all__ = [
    "COORDS",
    "add_coords",
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
