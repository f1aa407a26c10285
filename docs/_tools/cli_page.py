"""The command-line reference page, written from the argparse parsers at build time.

``cli_markdown(build_parser())`` walks the parser tree of ``coordbias`` and gives one section per
command with its description and the exact ``--help`` text, so the page cannot drift from the
parsers. The docs build (``hooks.py``) calls it; ``tests/docs`` checks it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

#: Width of the help text on the page (argparse reads it from ``COLUMNS``).
HELP_COLUMNS = 100

INTRO = """\
# Command line

`coordbias` (also `python -m coordbias`) is a thin shell over the library: each command parses
its options and calls one importable function. This page is generated from the parsers
themselves (`coordbias.cli.main.build_parser()`) when the site is built, so it is exactly what
`coordbias COMMAND --help` prints.
"""


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """The ``(name, parser)`` pairs of a parser's sub-commands, in the order ``--help`` lists them.

    Aliases of a sub-command (several names for one parser) are given once, under the first name.
    """
    found: list[tuple[str, argparse.ArgumentParser]] = []
    seen: set[int] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    found.append((name, sub))
    return found


def walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree, depth first: ``(command path, parser)``, the root first."""
    yield path, parser
    for name, sub in subcommands(parser):
        yield from walk(sub, (*path, name))


@contextmanager
def _columns(width: int) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def cli_markdown(parser: argparse.ArgumentParser, width: int = HELP_COLUMNS) -> str:
    """The Markdown of the command-line page for ``parser`` (the ``coordbias`` parser).

    Args:
        parser: The root parser; its ``prog`` names the commands.
        width: Line width of the help text.

    Returns:
        The page: an introduction, then per command a heading ``prog sub ...`` and its ``--help``
        output (usage, description, arguments) in a text block.
    """
    lines = [INTRO]
    with _columns(width):
        for path, sub in walk(parser):
            title = " ".join((parser.prog, *path))
            depth = 2 + max(len(path) - 1, 0)  # the root and its commands at level 2
            lines.append(f"{'#' * depth} `{title}`\n")
            lines.append("```text\n" + sub.format_help().rstrip() + "\n```\n")
    return "\n".join(lines)
