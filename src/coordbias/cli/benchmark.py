"""``coordbias benchmark``: every position method on every task, one table (see
coordbias.study.benchmark; errors as coordbias.cli.main says)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``coordbias benchmark`` to ``subparsers``."""
    from coordbias.study.benchmark.spec import SCALES, TASKS

    parser = subparsers.add_parser(
        "benchmark",
        help="every way of giving a CNN position on every task, over seeds: one table",
        description="Train every method (the study variants that change only the convolution) "
        "on every task (the circles, a colour-only control, a shifted test, Not-so-Clevr "
        "classification and regression on two splits) over several seeds, time each method's "
        "training step against vanilla, and write DIR/report.md and DIR/results.json. Running "
        "the same command again resumes an interrupted benchmark.",
    )
    parser.add_argument(
        "--scale",
        choices=tuple(SCALES),
        default="quick",
        help="quick: the README's table (default); test: seconds, for smoke tests",
    )
    parser.add_argument("--out", default="runs/benchmark", help="folder (default runs/benchmark)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (0..N-1)")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=None,
        help="methods (study variants; space or comma separated); default: all; vanilla is "
        "always added",
    )
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=None,
        help=f"tasks (default: all): {', '.join(TASKS)}",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="cells at once, each in a process of its own; 1: one after another in this "
        "process. Default: cores // 1",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per cell (default: cores // jobs; with one job, torch's own)",
    )
    parser.set_defaults(handler=_handle)


def _names(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _handle(args: argparse.Namespace) -> int:
    from coordbias.study.benchmark import BenchmarkFailed, run_benchmark

    try:
        run_benchmark(
            args.out,
            scale=args.scale,
            methods=_names(args.methods),
            tasks=_names(args.tasks),
            seeds=args.seeds,
            jobs=args.jobs,
            threads=args.threads,
        )
    except BenchmarkFailed as err:
        print(f"coordbias benchmark: error: {err}", file=sys.stderr)
        return 1
    return 0
