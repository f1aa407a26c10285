"""Deprecated: moved to :mod:`coordbias.training.notsoclevr`.

Its names still work from here for one release, with a ``DeprecationWarning``.
"""

from coordbias._util.deprecation import moved

__getattr__ = moved(
    __name__, "coordbias.training.notsoclevr", {"build_model": "build_notsoclevr_model"}
)
