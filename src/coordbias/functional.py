"""Functional API of the coordinate-bias convolutions, and CoordConv's ``add_coords``.

Re-exports :mod:`coordbias.layers.functional` (whose docstring states the coordinate rule) and
:func:`coordbias.layers.addcoords.add_coords`.

Example:
    >>> import torch
    >>> from coordbias import functional as CF
    >>> x = torch.randn(2, 3, 8, 8)
    >>> y = CF.coord_bias_conv2d(x, torch.randn(4, 3, 3, 3), None, torch.zeros(4, 2), padding=1)
    >>> y.shape
    torch.Size([2, 4, 8, 8])
"""

from coordbias.layers import functional as _functional
from coordbias.layers.addcoords import add_coords
from coordbias.layers.functional import *  # noqa: F403 (the names of its __all__)

__all__ = [*_functional.__all__, "add_coords"]
