"""The old path of a module that moved: a module ``__getattr__`` that warns and loads the new home.

A deprecated module is three lines::

    from coordbias._util.deprecation import moved

    __getattr__ = moved(__name__, "coordbias.scheduler.launch")

``from OLD import name`` then warns (``DeprecationWarning``) and gives the new home's ``name``.
The new home is loaded by name (``importlib``) when a name is asked for, so the old path draws
no import arrow, and importing the old module alone (as ``pytest --doctest-modules`` does)
costs nothing. A name the new home lacks (``pytest_plugins``, a dunder) raises
``AttributeError`` without a warning, as for any module.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved"]


def moved(old: str, new: str, renamed: Mapping[str, str] | None = None) -> Callable[[str], Any]:
    """The ``__getattr__`` of the deprecated module ``old``, whose names live in ``new``.

    Args:
        old: the deprecated module's name (its ``__name__``).
        new: the module that holds its names now.
        renamed: old name -> its name in ``new``, for the names that changed too.
    """
    renamed = dict(renamed or {})

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        home = importlib.import_module(new)
        target = renamed.get(name, name)
        if not hasattr(home, target):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old}.{name} moved to {new}.{target}; the old path goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(home, target)

    return __getattr__
