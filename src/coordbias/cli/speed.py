"""``coordbias speed {layers,data,train,networks,gpu-check}``: the speed measurements, one module
each in ``coordbias.speed`` (``gpu-check``: ``coordbias.speed.gpu_check``).

Each module exposes ``add_arguments(parser)`` and ``run(args) -> int``; each is added with
:func:`~coordbias.cli._commands.add_command`, its one-line help taken from :data:`SPEED_TESTS`.
``coordbias bench`` is the same command under its former name, deprecated: it says so on stderr
and runs the same thing.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import sys
from collections.abc import Callable

from coordbias.cli._commands import add_command

#: The speed measurements, by name, with their one-line help.
SPEED_TESTS = {
    "layers": "time of CoordBiasConv2d and CoordConv2d relative to nn.Conv2d",
    "data": "time to generate one circles sample, and its share of a training step",
    "train": "a Lightning training step against a bare PyTorch loop",
    "networks": "a training step of whole converted networks against plain ones and the floor",
    "gpu-check": "what a device must pass: layer tests, speed on every path, a tiny study",
}
#: The former name of :data:`SPEED_TESTS` (``coordbias bench``).
BENCHMARKS = SPEED_TESTS
#: The former name of the command, kept for one release.
DEPRECATED_ALIAS = "bench"


def _raised_by_coordbias(error: BaseException) -> bool:
    """Whether ``error`` was raised by coordbias's own code (a check of an option), not deeper
    (in torch)."""
    tb = error.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return str(tb.tb_frame.f_globals.get("__name__", "")).startswith("coordbias.")


def _reporting_errors(run: Callable[[argparse.Namespace], int]):
    """Wrap a benchmark's ``run``: its destination and device are checked before it measures
    anything, and a bad option that coordbias code refuses (a ``ValueError`` / ``TypeError``
    raised by coordbias itself, such as ``--rounds 0`` or ``--sample-size 7``) becomes a
    ``UserError``: one line, exit status 2. The same errors raised inside torch are bugs and keep
    their traceback."""

    @functools.wraps(run)
    def handler(args: argparse.Namespace) -> int:
        from coordbias._util.devices import resolve_device
        from coordbias._util.errors import UserTypeError, UserValueError, check_folder_destination

        if getattr(args, "out", None) is not None:
            check_folder_destination(args.out, "--out")
        if getattr(args, "device", None) is not None:
            resolve_device(args.device)
        try:
            return run(args)
        except (ValueError, TypeError) as err:
            if not _raised_by_coordbias(err):
                raise
            kind = UserTypeError if isinstance(err, TypeError) else UserValueError
            raise kind(f"{err}") from err

    return handler


def _module_name(name: str) -> str:
    """The module of ``coordbias speed NAME`` (``gpu-check``: ``coordbias.speed.gpu_check``)."""
    return f"coordbias.speed.{name.replace('-', '_')}"


def _handler(name: str) -> Callable[[argparse.Namespace], int]:
    """The handler of ``coordbias speed NAME``; its docstring is the command's help."""
    module = importlib.import_module(_module_name(name))
    checked = _reporting_errors(module.run)

    def handler(args: argparse.Namespace) -> int:
        if args.command == DEPRECATED_ALIAS:
            print(
                f"coordbias {DEPRECATED_ALIAS} is deprecated and goes in the next release; "
                f"use coordbias speed {name}",
                file=sys.stderr,
            )
        return checked(args)

    handler.__doc__ = SPEED_TESTS[name]
    return handler


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``coordbias speed`` (and its deprecated alias ``coordbias bench``)."""
    parser = subparsers.add_parser(
        "speed", aliases=[DEPRECATED_ALIAS], help="measure the speed of the layers, data, training"
    )
    inner = parser.add_subparsers(dest="speed_command", metavar="MEASUREMENT", required=True)
    for name in SPEED_TESTS:
        if importlib.util.find_spec(_module_name(name)) is None:
            continue  # not built yet; tests/cli checks that every measurement is registered
        sub = add_command(inner, name, _handler(name))
        importlib.import_module(_module_name(name)).add_arguments(sub)
