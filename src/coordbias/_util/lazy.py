"""A package's names imported on first use: the ``__getattr__`` its ``__init__`` sets.

A package whose public names need torch (or Lightning) keeps its light modules light by naming
each such name's module in a map and importing it only when the name is first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(namespace: dict[str, Any], homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each name of ``homes`` from its module on first use.

    Args:
        namespace: the package's ``globals()``; a name, once imported, is stored there, so the
            next read does not come back here.
        homes: each name and its module: a submodule of the package (``"config"``) or a full
            module name (``"coordbias.models.variants"``, any name with a dot).

    Example:
        >>> space = {"__name__": "coordbias._util"}
        >>> getattr_ = lazy_getattr(space, {"write_json": "files"})
        >>> getattr_("write_json").__name__, "write_json" in space
        ('write_json', True)
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        home = homes[name]
        module = importlib.import_module(home if "." in home else f"{package}.{home}")
        value = namespace[name] = getattr(module, name)
        return value

    return __getattr__
