"""What the benchmarks share: the quick training setting and its three flags, the timing flag,
the reading of a comma-separated list of names.

The setting is ``coordbias.training.settings.QUICK``, the one the study's ``quick`` preset trains
with; the benchmarks read it from training, not from the study.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


def quick_setting() -> dict[str, Any]:
    """The quick setting's ``TrainConfig`` fields (image size, width, batch, optimizer...)."""
    from coordbias.training.settings import QUICK

    return dict(QUICK)


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


def add_timing_arguments(parser: argparse.ArgumentParser, *, min_run_time: float) -> None:
    """Add ``--min-run-time`` (seconds per ``torch.utils.benchmark`` measurement).

    ``--threads`` is the command line's (``coordbias.cli._commands.add_threads_argument``), the
    same option with the same default as the study's and the benchmark's.

    Args:
        parser: the benchmark's parser.
        min_run_time: the default of ``--min-run-time``.
    """
    parser.add_argument(
        "--min-run-time",
        type=float,
        default=min_run_time,
        help="seconds per measurement in torch.utils.benchmark (default %(default)s)",
    )


def parse_names(text: str | Sequence[str], accepted: Sequence[str], option: str) -> list[str]:
    """``"a,b"`` (or ``["a", "b"]``) -> ``["a", "b"]`` in ``accepted`` order; a
    ``UserValueError`` naming ``option`` otherwise.

    Example:
        >>> parse_names("compile,fp32", ("fp32", "half", "compile"), "--paths")
        ['fp32', 'compile']
    """
    from coordbias._util.errors import UserValueError

    text = text if isinstance(text, str) else ",".join(text)
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or any(n not in accepted for n in names):
        raise UserValueError(
            f"{option} must be a comma-separated subset of {','.join(accepted)}, got {text!r}"
        )
    return [n for n in accepted if n in names]
