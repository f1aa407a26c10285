"""``run_study``: plan the runs, train what is missing, evaluate transfer, write the report.

Layout of a study folder ``DIR``::

    DIR/runs/<variant>/seed<k>/   one training run (coordbias.training.train); its result.json,
                                  written last, means the run finished
    DIR/runs/<variant>/seed<k>/transfer.json   evaluation at the preset's transfer sizes
    DIR/runs/<variant>/seed<k>/task.log        what the study did there, and a child's output
    DIR/runs/<variant>/seed<k>.lock            held by whoever trains or evaluates the run
    DIR/experiments/<name>/       one open-question experiment; result.json written last
    DIR/experiments/<name>.lock   held by whoever runs it
    DIR/results.json, DIR/report.md, DIR/report.html, DIR/figures/
    DIR/study.lock                held while the report is written
    DIR/submitit/                 the job folders of --launcher submitit
    DIR/study_time.json           the study's wall time so far, summed over its invocations

Every file is written atomically, finished runs are never redone, and the report is rebuilt from
what is on disk, so an interrupted study resumes by running the same command again. The work is
a list of tasks (``coordbias.study.tasks``: a run with its transfer evaluation, or an
experiment); ``coordbias.study.launch`` runs them in this process (``jobs=1``) or in child
processes (``jobs > 1``), ``coordbias.study.cluster`` through submitit. Two studies on one folder
share the work: each skips what the other holds the lock of, then waits for it before writing
its report.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from coordbias._util.errors import UserValueError, check_folder_destination
from coordbias._util.files import write_json
from coordbias.study.launch import (
    Failure,
    Parallelism,
    Progress,
    check_count,
    resolve_parallelism,
    run_in_process,
    run_local,
    wait_for_others,
)
from coordbias.study.launch import fmt_duration as _fmt_s
from coordbias.study.plan import RunSpec, StudyPlan, recorded_config
from coordbias.study.presets import StudyPreset, get_preset, run_config
from coordbias.study.tasks import ExperimentTask, plan_tasks
from coordbias.study.variants import resolve_variants

Log = Callable[[str], None]

#: The study's own time, summed over every invocation (a resumed study counts them all).
TIME_FILE = "study_time.json"


def _resolve_seeds(seeds: int | Sequence[int] | None, default: int) -> list[int]:
    if seeds is None:
        seeds = default
    if isinstance(seeds, bool):
        raise TypeError(f"seeds must be an int count or a list of ints; got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1; got {seeds}")
        return list(range(seeds))
    out = []
    for s in seeds:
        if not isinstance(s, int) or isinstance(s, bool) or s < 0:
            raise ValueError(f"seeds must be non-negative ints; got {s!r} in {list(seeds)!r}")
        if s not in out:
            out.append(s)
    if not out:
        raise ValueError("seeds must name at least one seed; got an empty list")
    return out


def _resolve_experiments(experiments: Sequence[str] | None, default: Sequence[str]) -> list[str]:
    from coordbias.study.presets import EXPERIMENTS

    names = list(default if experiments is None else experiments)
    for name in names:
        if name not in EXPERIMENTS:
            raise ValueError(f"experiments must be among {', '.join(EXPERIMENTS)}; got {name!r}")
    return names


def plan_study(
    preset: str | StudyPreset = "quick",
    out_dir: str | Path = "runs/study",
    *,
    seeds: int | Sequence[int] | None = None,
    variants: Sequence[str] | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    experiments: Sequence[str] | None = None,
) -> StudyPlan:
    """Resolve a study's runs without running or writing anything.

    Args:
        preset: ``quick``, ``seed``, ``full``, ``test`` or a ``StudyPreset``.
        out_dir: the study folder.
        seeds: a count (seeds 0..n-1) or a list of seeds; ``None``: the preset's count.
        variants: variant names (list or comma-separated); ``None``: the preset's.
        overrides: ``TrainConfig`` fields to change in every run (e.g. ``{"epochs": 1}``).
        experiments: experiments to run; ``None``: the preset's, ``[]``: none.

    Raises:
        ValueError: an unknown preset, variant, experiment or field, or an invalid value.
    """
    from coordbias.study.presets import coerce_overrides

    preset = get_preset(preset)
    out = Path(out_dir)
    names = resolve_variants(variants, preset.variants)
    seed_list = _resolve_seeds(seeds, preset.seeds)
    clean = coerce_overrides(overrides)
    runs = []
    for name in names:
        for seed in seed_list:
            run_dir = out / "runs" / name / f"seed{seed}"
            config = run_config(preset, name, seed, run_dir, clean)
            runs.append(RunSpec(name, seed, run_dir, config))
    exps = _resolve_experiments(experiments, preset.experiments)
    return StudyPlan(preset, out, names, seed_list, runs, exps, clean)


def _check_not_stale(run: RunSpec) -> None:
    """Refuse to reuse a run folder whose recorded settings differ from the plan's in a field
    that shapes the result (``coordbias.training.config.IDENTITY_FIELDS``, a smaller epochs)."""
    from coordbias.training.config import resume_conflicts

    conflicts = resume_conflicts(recorded_config(run.run_dir), run.config)
    if conflicts:
        raise UserValueError(
            f"{run.run_dir} holds a run with {'; '.join(conflicts)} by this study's plan; "
            "choose another --out or delete that folder"
        )


def probe_images_per_s(config: Any, seconds: float = 1.0, max_steps: int = 20) -> float:
    """Measure training images per second of ``config`` on this machine, writing nothing.

    Times optimiser steps (after one warm-up step) of the run's model on batches drawn from its
    real training data set, so data generation is counted and Lightning's own overhead is not;
    stops after ``seconds`` or ``max_steps`` steps, at least two. Runs on the GPU when one is
    available and ``config.accelerator`` allows it.

    Args:
        config: a ``TrainConfig``.
        seconds: time budget of the timed steps.
        max_steps: most timed steps.
    """
    import torch
    from torch.utils.data import default_collate

    from coordbias.training import build_model, make_datasets

    use_cuda = torch.cuda.is_available() and config.accelerator in ("auto", "gpu", "cuda")
    device = torch.device("cuda" if use_cuda else "cpu")
    train_set, _ = make_datasets(config)
    model = build_model(config).to(device)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-6)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = min(config.batch_size, len(train_set))
    elapsed, images, step = 0.0, 0, 0
    while step < 3 or (elapsed < seconds and step <= max_steps):
        start = time.perf_counter()
        batch = [train_set[(step * n + i) % len(train_set)] for i in range(n)]
        inputs, masks = default_collate(batch)
        loss = loss_fn(model(inputs.to(device)), masks.to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if use_cuda:
            torch.cuda.synchronize()
        if step:
            elapsed += time.perf_counter() - start
            images += n
        step += 1
    return images / max(elapsed, 1e-9)


# Seconds Lightning needs per run beyond the images (trainer set-up, checkpoints, figures),
# measured on a 2-core CPU with tiny runs.
RUN_OVERHEAD_S = 3.0


def estimate_run_s(config: Any, images_per_s: float, transfer_images: int = 0) -> float:
    """Estimated seconds of one run: training, one validation per epoch, transfer evaluation.

    Evaluation (forward only) is counted at three times the training rate, plus
    ``RUN_OVERHEAD_S`` per run.
    """
    train_images = config.train_size * config.epochs
    eval_images = config.val_size * (config.epochs + 1) + transfer_images
    return RUN_OVERHEAD_S + train_images / images_per_s + eval_images / (3 * images_per_s)


def _makespan(costs: Sequence[float], jobs: int) -> float:
    """Seconds to run ``costs`` in order on ``jobs`` slots, each task on the first free slot."""
    if not costs:
        return 0.0
    slots = [0.0] * max(1, min(jobs, len(costs)))
    for cost in costs:
        heapq.heappush(slots, heapq.heappop(slots) + cost)
    return max(slots)


def _cluster_options(cluster: Any) -> Any:
    """``cluster`` as a checked ``coordbias.study.cluster.ClusterOptions``."""
    from coordbias.study.cluster import ClusterOptions, require_submitit

    require_submitit()
    options = cluster if isinstance(cluster, ClusterOptions) else ClusterOptions(**(cluster or {}))
    options.validate()
    options.resolved_cluster()  # no SLURM here and none asked for: say so now
    return options


LAUNCHERS = ("local", "submitit")


def _launch_settings(
    plan: StudyPlan,
    *,
    jobs: int | None,
    threads: int | None,
    launcher: str,
    cluster: Any,
    train_fn: Callable[[Any], Any] | None,
) -> tuple[Parallelism, Any]:
    """``(parallelism, cluster options or None)`` of a study, checked before anything runs."""
    if launcher not in LAUNCHERS:
        raise UserValueError(f"launcher must be one of {', '.join(LAUNCHERS)}; got {launcher!r}")
    if launcher == "submitit":
        if jobs is not None:
            raise UserValueError(
                "jobs (--jobs) is for launcher 'local'; with submitit, array_parallelism "
                "(--array-parallelism) says how many jobs run at once"
            )
        if train_fn is not None:
            raise ValueError("train_fn replaces training in this process: use launcher 'local'")
        check_count("threads (--threads)", threads)
        options = _cluster_options(cluster)
        per_job = options.threads(threads)
        why = (
            f"submitit ({options.resolved_cluster()}): at most {options.array_parallelism} jobs "
            f"at once, {options.cpus_per_run or per_job} CPU(s) and {options.gpus_per_run} "
            f"GPU(s) each, {options.time_min} min limit"
            + (f", partition {options.partition}" if options.partition else "")
        )
        cores = options.cpus_per_run or per_job
        return Parallelism(options.array_parallelism, per_job, (), cores, why), options
    if cluster:
        raise UserValueError("cluster options apply to launcher 'submitit' (--launcher submitit)")
    if train_fn is not None and jobs is None:
        jobs = 1  # a training function replaces training in this very process
    from coordbias.training.run import resolve_accelerator

    for name in sorted({run.config.accelerator for run in plan.runs}):
        resolve_accelerator(name)  # cuda or mps asked for on a machine without: say so now
    accelerator = plan.runs[0].config.accelerator if plan.runs else "auto"
    parallelism = resolve_parallelism(
        plan.preset, jobs=jobs, threads=threads, accelerator=accelerator
    )
    if train_fn is not None and parallelism.jobs > 1:
        raise ValueError(
            f"train_fn replaces training in this process, so it needs jobs=1; got jobs="
            f"{parallelism.jobs}"
        )
    return parallelism, None


def _pool_order(tasks: list[Any], parallel: bool) -> list[Any]:
    """With jobs at once, the experiments (the longest single tasks) go first, then the runs in
    plan order; one at a time, the runs go first as they always did."""
    if not parallel:
        return tasks
    return [t for t in tasks if isinstance(t, ExperimentTask)] + [
        t for t in tasks if not isinstance(t, ExperimentTask)
    ]


def dry_run(
    plan: StudyPlan,
    *,
    probe: bool = True,
    log: Log = print,
    parallelism: Parallelism | None = None,
    cluster: Any = None,
) -> dict[str, Any]:
    """List what ``run_study`` would run, how many at once, and estimate its cost; writes nothing.

    Each task is costed alone (probed or from the preset) at the torch threads it will run with;
    the tasks are then placed in the order the study starts them, each on the first free job,
    and the experiments that run alone (``RUN_ALONE``) are added after them.

    Args:
        plan: from ``plan_study``.
        probe: measure throughput with ``probe_images_per_s`` (a few seconds per variant) rather
            than use the preset's recorded figure.
        log: where lines go.
        parallelism: jobs and threads (default: ``resolve_parallelism`` of the preset here).
        cluster: the ``ClusterOptions`` of launcher ``submitit``, or ``None`` for ``local``.

    Returns:
        ``{"runs": [...], "estimated_s": total, "basis": "probe" | "preset", "jobs",
        "threads", "launcher"}``.
    """
    from coordbias.study.experiments import RUN_ALONE
    from coordbias.study.experiments._common import torch_threads

    if parallelism is None:
        parallelism = resolve_parallelism(plan.preset)
    threads = parallelism.threads
    # Runs side by side keep their own speed while there is a core for each of their threads.
    share = min(1.0, parallelism.cores / (parallelism.jobs * (threads or parallelism.cores)))
    if cluster is not None:
        share = 1.0
    transfer_images = plan.preset.transfer_val_size * len(plan.preset.transfer_sizes)
    rates: dict[str, float] = {}
    rows = []
    for run in plan.runs:
        if run.variant not in rates:
            if probe:
                with torch_threads(threads) if threads else contextlib.nullcontext():
                    rates[run.variant] = probe_images_per_s(run.config)
            else:
                rates[run.variant] = plan.preset.est_images_per_s
        rate = rates[run.variant] * share
        cost = 0.0 if run.done else estimate_run_s(run.config, rate, transfer_images)
        c = run.config
        rows.append(
            {
                "variant": run.variant,
                "seed": run.seed,
                "status": "done" if run.done else "to run",
                "estimated_s": cost,
                "settings": (
                    f"{c.image_size}px w{c.width} {c.conv}/{c.conv_scope} bn={c.batch_norm} "
                    f"pad={c.padding_mode} {c.optimizer} lr={c.lr} b{c.batch_size} "
                    f"{c.train_size}x{c.epochs}ep val{c.val_size}"
                ),
            }
        )
    per_experiment = plan.preset.est_experiments_s / max(len(plan.preset.experiments), 1)
    pool_exp, alone_exp = [], []
    for name in plan.experiments:
        if not (plan.out_dir / "experiments" / name / "result.json").is_file():
            (alone_exp if name in RUN_ALONE else pool_exp).append((name, per_experiment))
    parallel = parallelism.jobs > 1 or cluster is not None
    run_costs = [r["estimated_s"] for r in rows if r["status"] == "to run"]
    exp_costs = [cost for _, cost in pool_exp]
    pool = exp_costs + run_costs if parallel else run_costs + exp_costs
    pool_s = _makespan(pool, parallelism.jobs)
    alone_s = sum(cost for _, cost in alone_exp)
    total = pool_s + alone_s
    basis = "probe" if probe else "preset"
    launcher = "submitit" if cluster is not None else "local"
    log(
        f"study {plan.preset.name!r} into {plan.out_dir}: {len(rows)} runs, "
        f"experiments: {', '.join(plan.experiments) or 'none'}"
    )
    log(f"launcher {launcher}: {parallelism.describe() if cluster is None else parallelism.why}")
    for i, row in enumerate(rows, 1):
        log(
            f"  [{i}/{len(rows)}] {row['variant']:<16} seed {row['seed']}  {row['status']:<6} "
            f"~{_fmt_s(row['estimated_s'])}  {row['settings']}"
        )
    thread_text = f"{threads} thread(s)" if threads else "this process's threads"
    if probe:
        rate_text = ", ".join(f"{k} {v:.0f}" for k, v in rates.items())
        log(
            f"throughput probe at {thread_text} (img/s per run, bare model + data, no "
            f"Lightning): {rate_text}"
        )
    else:
        log(
            f"throughput from the preset: {plan.preset.est_images_per_s:g} img/s per run "
            "(2-core CPU)"
        )
    if share < 1.0:
        log(f"more threads than cores: each run counted at {share:.2f} of that speed")
    at_once = "one at a time" if not parallel else f"up to {parallelism.jobs} at once"
    tasks_text = f"{len(run_costs)} runs" + (
        f" and {', '.join(n for n, _ in pool_exp)}" if pool_exp else ""
    )
    alone_text = (
        f", then {', '.join(n for n, _ in alone_exp)} alone ~{_fmt_s(alone_s)}" if alone_exp else ""
    )
    log(
        f"estimated total ~{_fmt_s(total)}: {tasks_text} {at_once} ~{_fmt_s(pool_s)}{alone_text} "
        f"(basis: {basis}; experiments from the preset estimate; evaluation counted at 3x the "
        f"training rate, plus {RUN_OVERHEAD_S:g} s per run for Lightning)"
    )
    return {
        "runs": rows,
        "estimated_s": total,
        "basis": basis,
        "jobs": parallelism.jobs,
        "threads": threads,
        "launcher": launcher,
    }


class StudyFailed(RuntimeError):
    """Some tasks did not finish; the report was written without them.

    Attributes:
        failures: the ``coordbias.study.launch.Failure`` of each.
    """

    def __init__(self, message: str, failures: Sequence[Failure] = ()) -> None:
        super().__init__(message)
        self.failures = list(failures)


class ExperimentsFailed(StudyFailed):
    """Some open-question experiments failed (every run finished); the report was written
    without them."""


def _raise_failures(failures: Sequence[Failure]) -> None:
    if not failures:
        return
    if all(isinstance(f.task, ExperimentTask) for f in failures):
        parts = [
            f"{f.task.name}: {f.reason}" + (f" (log: {f.log_file})" if f.log_file else "")
            for f in failures
        ]
        raise ExperimentsFailed(
            "the report was written without these experiments: "
            + "; ".join(parts)
            + ". Run the same command again to retry them (finished runs are kept).",
            failures,
        )
    raise StudyFailed(
        "these tasks did not finish: "
        + "; ".join(f.describe() for f in failures)
        + ". The report was written without them; run the same command again to resume them "
        "(finished runs are kept, an interrupted run continues from its last checkpoint).",
        failures,
    )


def _time_spent_before(out_dir: Path) -> float:
    """Seconds the earlier invocations of this study spent (``TIME_FILE``; 0 for a new study)."""
    path = out_dir / TIME_FILE
    if not path.is_file():
        return 0.0
    return float(json.loads(path.read_text()).get("wall_time_s", 0.0))


def _record_time_spent(out_dir: Path, seconds: float) -> None:
    """Write the study's time so far, so that an invocation killed later still counts."""
    write_json(out_dir / TIME_FILE, {"wall_time_s": seconds})


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning's per-run "GPU available" lines would drown the progress lines."""
    lightning_log = logging.getLogger("lightning.pytorch")
    level = lightning_log.level
    lightning_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        lightning_log.setLevel(level)


def _run_rounds(
    tasks: list[Any], launch: Callable[[list[Any]], tuple[list[Failure], list[Any]]], log: Log
) -> list[Failure]:
    """Launch ``tasks``; then wait for those another process held, and do what it left."""
    failures: list[Failure] = []
    while tasks:
        failed, deferred = launch(tasks)
        failures += failed
        tasks = wait_for_others(deferred, log=log) if deferred else []
    return failures


def run_study(
    preset: str | StudyPreset = "quick",
    out_dir: str | Path = "runs/study",
    *,
    seeds: int | Sequence[int] | None = None,
    variants: Sequence[str] | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    experiments: Sequence[str] | None = None,
    jobs: int | None = None,
    threads: int | None = None,
    launcher: str = "local",
    cluster: Any = None,
    dry_run_only: bool = False,
    probe: bool = True,
    log: Log = print,
    train_fn: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Run a study (or resume it) and write ``report.md``, ``report.html``, ``results.json``.

    Args:
        preset: ``quick`` (default), ``seed``, ``full``, ``test`` or a ``StudyPreset``.
        out_dir: the study folder; runs go to ``out_dir/runs/<variant>/seed<k>``.
        seeds: a count or a list of seeds; ``None``: the preset's count.
        variants: variant names; ``None``: the preset's.
        overrides: ``TrainConfig`` fields for every run (runtime ones such as ``devices``,
            ``workers``, ``accelerator`` included).
        experiments: open-question experiments; ``None``: the preset's, ``[]``: none.
        jobs: tasks at once with launcher ``local``: ``1`` runs them one after another in this
            process; more run each in a child process of its own, on GPUs one per device.
            ``None``: one per GPU, else the preset's measured best on this CPU
            (``coordbias.study.launch.resolve_parallelism``).
        threads: torch threads per task; ``None``: cores // jobs (with one job, this process's
            own count).
        launcher: ``local`` or ``submitit`` (a job array; ``coordbias.study.cluster``).
        cluster: with ``submitit``, a ``ClusterOptions`` or a dict of its fields (partition,
            gpus_per_run, time_min, cpus_per_run, array_parallelism, log_dir, slurm, cluster).
        dry_run_only: list the runs, the jobs and the estimated cost, write nothing, return the
            listing.
        probe: with ``dry_run_only``, measure throughput instead of using the preset figure.
        log: receives the progress lines.
        train_fn: the training function (default ``coordbias.training.train``); it runs in this
            process, so it needs ``jobs=1`` (the default when it is given).

    Returns:
        The ``results.json`` dict (or the dry-run listing).

    Raises:
        ValueError: a bad setting (nothing was written).
        StudyFailed: some tasks failed or were killed; the report was written without them and
            the same call resumes them. ``ExperimentsFailed`` when only experiments failed.
    """
    import torch
    from filelock import FileLock

    plan = plan_study(
        preset,
        out_dir,
        seeds=seeds,
        variants=variants,
        overrides=overrides,
        experiments=experiments,
    )
    parallelism, options = _launch_settings(
        plan, jobs=jobs, threads=threads, launcher=launcher, cluster=cluster, train_fn=train_fn
    )
    check_folder_destination(plan.out_dir, "--out")
    if dry_run_only:
        return dry_run(plan, probe=probe, log=log, parallelism=parallelism, cluster=options)

    from coordbias.study.report import write_report

    start = time.perf_counter()
    for run in plan.runs:
        _check_not_stale(run)
    tasks, alone = plan_tasks(plan, parallelism.threads)
    parallel = options is not None or parallelism.jobs > 1
    tasks = _pool_order(tasks, parallel)
    run_tasks = sum(1 for t in tasks if not isinstance(t, ExperimentTask))
    exp_tasks = len(tasks) + len(alone) - run_tasks
    earlier_s = _time_spent_before(plan.out_dir)

    def spent_s() -> float:
        return earlier_s + time.perf_counter() - start

    total = len(plan.runs)
    log(
        f"study {plan.preset.name!r} into {plan.out_dir}: {total} runs, "
        f"{total - run_tasks} done earlier, {run_tasks} to run; experiments to run: "
        f"{', '.join(t.name for t in [*tasks, *alone] if isinstance(t, ExperimentTask)) or 'none'}"
    )
    log(f"launcher {launcher}: " + (parallelism.why if options else parallelism.describe()))
    progress = Progress(
        total_runs=total,
        total_experiments=len(plan.experiments),
        done_runs=total - run_tasks,
        done_experiments=len(plan.experiments) - exp_tasks,
        jobs=min(parallelism.jobs, max(len(tasks), 1)),
        log=log,
        # The time so far, after every task: an invocation killed later still counts.
        on_change=lambda: _record_time_spent(plan.out_dir, spent_s()),
    )

    def in_process(batch: list[Any]) -> tuple[list[Failure], list[Any]]:
        return run_in_process(batch, progress, train_fn=train_fn)

    def pool(batch: list[Any]) -> tuple[list[Failure], list[Any]]:
        if options is not None:
            return _submit(batch, options, parallelism.threads, progress, plan.out_dir, log)
        if parallelism.jobs == 1:
            return in_process(batch)
        return run_local(batch, parallelism, progress, log=log)

    def one_alone(batch: list[Any]) -> tuple[list[Failure], list[Any]]:
        progress.jobs = 1
        if options is not None:  # alone on a node of its own
            return _submit(batch, options, parallelism.threads, progress, plan.out_dir, log)
        return in_process(batch)

    with _quiet_lightning():
        failures = _run_rounds(tasks, pool, log)
        failures += _run_rounds(alone, one_alone, log)
    launch = {
        "launcher": launcher,
        "jobs": parallelism.jobs,
        "threads": parallelism.threads or torch.get_num_threads(),
    }
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(plan.out_dir / "study.lock")):
        results = write_report(plan, wall_time_s=spent_s(), launch=launch)
        _record_time_spent(plan.out_dir, spent_s())
    missing = results["missing_runs"]
    complete = f"runs not finished: {', '.join(missing)}" if missing else "every run finished"
    log(
        f"report written: {plan.out_dir / 'report.md'}, {plan.out_dir / 'report.html'}, "
        f"{plan.out_dir / 'results.json'} ({complete}; elapsed "
        f"{_fmt_s(time.perf_counter() - start)})"
    )
    _raise_failures(failures)
    return results


def _submit(
    batch: list[Any], options: Any, threads: int | None, progress: Progress, out: Path, log: Log
) -> tuple[list[Failure], list[Any]]:
    from coordbias.study.cluster import run_submitit

    return run_submitit(batch, options, options.threads(threads), progress, study_dir=out, log=log)
