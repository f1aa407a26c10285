"""coordbias.layers: coordinate-aware convolutions (coordinate bias and CoordConv), and more ways
to give a convolution position (the Fourier coordinate bias, a learned position map, CoordGate,
Fourier-feature CoordConv).

The option lists ``COORDS`` (values of ``coords``) and ``COORD_INITS`` (values of ``coord_init``)
are exported here; they are written once in ``coordbias._names``, which imports nothing, so that
the command line reads them without torch.
"""

from coordbias.layers import functional as functional
from coordbias.layers._coords import COORDS as COORDS
from coordbias.layers.addcoords import AddCoords as AddCoords
from coordbias.layers.addcoords import add_coords as add_coords
from coordbias.layers.convert import convert as convert
from coordbias.layers.coordbias import COORD_INITS as COORD_INITS
from coordbias.layers.coordbias import CoordBiasConv1d as CoordBiasConv1d
from coordbias.layers.coordbias import CoordBiasConv2d as CoordBiasConv2d
from coordbias.layers.coordbias import CoordBiasConv3d as CoordBiasConv3d
from coordbias.layers.coordbias import CoordBiasConvTranspose1d as CoordBiasConvTranspose1d
from coordbias.layers.coordbias import CoordBiasConvTranspose2d as CoordBiasConvTranspose2d
from coordbias.layers.coordbias import CoordBiasConvTranspose3d as CoordBiasConvTranspose3d
from coordbias.layers.coordconv import CoordConv1d as CoordConv1d
from coordbias.layers.coordconv import CoordConv2d as CoordConv2d
from coordbias.layers.coordconv import CoordConv3d as CoordConv3d
from coordbias.layers.coordconv import CoordConvTranspose1d as CoordConvTranspose1d
from coordbias.layers.coordconv import CoordConvTranspose2d as CoordConvTranspose2d
from coordbias.layers.coordconv import CoordConvTranspose3d as CoordConvTranspose3d
from coordbias.layers.coordgate import CoordGateConv2d as CoordGateConv2d
from coordbias.layers.fourier import FourierCoordBiasConv2d as FourierCoordBiasConv2d
from coordbias.layers.fourier import fourier_basis as fourier_basis
from coordbias.layers.fourier_coordconv import FourierCoordConv2d as FourierCoordConv2d
from coordbias.layers.frame import coordinate_frame as coordinate_frame
from coordbias.layers.position_map import PositionMapConv2d as PositionMapConv2d
