"""Entry point of the ``coordbias`` command.

Each sub-command lives in its own module of this package, which exposes
``register(subparsers) -> None``; the module adds its parser(s) and sets ``handler`` (a callable
``(argparse.Namespace) -> int``) as the parser default, both through
``coordbias.cli._commands.add_command``, which takes the command's help from the handler's
docstring. Building the parsers imports no torch, Lightning or matplotlib (the choices come from
light modules such as ``coordbias._names`` and ``coordbias.study.presets``), so ``--help``
answers at once; a handler imports what its command runs.

:func:`main` is the one error boundary of the command line. A mistake the user can make (a
``coordbias._util.errors.UserError``, or an operating-system error on a named file that a user
causes: missing, exists, is a folder, not a folder, permission, read-only, disk full) is printed as
one line, ``coordbias COMMAND: error: ...``, and the exit status is 2. Any other exception is a
bug: it propagates with its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from coordbias._util.errors import UserError, describe_os_error
from coordbias._version import __version__

# Modules of coordbias.cli that register sub-commands, in the order --help lists them.
COMMAND_MODULES = ("study", "benchmark", "data", "training", "speed")


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


def _command(args: argparse.Namespace) -> str:
    """``train``, ``data generate``, ``speed layers``: the command as the user typed it."""
    words = [args.command]
    words += [
        getattr(args, name)
        for name in ("data_command", "speed_command")
        if getattr(args, name, None)
    ]
    return " ".join(words)


def _one_line(text: str) -> str:
    """The message on one line. An error re-raised from a DataLoader worker carries the worker's
    traceback in its text; its last line is the message."""
    if "Original Traceback" in text:
        last = text.strip().splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return " ".join(text.split())


def _warning_line(command: str, default: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` that prints coordbias's own warnings (a damaged file that is
    redone, say) as one ``coordbias COMMAND: warning: ...`` line; others as Python does."""
    package = str(Path(__file__).resolve().parents[1])

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if str(Path(filename).resolve()).startswith(package):
            print(f"coordbias {command}: warning: {_one_line(str(message))}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the chosen sub-command, return its code.

    Returns 2 with one line on stderr for a mistake the user can fix (see the module doc).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line(_command(args), warnings.showwarning)
            return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except UserError as error:
        message = str(error)
    except OSError as error:
        described = describe_os_error(error)
        if described is None:
            raise
        message = described
    print(f"coordbias {_command(args)}: error: {_one_line(message)}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
