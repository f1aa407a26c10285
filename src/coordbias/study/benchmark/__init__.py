"""Deprecated: the benchmark is :mod:`coordbias.benchmark`, a part beside the study.

``coordbias.study.benchmark.run_benchmark`` and the other names still work for one release,
with a ``DeprecationWarning``. The new home is loaded by name when a name is asked for, so the
study does not import the benchmark.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    benchmark = importlib.import_module("coordbias.benchmark")
    moved = name in benchmark.__all__ or (
        not name.startswith("_")
        and importlib.util.find_spec(f"coordbias.benchmark.{name}") is not None
    )
    if not moved:
        raise AttributeError(f"module 'coordbias.study.benchmark' has no attribute {name!r}")
    warnings.warn(
        f"coordbias.study.benchmark.{name} moved to coordbias.benchmark.{name}; "
        "the old path goes in the next release",
        DeprecationWarning,
        stacklevel=2,
    )
    if name in benchmark.__all__:
        return getattr(benchmark, name)
    return importlib.import_module(f"coordbias.benchmark.{name}")
