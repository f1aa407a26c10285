"""Small helpers shared by the open-question experiments: atomic figure output, tables, seeding."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from coordbias._util.files import write_bytes


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


def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure to ``path`` (PNG) atomically, then close it.

    The figure is rendered into a temporary file in the same folder and moved into place with
    :func:`os.replace`, so a reader never sees a half-written image.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    write_bytes(path, buffer.getvalue())


def new_figure(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``plt.subplots`` on the headless Agg backend (never opens a window)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table.

    Example:
        >>> print(md_table(["a", "b"], [[1, "x"]]))
        | a | b |
        |---|---|
        | 1 | x |
    """
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


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
