"""coordbias.layers."""

from coordbias.layers.addcoords import AddCoords as AddCoords
from coordbias.layers.addcoords import add_coords as add_coords
from coordbias.layers.coordconv import CoordConv1d as CoordConv1d
from coordbias.layers.coordconv import CoordConv2d as CoordConv2d
from coordbias.layers.coordconv import CoordConv3d as CoordConv3d
