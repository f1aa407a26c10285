"""Small helpers shared by the open-question experiments: setting checks, seeding, threads.

The experiments' figures and Markdown come from the study's own modules; the names below stay
importable from here as well (``new_figure`` is :func:`coordbias.study.figures.subplots`,
``save_figure`` is :func:`coordbias.study.figures.save`, ``md_table``, ``fmt_sci`` and
``fmt_pct`` are :mod:`coordbias.study.markdown`'s).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from coordbias.study.figures import save as save_figure
from coordbias.study.figures import subplots as new_figure
from coordbias.study.markdown import fmt_pct, fmt_sci, md_table

__all__ = [
    "check_image_size",
    "check_out_dir",
    "check_positive",
    "check_positive_int",
    "choose_setting",
    "count_parameters",
    "fmt_pct",
    "fmt_sci",
    "md_table",
    "new_figure",
    "save_figure",
    "seeded",
    "torch_threads",
]


def check_out_dir(out_dir: Any) -> Path:
    """Return ``out_dir`` as a created :class:`~pathlib.Path`; raise TypeError for other types."""
    if not isinstance(out_dir, str | os.PathLike):
        raise TypeError(f"out_dir must be a str or os.PathLike, got {type(out_dir).__name__}")
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 1, else raise a ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value}")
    return value


def choose_setting(
    config: Any, quick: bool, seed: Any, quick_setting: Any, full_setting: Any
) -> Any:
    """The setting an experiment's ``run`` uses, checked: ``config``, else the quick or full one.

    Args:
        config: the caller's setting or None; must be of the quick setting's type.
        quick: choose ``quick_setting`` (else ``full_setting``) when ``config`` is None.
        seed: the run's seed, checked to be an int.
        quick_setting: the experiment's ``QUICK``.
        full_setting: the experiment's ``FULL``.

    Raises:
        TypeError: ``config`` of another type, or a ``seed`` that is not an int.
        ValueError: a field of the setting out of range (its ``validate``).
    """
    config = config or (quick_setting if quick else full_setting)
    kind = type(quick_setting).__name__
    if not isinstance(config, type(quick_setting)):
        raise TypeError(f"config must be a {kind}, got {type(config).__name__}")
    config.validate()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    return config


def check_positive(name: str, value: Any) -> None:
    """Raise a ValueError naming ``name`` unless ``value > 0``."""
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def check_image_size(value: int) -> None:
    """Raise a ValueError unless the image side ``value`` is divisible by 8 (the FCN pools 3x)."""
    if value % 8:
        raise ValueError(f"image_size must be divisible by 8, got {value}")


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's global RNG seeded, restoring the caller's RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads, restoring the caller's count afterwards.

    The experiments' networks are tiny: on a small shared CPU one thread is as fast as two and
    avoids the many-fold slow-down of oversubscribed threads.
    """
    check_positive_int("num_threads", n)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
