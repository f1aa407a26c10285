"""What a study would cost, before it runs: ``dry_run`` (``coordbias study --dry-run``).

Each run is costed from a throughput (measured by :func:`probe_images_per_s`, or the preset's
recorded figure) by :func:`estimate_run_s`; the tasks are then placed on the jobs in the order
the study starts them (:func:`makespan`). Writes nothing.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from coordbias.scheduler.launch import Parallelism, makespan, resolve_parallelism
from coordbias.scheduler.progress import Log, fmt_duration
from coordbias.study.plan import StudyPlan


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
    pool_s = makespan(pool, parallelism.jobs)
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
            f"~{fmt_duration(row['estimated_s'])}  {row['settings']}"
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
    alone_text = ""
    if alone_exp:
        alone_text = f", then {', '.join(n for n, _ in alone_exp)} alone ~{fmt_duration(alone_s)}"
    log(
        f"estimated total ~{fmt_duration(total)}: {tasks_text} {at_once} "
        f"~{fmt_duration(pool_s)}{alone_text} "
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
