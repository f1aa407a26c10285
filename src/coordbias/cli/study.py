"""``coordbias study``: run (or resume) the study and write its report (see coordbias.cli.main)."""

from __future__ import annotations

import argparse
import sys

from coordbias._util.errors import user_input
from coordbias.study.presets import PRESETS

PRESET_NAMES = tuple(PRESETS)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE (e.g. epochs=1); got {text!r}")
    return key.strip(), value.strip()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``coordbias study`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "study",
        help="run the study: variants x seeds, statistics, report (md, html, json)",
        description="Train every variant over several seeds, evaluate, test coordbias against "
        "vanilla, run the open-question experiments and write DIR/report.md, DIR/report.html "
        "and DIR/results.json. Running the same command again resumes an interrupted study.",
    )
    parser.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        default="quick",
        help="quick: ~10 min on a 2-core CPU (default); seed: the original's exact setting; "
        "full: all variants, more seeds and epochs (GPU); test: seconds, for smoke tests",
    )
    parser.add_argument("--out", default="runs/study", help="study folder (default runs/study)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per variant (0..N-1)")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=None,
        help="variants to run (space or comma separated); default: the preset's",
    )
    parser.add_argument(
        "--experiments",
        nargs="*",
        default=None,
        help="open-question experiments to run (none with an empty list); default: the preset's",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        type=_key_value,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change a TrainConfig field in every run, e.g. --set epochs=1 (repeatable)",
    )
    parser.add_argument("--accelerator", default=None, help="auto, cpu, gpu, mps (default auto)")
    parser.add_argument("--devices", default=None, help="Lightning devices, e.g. 1, 2 or auto")
    parser.add_argument("--workers", type=int, default=None, help="data loader workers")
    parser.add_argument("--precision", default=None, help="Lightning precision, e.g. 32-true")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the runs, their settings and estimated cost; write nothing",
    )
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="with --dry-run, estimate from the preset's recorded throughput instead of a "
        "short measurement on this machine",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from coordbias.study import run_study
    from coordbias.study.runner import ExperimentsFailed, plan_study

    overrides: dict[str, object] = dict(args.overrides)
    for field in ("accelerator", "devices", "workers", "precision"):
        value = getattr(args, field)
        if value is not None:
            overrides[field] = value
    variants = None
    if args.variants is not None:
        variants = [v.strip() for item in args.variants for v in item.split(",") if v.strip()]
    options = {"seeds": args.seeds, "variants": variants, "overrides": overrides}
    with user_input():  # every bad option shows here: the plan writes nothing
        plan_study(args.preset, args.out, experiments=args.experiments, **options)
    try:
        run_study(
            args.preset,
            args.out,
            experiments=args.experiments,
            dry_run_only=args.dry_run,
            probe=not args.no_probe,
            **options,
        )
    except ExperimentsFailed as err:
        print(f"coordbias study: error: {err}", file=sys.stderr)
        return 1
    return 0
