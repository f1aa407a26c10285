"""Deprecated: moved to :mod:`coordbias.scheduler.launch`.

Its names still work from here for one release, with a ``DeprecationWarning``.
"""

from coordbias._util.deprecation import moved

__getattr__ = moved(__name__, "coordbias.scheduler.launch")
