"""Deprecated: the speed measurements are :mod:`coordbias.speed`.

``coordbias.bench.layers`` and the other modules still work for one release, with a
``DeprecationWarning``; the new home is loaded by name when a name is asked for.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

#: The modules that moved (``coordbias.bench.NAME`` -> ``coordbias.speed.NAME``).
_MOVED = frozenset({"data", "layers", "train"})


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module 'coordbias.bench' has no attribute {name!r}")
    warnings.warn(
        f"coordbias.bench.{name} moved to coordbias.speed.{name}; "
        "the old path goes in the next release",
        DeprecationWarning,
        stacklevel=2,
    )
    return importlib.import_module(f"coordbias.speed.{name}")
