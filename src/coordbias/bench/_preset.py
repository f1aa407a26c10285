"""What the data and training benchmarks share: the study's quick preset and its three flags."""

from __future__ import annotations

import argparse
from typing import Any


def quick_setting() -> dict[str, Any]:
    """The quick preset's ``TrainConfig`` fields (image size, width, batch, optimizer...)."""
    from coordbias.study.presets import get_preset

    return dict(get_preset("quick").train)


def add_setting_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--image-size``, ``--width`` and ``--batch-size``, defaulting to the quick preset.

    Args:
        parser: the benchmark's parser.
        what: which measurement the three flags set, for the help text.
    """
    quick = quick_setting()
    for flag, key, metavar, noun in (
        ("--image-size", "image_size", "S", "image side"),
        ("--width", "width", "N", "network width"),
        ("--batch-size", "batch_size", "N", "batch size"),
    ):
        parser.add_argument(
            flag,
            type=int,
            default=int(quick[key]),
            metavar=metavar,
            help=f"{noun} of {what} (default: the quick preset's, %(default)s)",
        )
