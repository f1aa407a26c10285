"""What the benchmarks share: the quick training setting and its three flags, the timing flags,
the output and device flags, a comma-separated list of names as a flag and its reading.

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


def add_rounds_argument(parser: argparse.ArgumentParser, *, per: str = "") -> None:
    """Add ``--rounds``: interleaved rounds of the measurement (default 5).

    Args:
        parser: the benchmark's parser.
        per: what each round covers, for the help text (``" per shape"``), or nothing.
    """
    parser.add_argument(
        "--rounds", type=int, default=5, help=f"interleaved rounds{per} (default %(default)s)"
    )


def add_output_arguments(
    parser: argparse.ArgumentParser,
    *,
    out: str,
    files: str,
    device: str,
    quick: str | None = None,
) -> None:
    """Add ``--out``, ``--device`` and, where the command has one, ``--quick``.

    Args:
        parser: the benchmark's parser.
        out: the default folder.
        files: what the command writes there, for the help text.
        device: the default torch device.
        quick: the help text of ``--quick`` (what the small size runs); ``None``: no ``--quick``.
    """
    parser.add_argument("--out", default=out, help=f"folder for {files} (default %(default)s)")
    parser.add_argument(
        "--device", default=device, help="torch device, e.g. cpu or cuda (default %(default)s)"
    )
    if quick is not None:
        parser.add_argument("--quick", action="store_true", help=quick)


def add_names_argument(
    parser: argparse.ArgumentParser,
    flag: str,
    names: Sequence[str],
    *,
    what: str,
    default: Sequence[str] | None = None,
) -> None:
    """Add ``flag``: a comma-separated list of some of ``names`` (read by :func:`parse_names`).

    Args:
        parser: the benchmark's parser.
        flag: the option, e.g. ``"--paths"``.
        names: the accepted names, in their order.
        what: what the names are, for the help text (``"paths"``).
        default: the names run by default; ``None``: all of them.
    """
    parser.add_argument(
        flag,
        default=",".join(names if default is None else default),
        help=f"comma-separated {what} of {','.join(names)} "
        + ("(default: all)" if default is None else "(default: %(default)s)"),
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
