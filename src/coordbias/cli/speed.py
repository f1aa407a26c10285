"""``coordbias speed {layers,data,train,networks,gpu-check}``: the speed measurements, one module
each in ``coordbias.speed`` (``gpu-check``: ``coordbias.speed.gpu_check``).

Each module exposes ``add_arguments(parser)`` and ``run(**options) -> int`` (typed keyword
arguments of the options' names); each is added with
:func:`~coordbias.cli._commands.add_command`, its one-line help taken from :data:`SPEED_TESTS`,
and ``--threads`` from :func:`~coordbias.cli._commands.add_threads_argument`. A bad option is a
``UserError`` raised by ``run``: :func:`coordbias.cli.main.main` reports it. Every measurement
runs with the memory the process frees kept for reuse (:mod:`coordbias._util.memory`), as the
study's and the benchmark's trainings run: with glibc's defaults the page faults of fresh large
allocations can decide the order of small shapes (in a plain timing loop a B1 3->64 layer at
128 px trained faster than ``nn.Conv2d`` alone when it allocated one tensor more,
``scripts/batch_sum_view.py``; ``speed layers``' medians moved by less than 0.01).
``coordbias bench`` is the same command under its former name, deprecated: it says so on stderr
and runs the same thing.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable

from coordbias.cli._commands import add_command, add_threads_argument

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


def _module_name(name: str) -> str:
    """The module of ``coordbias speed NAME`` (``gpu-check``: ``coordbias.speed.gpu_check``)."""
    return f"coordbias.speed.{name.replace('-', '_')}"


def _handler(name: str) -> Callable[[argparse.Namespace], int]:
    """The handler of ``coordbias speed NAME``; its docstring is the command's help.

    It turns the options into one call of ``coordbias.speed.NAME.run``, whose keyword
    parameters are the options of the same names (the module's ``add_arguments`` and
    ``--threads``); ``run`` checks them and raises a ``UserError`` for a bad one.
    """

    def handler(args: argparse.Namespace) -> int:
        if args.command == DEPRECATED_ALIAS:
            print(
                f"coordbias {DEPRECATED_ALIAS} is deprecated and goes in the next release; "
                f"use coordbias speed {name}",
                file=sys.stderr,
            )
        from coordbias._util.memory import keep_freed_memory

        keep_freed_memory()
        run = importlib.import_module(_module_name(name)).run
        return run(**{key: getattr(args, key) for key in _options(args)})

    handler.__doc__ = SPEED_TESTS[name]
    return handler


def _options(args: argparse.Namespace) -> list[str]:
    """The names of the options ``args`` holds (not the parser's own bookkeeping)."""
    return [key for key in vars(args) if key not in ("command", "speed_command", "handler")]


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
        add_threads_argument(sub, jobs=False)
