"""coordbias: coordinate-aware convolutions for PyTorch.

The top-level package imports with torch and numpy alone; the data set, models, training and the
study live in sub-packages that need the ``study`` extra.
"""

from coordbias import functional
from coordbias._version import __version__
from coordbias.layers import coordbias as _coordbias
from coordbias.layers.addcoords import AddCoords
from coordbias.layers.convert import convert
from coordbias.layers.coordbias import *  # noqa: F403 (the six coordinate-bias classes)
from coordbias.layers.coordconv import CoordConv1d, CoordConv2d, CoordConv3d
from coordbias.layers.coordgate import CoordGateConv2d
from coordbias.layers.fourier import FourierCoordBiasConv2d
from coordbias.layers.fourier_coordconv import FourierCoordConv2d
from coordbias.layers.position_map import PositionMapConv2d

__all__ = [
    "AddCoords",
    "CoordConv1d",
    "CoordConv2d",
    "CoordConv3d",
    "CoordGateConv2d",
    "FourierCoordBiasConv2d",
    "FourierCoordConv2d",
    "PositionMapConv2d",
    "__version__",
    "convert",
    "functional",
    *_coordbias.__all__,
]
