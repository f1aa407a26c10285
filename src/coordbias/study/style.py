"""The study's figure style: its resolution, and cropping to the content.

The report's figures (``coordbias.study.figures``) and the open-question experiments' draw
through :func:`subplots` and :func:`save`, made by the project's one figure helper
(:func:`coordbias.training.figures.new_figure`, :func:`~coordbias.training.figures.save_figure`).
It imports nothing else of the study, so the experiments can use it without reaching back up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coordbias.training.figures import new_figure, save_figure

__all__ = ["DPI", "save", "subplots"]

#: Resolution of the study's figures (the report's and the experiments').
DPI = 110


def subplots(
    *args: Any, figsize: tuple[float, float] = (6.4, 4.8), **kwargs: Any
) -> tuple[Any, Any]:
    """A new figure at the study's resolution and its axes: ``Figure.subplots(*args, **kwargs)``.

    Args:
        *args: ``nrows, ncols``.
        figsize: size in inches (matplotlib's default 6.4 x 4.8).
        **kwargs: the other arguments of ``Figure.subplots`` (``sharey``, ``squeeze``...).

    Returns:
        ``(figure, axes)``, like ``matplotlib.pyplot.subplots`` but with no global figure state.
    """
    fig = new_figure(figsize, dpi=DPI)
    return fig, fig.subplots(*args, **kwargs)


def save(fig: Any, path: str | Path) -> Path:
    """Write a study figure atomically, cropped to its content (``bbox_inches="tight"``)."""
    return save_figure(fig, path, tight=True)
