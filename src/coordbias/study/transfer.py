"""Resolution transfer: evaluate a run trained at one image size on images of another size.

The FCN is fully convolutional, so a network trained at 64 px runs unchanged at 96 or 128 px.
What changes is what a position means: with ``coords="center"`` coordinates are normalised to
[-1, 1] over the feature map, so "right half" stays "x > 0" at every size, while zero padding
(the position cue a vanilla network learns) sits at a fixed distance in pixels from the border.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any


def evaluate_at_size(
    run_dir: str | Path,
    image_size: int,
    val_size: int,
    *,
    batch_size: int = 8,
    device: str | None = None,
) -> dict[str, Any]:
    """Evaluate a finished run on freshly generated validation images of ``image_size``.

    The images come from the run's own data settings (same generator and ``data_seed``) with
    only ``image_size`` and ``val_size`` changed, so circle sizes scale with the image as the
    generator defines them.

    Args:
        run_dir: a run folder written by ``coordbias.training.train``.
        image_size: side of the evaluation images; a multiple of 8.
        val_size: how many validation images to generate.
        batch_size: evaluation batch size (does not change the result).
        device: torch device; ``None`` keeps the CPU.

    Returns:
        ``{"trained_size", "image_size", "val_size", "metrics"}`` with ``metrics`` the
        ``coordbias.training.evaluate`` dict.

    Raises:
        ValueError: ``image_size`` not a positive multiple of 8, or ``val_size`` < 1.
    """
    from torch.utils.data import DataLoader

    from coordbias.training import evaluate, load_run, make_datasets

    if not isinstance(image_size, int) or image_size < 8 or image_size % 8:
        raise ValueError(f"image_size must be a positive multiple of 8; got {image_size!r}")
    if not isinstance(val_size, int) or val_size < 1:
        raise ValueError(f"val_size must be a positive int; got {val_size!r}")
    config, model = load_run(run_dir)
    sized = dataclasses.replace(config, image_size=image_size, val_size=val_size, data_dir=None)
    _, val = make_datasets(sized)
    loader = DataLoader(val, batch_size=batch_size, shuffle=False)
    metrics = evaluate(model, loader, num_classes=config.num_classes, device=device)
    return {
        "trained_size": int(config.image_size),
        "image_size": int(image_size),
        "val_size": int(val_size),
        "metrics": metrics,
    }
