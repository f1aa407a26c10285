"""``coordbias bench {layers,data,train}``: benchmarks, one module each in ``coordbias.bench``.

Each benchmark module exposes ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import sys
from collections.abc import Callable

BENCHMARKS = {
    "layers": "time of CoordBiasConv2d and CoordConv2d relative to nn.Conv2d",
    "data": "time to generate one circles sample, and its share of a training step",
    "train": "a Lightning training step against a bare PyTorch loop",
}


def _reporting_errors(name: str, run: Callable[[argparse.Namespace], int]):
    """Wrap a benchmark's ``run`` so that a bad option prints one line and exits 2."""

    @functools.wraps(run)
    def handler(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except (ValueError, TypeError) as err:
            print(f"coordbias bench {name}: error: {err}", file=sys.stderr)
            return 2

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
        sub.set_defaults(handler=_reporting_errors(name, module.run))
