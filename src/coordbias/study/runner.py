"""``run_study``: plan the runs, train what is missing, evaluate transfer, write the report.

Layout of a study folder ``DIR``::

    DIR/runs/<variant>/seed<k>/   one training run (coordbias.training.train); its result.json,
                                  written last, means the run finished
    DIR/runs/<variant>/seed<k>/transfer.json   evaluation at the preset's transfer sizes
    DIR/experiments/<name>/       one open-question experiment; result.json written last
    DIR/results.json, DIR/report.md, DIR/report.html, DIR/figures/
    DIR/study_time.json           the study's wall time so far, summed over its invocations

Every file is written atomically, finished runs are never redone, and the report is rebuilt from
what is on disk, so an interrupted study resumes by running the same command again.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from coordbias._util.errors import UserValueError, check_folder_destination
from coordbias._util.files import write_json
from coordbias.study.plan import RunSpec, StudyPlan, recorded_config
from coordbias.study.presets import StudyPreset, get_preset, run_config
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


def _fmt_s(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


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


def dry_run(plan: StudyPlan, *, probe: bool = True, log: Log = print) -> dict[str, Any]:
    """List what ``run_study`` would run and estimate its cost; writes nothing.

    Args:
        plan: from ``plan_study``.
        probe: measure throughput with ``probe_images_per_s`` (a few seconds per variant) rather
            than use the preset's recorded figure.
        log: where lines go.

    Returns:
        ``{"runs": [...], "estimated_s": total, "basis": "probe" | "preset"}``.
    """
    transfer_images = plan.preset.transfer_val_size * len(plan.preset.transfer_sizes)
    rates: dict[str, float] = {}
    rows = []
    for run in plan.runs:
        if run.variant not in rates:
            rates[run.variant] = (
                probe_images_per_s(run.config) if probe else plan.preset.est_images_per_s
            )
        cost = 0.0 if run.done else estimate_run_s(run.config, rates[run.variant], transfer_images)
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
    exp_s = 0.0
    for name in plan.experiments:
        if not (plan.out_dir / "experiments" / name / "result.json").is_file():
            exp_s += plan.preset.est_experiments_s / max(len(plan.preset.experiments), 1)
    total = sum(r["estimated_s"] for r in rows) + exp_s
    basis = "probe" if probe else "preset"
    log(
        f"study {plan.preset.name!r} into {plan.out_dir}: {len(rows)} runs, "
        f"experiments: {', '.join(plan.experiments) or 'none'}"
    )
    for i, row in enumerate(rows, 1):
        log(
            f"  [{i}/{len(rows)}] {row['variant']:<16} seed {row['seed']}  {row['status']:<6} "
            f"~{_fmt_s(row['estimated_s'])}  {row['settings']}"
        )
    if probe:
        rate_text = ", ".join(f"{k} {v:.0f}" for k, v in rates.items())
        log(f"throughput probe (img/s, bare model + data, no Lightning): {rate_text}")
    else:
        log(f"throughput from the preset: {plan.preset.est_images_per_s:g} img/s (2-core CPU)")
    log(
        f"experiments ~{_fmt_s(exp_s)} (preset estimate); estimated total ~{_fmt_s(total)} "
        f"(basis: {basis}; evaluation counted at 3x the training rate, plus "
        f"{RUN_OVERHEAD_S:g} s per run for Lightning)"
    )
    return {"runs": rows, "estimated_s": total, "basis": basis}


def _run_transfer(run: RunSpec, preset: StudyPreset, log: Log) -> None:
    from coordbias.study.transfer import evaluate_at_size

    if not preset.transfer_sizes:
        return
    path = run.run_dir / "transfer.json"
    existing = json.loads(path.read_text()) if path.is_file() else {}
    changed = False
    for size in preset.transfer_sizes:
        key = str(size)
        if key in existing and existing[key].get("val_size") == preset.transfer_val_size:
            continue
        existing[key] = evaluate_at_size(run.run_dir, size, preset.transfer_val_size)
        changed = True
    if changed:
        write_json(path, existing)
        log(f"      transfer evaluated at {', '.join(map(str, preset.transfer_sizes))} px")


def _time_spent_before(out_dir: Path) -> float:
    """Seconds the earlier invocations of this study spent (``TIME_FILE``; 0 for a new study)."""
    path = out_dir / TIME_FILE
    if not path.is_file():
        return 0.0
    return float(json.loads(path.read_text()).get("wall_time_s", 0.0))


def _record_time_spent(out_dir: Path, seconds: float) -> None:
    """Write the study's time so far, so that an invocation killed later still counts."""
    write_json(out_dir / TIME_FILE, {"wall_time_s": seconds})


class ExperimentsFailed(RuntimeError):
    """Some open-question experiments raised; the report was written without them."""


def _run_experiment(name: str, out_dir: Path, quick: bool, seed: int, log: Log) -> str | None:
    """Run one experiment unless it finished earlier; return its error text if it failed."""
    exp_dir = out_dir / "experiments" / name
    if (exp_dir / "result.json").is_file():
        log(f"experiment {name}: done earlier, skipped")
        return None
    try:
        module = importlib.import_module(f"coordbias.study.experiments.{name}")
    except ImportError as err:
        log(f"experiment {name}: not available ({err}); the report leaves it out")
        return f"{name}: not available ({err})"
    start = time.perf_counter()
    try:
        result = module.run(exp_dir, quick=quick, seed=seed)
    except Exception as err:  # the runs are safe on disk: write the report, then fail loudly
        log(f"experiment {name}: failed ({type(err).__name__}: {err}); the report leaves it out")
        return f"{name}: {type(err).__name__}: {err}"
    write_json(exp_dir / "result.json", result)
    log(f"experiment {name}: done in {_fmt_s(time.perf_counter() - start)}")
    return None


def run_study(
    preset: str | StudyPreset = "quick",
    out_dir: str | Path = "runs/study",
    *,
    seeds: int | Sequence[int] | None = None,
    variants: Sequence[str] | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    experiments: Sequence[str] | None = None,
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
        dry_run_only: list the runs and their estimated cost, write nothing, return the listing.
        probe: with ``dry_run_only``, measure throughput instead of using the preset figure.
        log: receives the progress lines.
        train_fn: the training function (default ``coordbias.training.train``).

    Returns:
        The ``results.json`` dict (or the dry-run listing).
    """
    plan = plan_study(
        preset,
        out_dir,
        seeds=seeds,
        variants=variants,
        overrides=overrides,
        experiments=experiments,
    )
    check_folder_destination(plan.out_dir, "--out")
    if dry_run_only:
        return dry_run(plan, probe=probe, log=log)
    if train_fn is None:
        from coordbias.training import train as train_fn

    from coordbias.study.report import write_report

    start = time.perf_counter()
    for run in plan.runs:
        _check_not_stale(run)
    earlier_s = _time_spent_before(plan.out_dir)

    def spent_s() -> float:
        return earlier_s + time.perf_counter() - start

    total = len(plan.runs)
    todo = [r for r in plan.runs if not r.done]
    log(
        f"study {plan.preset.name!r} into {plan.out_dir}: {total} runs, "
        f"{total - len(todo)} done earlier, {len(todo)} to run"
    )
    trained = 0
    train_time = 0.0
    lightning_log = logging.getLogger("lightning.pytorch")
    level = lightning_log.level
    lightning_log.setLevel(logging.WARNING)  # its per-run "GPU available" lines drown progress
    try:
        for i, run in enumerate(plan.runs, 1):
            label = f"[{i}/{total}] {run.variant} seed {run.seed}"
            if run.done:
                log(f"{label}: done earlier, skipped")
            else:
                # An interrupted run continues from its last checkpoint (or starts afresh when
                # it has none); nothing it wrote is thrown away.
                config = dataclasses.replace(run.config, resume=run.run_dir.exists())
                if (run.run_dir / "result.json").is_file():  # trains further: a new transfer
                    (run.run_dir / "transfer.json").unlink(missing_ok=True)
                t0 = time.perf_counter()
                train_fn(config)
                trained += 1
                train_time += time.perf_counter() - t0
                _record_time_spent(plan.out_dir, spent_s())
                left = sum(1 for r in plan.runs[i:] if not r.done)
                eta = train_time / trained * left
                log(
                    f"{label}: trained in {_fmt_s(time.perf_counter() - t0)}; runs done "
                    f"{i}/{total}, elapsed {_fmt_s(time.perf_counter() - start)}, "
                    f"about {_fmt_s(eta)} left"
                )
            _run_transfer(run, plan.preset, log)
    finally:
        lightning_log.setLevel(level)
    first_seed = plan.seeds[0]
    failures = [
        error
        for name in plan.experiments
        if (error := _run_experiment(
            name, plan.out_dir, plan.preset.experiments_quick, first_seed, log
        ))
    ]  # fmt: skip
    results = write_report(plan, wall_time_s=spent_s())
    _record_time_spent(plan.out_dir, spent_s())
    log(
        f"report written: {plan.out_dir / 'report.md'}, {plan.out_dir / 'report.html'}, "
        f"{plan.out_dir / 'results.json'} (elapsed {_fmt_s(time.perf_counter() - start)})"
    )
    if failures:
        raise ExperimentsFailed(
            "the report was written without these experiments: "
            + "; ".join(failures)
            + ". Run the same command again to retry them (finished runs are kept)."
        )
    return results
