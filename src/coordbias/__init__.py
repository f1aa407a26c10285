"""coordbias: coordinate-aware convolutions for PyTorch.

The top-level package imports with torch and numpy alone; the data set, models, training and the
study live in sub-packages that need the ``study`` extra.
"""

from coordbias import functional
from coordbias._version import __version__
from coordbias.layers.addcoords import AddCoords
from coordbias.layers.convert import convert
from coordbias.layers.coordbias import (
    CoordBiasConv1d,
    CoordBiasConv2d,
    CoordBiasConv3d,
    CoordBiasConvTranspose1d,
    CoordBiasConvTranspose2d,
    CoordBiasConvTranspose3d,
)
from coordbias.layers.coordconv import CoordConv1d, CoordConv2d, CoordConv3d

__all__ = [
    "AddCoords",
    "CoordBiasConv1d",
    "CoordBiasConv2d",
    "CoordBiasConv3d",
    "CoordBiasConvTranspose1d",
    "CoordBiasConvTranspose2d",
    "CoordBiasConvTranspose3d",
    "CoordConv1d",
    "CoordConv2d",
    "CoordConv3d",
    "__version__",
    "convert",
    "functional",
]
