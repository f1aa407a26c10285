"""Entry point of the ``coordbias`` command.

Each sub-command lives in its own module of this package, which exposes
``register(subparsers) -> None``; the module adds its parser(s) and sets ``handler`` (a callable
``(argparse.Namespace) -> int``) as the parser default. Modules import their heavy dependencies
inside the handler, so ``coordbias --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from coordbias._version import __version__

# Modules of coordbias.cli that register sub-commands, in the order --help lists them.
COMMAND_MODULES = ("study", "data", "training", "bench")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="coordbias",
        description="Coordinate-aware convolutions: layers, data set, training and the study.",
    )
    parser.add_argument("--version", action="version", version=f"coordbias {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"coordbias.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the chosen sub-command, return its code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
