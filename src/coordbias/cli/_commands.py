"""How a module of this package adds a sub-command: :func:`add_command`.

A command is documented where it is implemented: the docstring of its handler is its help, so
the text of ``coordbias --help`` and of ``coordbias COMMAND --help`` stands in one place.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable


def add_command(
    subparsers: argparse._SubParsersAction, name: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """Add the sub-command ``name``, run by ``handler``, and return its parser.

    The first line of ``handler``'s docstring is the command's one-line ``help`` (listed by the
    parent's ``--help``); the lines after it, joined with single spaces, are its ``description``
    (the paragraph of ``coordbias ... NAME --help``).
    """
    summary, _, rest = inspect.cleandoc(handler.__doc__ or "").partition("\n")
    description = " ".join(rest.split()) or None
    parser = subparsers.add_parser(name, help=summary, description=description)
    parser.set_defaults(handler=handler)
    return parser


def add_names_argument(parser: argparse.ArgumentParser, flag: str, help: str) -> None:
    """Add ``flag``, a list of names given space or comma separated (read by
    :func:`split_names`); not given, it is ``None``."""
    parser.add_argument(flag, nargs="+", default=None, help=help)


def add_threads_argument(parser: argparse.ArgumentParser, *, jobs: bool = True) -> None:
    """Add ``--threads``: the torch intra-op threads each task runs with. Every command that has
    it (study, benchmark, speed) gives it this one default (``None``) and meaning; the command
    checks it where it resolves its settings, and it takes effect where each task starts
    (``coordbias._util.experiment.torch_threads``).

    Args:
        parser: the command's parser.
        jobs: the command runs several tasks at once (``--jobs``): then the default divides the
            cores between them.
    """
    default = "cores // jobs; with one job, torch's own" if jobs else "torch's own"
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help=f"torch threads per task (default: {default}); numbers that depend on the thread "
        "count (a training's, a timing's) depend on it, not on the tasks beside it",
    )


def split_names(values: list[str] | None) -> list[str] | None:
    """The names given to an option of :func:`add_names_argument`, split at spaces and commas
    (``None`` stays ``None``)."""
    if values is None:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]
