"""Numbers into Markdown: the project's one table writer and its number formats.

The study's report, its experiments' sections and the benchmark's table all write with these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["figure_link", "fmt_pct", "fmt_sci", "md_table"]


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; cells are written with ``str``.

    Example:
        >>> print(md_table(["a", "b"], [[1, "x"]]))
        | a | b |
        |---|---|
        | 1 | x |
    """
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def figure_link(fig_dir_rel: str, name: str) -> str:
    """The path by which a report links figure ``name``: under ``fig_dir_rel``, the figure's folder
    relative to the report (``""``: the report's own folder).

    Example:
        >>> figure_link("experiments/speed/", "speed.png"), figure_link("", "speed.png")
        ('experiments/speed/speed.png', 'speed.png')
    """
    return f"{fig_dir_rel.rstrip('/')}/{name}" if fig_dir_rel else name


def fmt_sci(value: float) -> str:
    """Format a magnitude compactly: ``0`` stays ``0``, else 3 significant digits.

    Example:
        >>> fmt_sci(0.0), fmt_sci(1.234e-9), fmt_sci(0.5)
        ('0', '1.23e-09', '0.5')
    """
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.2e}"


def fmt_pct(value: float) -> str:
    """Format a fraction in [0, 1] as a percentage with one decimal.

    Example:
        >>> fmt_pct(0.8567)
        '85.7%'
    """
    return f"{100.0 * value:.1f}%"
