"""``coordbias benchmark``: every position method on every task, one table (see
coordbias.benchmark; errors as coordbias.cli.main says)."""

from __future__ import annotations

import argparse
import sys

from coordbias.cli._commands import (
    add_command,
    add_names_argument,
    add_threads_argument,
    split_names,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``coordbias benchmark`` to ``subparsers``."""
    from coordbias.benchmark.spec import SCALES, TASKS

    parser = add_command(subparsers, "benchmark", _handle)
    parser.add_argument(
        "--scale",
        choices=tuple(SCALES),
        default="quick",
        help="quick: the README's table (default); test: seconds, for smoke tests",
    )
    parser.add_argument("--out", default="runs/benchmark", help="folder (default runs/benchmark)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (0..N-1)")
    add_names_argument(
        parser,
        "--methods",
        "methods (study variants; space or comma separated); default: all; vanilla is always added",
    )
    add_names_argument(parser, "--tasks", f"tasks (default: all): {', '.join(TASKS)}")
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="cells at once, each in a process of its own; 1: one after another in this "
        "process. Default: cores // 1",
    )
    add_threads_argument(parser)


def _handle(args: argparse.Namespace) -> int:
    """every way of giving a CNN position on every task, over seeds: one table

    Train every method (the study variants that change only the convolution) on every task (the
    circles, a colour-only control, a shifted test, Not-so-Clevr classification and regression on
    two splits) over several seeds, time each method's training step against vanilla, and write
    DIR/report.md and DIR/results.json. Running the same command again resumes an interrupted
    benchmark.
    """
    from coordbias.benchmark import BenchmarkFailed, run_benchmark

    try:
        run_benchmark(
            args.out,
            scale=args.scale,
            methods=split_names(args.methods),
            tasks=split_names(args.tasks),
            seeds=args.seeds,
            jobs=args.jobs,
            threads=args.threads,
        )
    except BenchmarkFailed as err:
        print(f"coordbias benchmark: error: {err}", file=sys.stderr)
        return 1
    return 0
