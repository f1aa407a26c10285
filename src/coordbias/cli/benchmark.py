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
        help="quick: the smoke scale (default); standard: the scale that decides (10 seeds, 20 "
        "for the bimodal tasks, a learning-rate sweep, early stopping); test: seconds",
    )
    parser.add_argument("--out", default="runs/benchmark", help="folder (default runs/benchmark)")
    parser.add_argument(
        "--seeds", type=int, default=None, help="final seeds per row (0..N-1); default: the scale's"
    )
    add_names_argument(
        parser,
        "--methods",
        "methods (study variants; space or comma separated); default: all; vanilla is always added",
    )
    add_names_argument(
        parser,
        "--tasks",
        f"tasks (default: all but the anchors, *_paper*): {', '.join(TASKS)}",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="cells at once, each in a process of its own; 1: one after another in this "
        "process. Default: cores // 1",
    )
    add_threads_argument(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the sweep and final cells, the jobs and the estimated cost; run nothing",
    )


def _handle(args: argparse.Namespace) -> int:
    """every way of giving a CNN position on every task, over seeds: one table

    Train every method (the study variants that change only the convolution) on every task (the
    circles, a colour-only control, a shifted test, Red-Green, Liu et al.'s Not-so-Clevr
    classification and regression on their two splits) over several seeds: a learning-rate sweep
    chosen on validation, then the final seeds with early stopping; coordbias and coordconv also
    at every placement on circles and Red-Green. Time each method's training step against
    vanilla and write DIR/report.md and DIR/results.json. Running the same command again resumes
    an interrupted benchmark; --dry-run lists the cells and the cost.
    """
    from coordbias.benchmark import BenchmarkFailed, run_benchmark
    from coordbias.benchmark.run import dry_run, plan_benchmark

    selection = {
        "scale": args.scale,
        "methods": split_names(args.methods),
        "tasks": split_names(args.tasks),
        "seeds": args.seeds,
        "threads": args.threads,
    }
    if args.dry_run:
        dry_run(plan_benchmark(args.out, **selection), jobs=args.jobs)
        return 0
    try:
        run_benchmark(args.out, jobs=args.jobs, **selection)
    except BenchmarkFailed as err:
        print(f"coordbias benchmark: error: {err}", file=sys.stderr)
        return 1
    return 0
