"""coordbias: coordinate-aware convolutions for PyTorch.

The top-level package imports with torch and numpy alone; the data set, models, training and the
study live in sub-packages that need the ``study`` extra.
"""

from coordbias._version import __version__

__all__ = ["__version__"]
