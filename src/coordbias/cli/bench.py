"""``coordbias bench {layers,data,train}``: benchmarks, one module each in ``coordbias.bench``.

Each benchmark module exposes ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
from collections.abc import Callable

BENCHMARKS = {
    "layers": "time of CoordBiasConv2d and CoordConv2d relative to nn.Conv2d",
    "data": "time to generate one circles sample, and its share of a training step",
    "train": "a Lightning training step against a bare PyTorch loop",
}


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


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and write its JSON")
    inner = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, help_text in BENCHMARKS.items():
        if importlib.util.find_spec(f"coordbias.bench.{name}") is None:
            continue  # not built yet; tests/cli checks that every benchmark is registered
        module = importlib.import_module(f"coordbias.bench.{name}")
        sub = inner.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(handler=_reporting_errors(module.run))
