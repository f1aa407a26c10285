"""A PNG grid of samples and their labels in the original's colours (matplotlib, Agg)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from coordbias._util.errors import UserFileNotFoundError, UserValueError, check_file_destination
from coordbias._util.files import write_bytes
from coordbias.data.config import CirclesConfig, class_colors, split_id
from coordbias.data.generate import generate_batch

__all__ = ["colorize", "save_grid"]


def colorize(mask: torch.Tensor | np.ndarray) -> np.ndarray:
    """Class indices to RGB with :func:`class_colors` (0 black, 1 yellow, 2 blue, 3 red, ...).

    Args:
        mask: integer ``(H, W)`` (or any shape) of class indices.

    Returns:
        float32 ``(*mask.shape, 3)`` in [0, 1]; classes past 3 cycle through extra colours.

    Example:
        >>> colorize(np.array([[0, 2]])).tolist()
        [[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]
    """
    mask = np.asarray(mask)
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"mask values must lie in [0, 255], got [{mask.min()}, {mask.max()}]")
    palette = np.array(class_colors(256), dtype=np.float32)
    return palette[mask.astype(np.int64)]


def save_grid(
    out: str | os.PathLike[str],
    config: CirclesConfig | None = None,
    *,
    count: int = 8,
    seed: int = 0,
    split: str = "train",
    dpi: int = 100,
) -> Path:
    """Write a PNG with ``count`` samples: images on the top row, labels below.

    Args:
        out: PNG path to write (atomically), ending in ``.png``; its folder must exist.
            Checked before the samples are drawn.
        config: data set settings (defaults: the original's).
        count: samples to show, 1 to 64 (samples 0..count-1 of ``split``).
        seed: data set seed.
        split: ``"train"``, ``"val"`` or ``"test"``.
        dpi: resolution of the figure.

    Returns:
        The path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    config = CirclesConfig() if config is None else config
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
        raise UserValueError(f"count must be an int in [1, 64], got {count!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserValueError(f"seed must be a non-negative int, got {seed!r}")
    split_id(split)
    out = Path(out)
    check_file_destination(out, "out")
    if out.suffix.lower() != ".png":
        raise UserValueError(
            f"out={str(out)!r} does not end in .png; the grid is written as a PNG image, so name "
            "it NAME.png"
        )
    if not out.parent.is_dir():
        raise UserFileNotFoundError(f"folder {out.parent} of out does not exist")
    images, masks, _ = generate_batch(config, seed, split, list(range(count)))

    size = config.image_size
    fig = Figure(figsize=(1.8 * count + 1.2, 4.0), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, count, squeeze=False)
    for i in range(count):
        axes[0, i].imshow(images[i].permute(1, 2, 0).numpy(), interpolation="nearest")
        axes[1, i].imshow(colorize(masks[i]), interpolation="nearest")
        axes[0, i].set_title(f"#{i}", fontsize=8)
        for row in range(2):
            ax = axes[row, i]
            ax.set_xticks([0, size // 2, size - 1])
            ax.set_yticks([0, size // 2, size - 1])
            ax.tick_params(labelsize=6)
    axes[0, 0].set_ylabel("input image", fontsize=9)
    axes[1, 0].set_ylabel("label", fontsize=9)
    fig.suptitle(
        f"circles data set: split {split}, seed {seed}, {size} px  "
        "(labels: 0 black, 1 yellow right, 2 blue = yellow left, 3 red bottom)",
        fontsize=9,
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_bytes(out, buffer.getvalue())
    return out
