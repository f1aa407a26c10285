"""``coordbias study``: run (or resume) the study and write its report (see coordbias.cli.main)."""

from __future__ import annotations

import argparse
import sys

from coordbias._util.errors import UserValueError, user_input
from coordbias.cli._commands import (
    add_command,
    add_names_argument,
    add_threads_argument,
    split_names,
)
from coordbias.study.presets import PRESETS

PRESET_NAMES = tuple(PRESETS)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE (e.g. epochs=1); got {text!r}")
    return key.strip(), value.strip()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``coordbias study`` and ``coordbias notsoclevr-ablation`` to ``subparsers``."""
    _add_study(subparsers)
    ablation = add_command(subparsers, "notsoclevr-ablation", _ablation)
    ablation.add_argument("out", help="JSON file of the runs (resumed if it exists)")
    ablation.add_argument(
        "--rows",
        type=int,
        nargs="*",
        metavar="ROW",
        help="indices of the rows of coordbias.study.experiments.notsoclevr.ABLATION to train "
        "(default: all)",
    )
    ablation.add_argument(
        "--seeds", type=int, nargs="*", default=[0], metavar="SEED", help="seeds (default: 0)"
    )
    ablation.add_argument(
        "--split", default="uniform", help="uniform (default) or quadrant: the test split"
    )


def _ablation(args: argparse.Namespace) -> int:
    """the Not-so-Clevr ablation: the deconvolution baseline, one difference at a time

    Train the rows of the ablation of the Not-so-Clevr deconvolution baseline (ours against Liu
    et al.'s, each row one difference from the reference row, width 16) and print their table.
    OUT keeps every run: the same command again trains only the runs it lacks.
    """
    from coordbias.study.experiments.notsoclevr.ablation import ablation, ablation_markdown

    runs = ablation(
        args.out,
        rows=None if args.rows is None else tuple(args.rows),
        seeds=tuple(args.seeds),
        split=args.split,
    )
    print(ablation_markdown(runs))
    return 0


def _add_study(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "study", _handle)
    parser.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        default="quick",
        help="quick: ~10 min on a 2-core CPU (default); seed: the original's exact setting; "
        "full: all variants, more seeds and epochs (GPU); test: seconds, for smoke tests",
    )
    parser.add_argument("--out", default="runs/study", help="study folder (default runs/study)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per variant (0..N-1)")
    add_names_argument(
        parser, "--variants", "variants to run (space or comma separated); default: the preset's"
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
        "--jobs",
        type=int,
        default=None,
        help="tasks (a run with its transfer evaluation, or an experiment) at once, each in a "
        "process of its own; 1: one after another in this process. Default: one per GPU; on "
        "a CPU, cores // the preset's measured threads per run",
    )
    add_threads_argument(parser)
    parser.add_argument(
        "--launcher",
        choices=("local", "submitit"),
        default="local",
        help="local: this machine (default); submitit: a SLURM job array through submitit "
        "(pip install 'coordbias[cluster]'), with the options below",
    )
    cluster = parser.add_argument_group(
        "cluster (--launcher submitit)",
        "One job per task, as a SLURM array; the study waits for the jobs and writes the report. "
        "The same command again submits only what is unfinished on disk.",
    )
    cluster.add_argument(
        "--cluster",
        choices=("auto", "slurm", "local"),
        default=None,
        help="submitit's executor: auto (default: SLURM where sbatch exists), slurm, or local "
        "(every job at once as a subprocess here, to try the path)",
    )
    cluster.add_argument("--partition", default=None, help="SLURM partition")
    # ClusterOptions' counts; unset (None), each keeps the default its help names.
    for flag, help_text in (
        ("--gpus-per-run", "GPUs per job: 0 (default) or 1"),
        (
            "--time-min",
            "time limit per job in minutes (default 120); a job that reaches it is requeued "
            "and resumes from its last checkpoint",
        ),
        ("--cpus-per-run", "CPUs per job (default: --threads, or 1)"),
        ("--array-parallelism", "most jobs of the array running at once (default 64)"),
    ):
        cluster.add_argument(flag, type=int, default=None, help=help_text)
    cluster.add_argument(
        "--job-logs",
        default=None,
        metavar="DIR",
        help="submitit's folder: job scripts and each job's stdout/stderr (default OUT/submitit)",
    )
    cluster.add_argument(
        "--slurm",
        dest="slurm",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another SLURM parameter by submitit's name, e.g. --slurm account=proj "
        "--slurm mem=8G (repeatable)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the runs, their settings, the jobs and threads and the estimated cost; "
        "write nothing",
    )
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="with --dry-run, estimate from the preset's recorded throughput instead of a "
        "short measurement on this machine",
    )


# --launcher submitit's flags: (argument name, ClusterOptions field).
_CLUSTER_FLAGS = (
    ("cluster", "cluster"),
    ("partition", "partition"),
    ("gpus_per_run", "gpus_per_run"),
    ("time_min", "time_min"),
    ("cpus_per_run", "cpus_per_run"),
    ("array_parallelism", "array_parallelism"),
    ("job_logs", "log_dir"),
)


def _cluster_options(args: argparse.Namespace) -> dict[str, object] | None:
    """The ClusterOptions fields the flags set; ``None`` for the local launcher."""
    given = {field: getattr(args, name) for name, field in _CLUSTER_FLAGS}
    given = {k: v for k, v in given.items() if v is not None}
    if args.slurm:
        given["slurm"] = dict(args.slurm)
    if args.launcher != "submitit":
        if given:
            flags = ", ".join(
                "--" + name.replace("_", "-") for name, field in _CLUSTER_FLAGS if field in given
            )
            flags = ", ".join(filter(None, [flags, "--slurm" if args.slurm else ""]))
            raise UserValueError(f"{flags} apply to --launcher submitit only")
        return None
    if given.get("cluster") == "auto":
        given.pop("cluster")
    return given


def _handle(args: argparse.Namespace) -> int:
    """run the study: variants x seeds, statistics, report (md, html, json)

    Train every variant over several seeds, evaluate, test coordbias against vanilla, run the
    open-question experiments and write DIR/report.md, DIR/report.html and DIR/results.json.
    Running the same command again resumes an interrupted study.
    """
    from coordbias.study import run_study
    from coordbias.study.runner import StudyFailed, plan_study

    overrides: dict[str, object] = dict(args.overrides)
    for field in ("accelerator", "devices", "workers", "precision"):
        value = getattr(args, field)
        if value is not None:
            overrides[field] = value
    # Planned once, in the user's terms (plan_study writes nothing, so every bad option shows
    # here as a user error), then run as planned.
    with user_input():
        plan = plan_study(
            args.preset,
            args.out,
            seeds=args.seeds,
            variants=split_names(args.variants),
            overrides=overrides,
            experiments=args.experiments,
        )
        cluster = _cluster_options(args)
    try:
        run_study(
            plan,
            jobs=args.jobs,
            threads=args.threads,
            launcher=args.launcher,
            cluster=cluster,
            dry_run_only=args.dry_run,
            probe=not args.no_probe,
        )
    except StudyFailed as err:
        print(f"coordbias study: error: {err}", file=sys.stderr)
        return 1
    return 0
