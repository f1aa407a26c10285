"""coordbias: coordinate-aware convolutions for PyTorch.

The top-level package gives the layers with torch and numpy alone; the data set, models, training
and the study live in sub-packages that need the ``study`` extra.

The layers are imported on first use (``coordbias.CoordBiasConv2d``, ``from coordbias import
CoordBiasConv2d``), not by ``import coordbias``: every module of the package is below this one,
so the command line (``coordbias --help``) would otherwise pay for torch before it parses a word.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from coordbias._version import __version__

if TYPE_CHECKING:  # imported on first use (below); named here for type checkers and the API docs
    from coordbias import functional as functional
    from coordbias.layers.addcoords import AddCoords as AddCoords
    from coordbias.layers.convert import convert as convert
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
    from coordbias.layers.fourier_coordconv import FourierCoordConv2d as FourierCoordConv2d
    from coordbias.layers.frame import coordinate_frame as coordinate_frame
    from coordbias.layers.position_map import PositionMapConv2d as PositionMapConv2d

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
    "CoordConvTranspose1d",
    "CoordConvTranspose2d",
    "CoordConvTranspose3d",
    "CoordGateConv2d",
    "FourierCoordBiasConv2d",
    "FourierCoordConv2d",
    "PositionMapConv2d",
    "__version__",
    "convert",
    "coordinate_frame",
    "functional",
]

#: The names this package gives from :mod:`coordbias.layers`, imported on first use.
_LAYER_NAMES = frozenset(__all__) - {"__version__", "functional"}


def __getattr__(name: str) -> Any:
    if name in _LAYER_NAMES:
        value = getattr(importlib.import_module("coordbias.layers"), name)
    elif name == "functional":
        value = importlib.import_module("coordbias.functional")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # the next access does not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
