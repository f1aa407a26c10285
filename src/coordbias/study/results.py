"""The study's results: ``results.json`` built from what is on disk.

Everything comes from the study folder (each run's ``result.json`` and ``transfer.json``, each
experiment's ``result.json``), so the results of a resumed study are those of an uninterrupted
one. Timings live apart from the metrics (``TIMING_KEYS``: ``timing`` and the
``train_images_per_s`` / ``wall_time_s`` fields) so that two runs of one seed on one machine give
identical numbers elsewhere.
"""

from __future__ import annotations

import importlib
import platform
from pathlib import Path
from typing import Any

from coordbias._util.errors import UserValueError
from coordbias._util.files import read_json
from coordbias.data import CLASS_NAMES
from coordbias.models.variants import VARIANTS
from coordbias.reporting.stats import mean_std, welch_test
from coordbias.study.plan import StudyPlan
from coordbias.study.tasks import TRANSFER_FILE, experiment_damage, read_transfer
from coordbias.training.run import TrainResult

#: The report's label of each class: its index and what it means (``data.CLASS_NAMES``).
CLASS_LABELS = ("background", *(f"{c} {name}" for c, name in enumerate(CLASS_NAMES) if c))

# The original's figures (FACTS.md, "Reported results").
ORIGINAL = {
    "vanilla": {"recall": [0.992, 0.428, 0.572, 0.523], "val_loss_final": 0.118},
    "coordbias": {"recall": [0.997, 0.997, 0.996, 0.978], "val_loss_final": 0.012},
}

# Comparisons tested when both variants ran: (variant, reference, the question it answers).
COMPARISONS = (
    ("coordbias", "vanilla", "does the coordinate bias help?"),
    ("coordconv", "vanilla", "does CoordConv help?"),
    ("param_matched", "vanilla", "do extra parameters alone help?"),
    ("coordbias", "param_matched", "is the gain more than the extra parameters? (question 2)"),
    ("coordbias", "coordconv", "coordinate bias against CoordConv (question 3)"),
    ("coordbias_bn", "vanilla_bn", "does the coordinate bias survive BatchNorm? (question 1)"),
    ("vanilla", "vanilla_circular", "how much position does zero padding leak?"),
)

# Keys that hold timings (and how the work was spread); everything else in results.json is
# deterministic.
TIMING_KEYS = ("wall_time_s", "train_images_per_s", "timing")

# The original's table gives 3 decimals: our range is compared with it at that precision.
ORIGINAL_DIGITS = 3


def _load_json(path: Path) -> Any:
    """The JSON value in ``path`` (``read_json``: a damaged file is named in one line)."""
    return read_json(path)


def collect(plan: StudyPlan) -> dict[str, list[dict[str, Any]]]:
    """Finished runs per variant: ``{variant: [{"seed", "result", "transfer", "run_dir"}]}``.

    A run whose ``result.json`` or ``config.yaml`` is damaged is not finished (``RunSpec.done``);
    a damaged ``transfer.json`` counts as no transfer evaluation.
    """
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in plan.variants}
    for run in plan.runs:
        if not run.done:
            continue
        try:
            transfer = read_transfer(run.run_dir / TRANSFER_FILE)
        except UserValueError:
            transfer = {}
        runs[run.variant].append(
            {
                "seed": run.seed,
                "run_dir": run.run_dir,
                "result": TrainResult.load(run.run_dir).to_dict(),
                "transfer": transfer,
            }
        )
    return {v: r for v, r in runs.items() if r}


def _variant_summary(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    results = [r["result"] for r in runs]
    recall = [res["metrics"]["recall"] for res in results]
    miou = [res["metrics"]["miou"] for res in results]
    epochs = min(len(res["val_loss"]) for res in results)
    val_loss = [res["val_loss"][:epochs] for res in results]
    summary: dict[str, Any] = {
        "description": VARIANTS[name].description,
        "seeds": [r["seed"] for r in runs],
        "recall": mean_std(recall),
        "miou": mean_std(miou),
        "pixel_accuracy": mean_std([res["metrics"]["pixel_accuracy"] for res in results]),
        "val_loss": mean_std(val_loss) if epochs else {"mean": [], "std": []},
        "params": int(results[0]["params"]),
        "train_images_per_s": float(
            sum(res["train_images_per_s"] for res in results) / len(results)
        ),
        "per_seed": [
            {"seed": r["seed"], "recall": rec, "miou": m, "val_loss": res["val_loss"]}
            for r, rec, m, res in zip(runs, recall, miou, results)
        ],
    }
    transfer: dict[str, Any] = {}
    sizes = sorted({int(k) for r in runs for k in r["transfer"]})
    for size in sizes:
        got = [(r, r["transfer"].get(str(size))) for r in runs]
        got = [(r, t) for r, t in got if t]
        if not got:
            continue
        t_miou = [t["metrics"]["miou"] for _, t in got]
        drops = [r["result"]["metrics"]["miou"] - t["metrics"]["miou"] for r, t in got]
        transfer[str(size)] = {
            "trained_size": got[0][1]["trained_size"],
            "val_size": got[0][1]["val_size"],
            "recall": mean_std([t["metrics"]["recall"] for _, t in got]),
            "miou": mean_std(t_miou),
            "miou_drop": mean_std(drops),
        }
    summary["transfer"] = transfer
    return summary


def _tests(variants: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for a, b, question in COMPARISONS:
        if a not in variants or b not in variants:
            continue
        va, vb = variants[a]["per_seed"], variants[b]["per_seed"]
        out.append(
            {
                "a": a,
                "b": b,
                "question": question,
                "miou": welch_test([s["miou"] for s in va], [s["miou"] for s in vb]),
                "recall": [
                    welch_test([s["recall"][c] for s in va], [s["recall"][c] for s in vb])
                    for c in range(len(va[0]["recall"]))
                ],
            }
        )
    return out


def _run_threads(runs: dict[str, list[dict[str, Any]]]) -> list[int]:
    """The torch thread counts the finished runs trained with (their ``env.json``)."""
    counts = set()
    for rs in runs.values():
        for r in rs:
            path = Path(r["run_dir"]) / "env.json"
            if not path.is_file():
                continue
            try:
                env = _load_json(path)
            except UserValueError:  # a damaged env.json only hides the run's thread count
                continue
            threads = env.get("torch_threads") if isinstance(env, dict) else None
            if isinstance(threads, int):
                counts.add(threads)
    return sorted(counts)


def _environment(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The machine and versions; ``torch_threads`` is the runs' own count (from their
    ``env.json``; a list when they differ), else this process's."""
    import numpy
    import torch

    versions = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
    }
    for name in ("lightning", "torchmetrics", "scipy"):
        try:
            versions[name] = importlib.import_module(name).__version__
        except ImportError:  # pragma: no cover - the study extra installs them
            versions[name] = None
    import os

    return {
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": _one_or_all(_run_threads(runs)) or torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "versions": versions,
    }


def _one_or_all(values: list[int]) -> int | list[int] | None:
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _is_original_setting(plan: StudyPlan) -> bool:
    """Whether the plan's runs use the original's setting (``training.settings.ORIGINAL``)."""
    from coordbias.training.settings import ORIGINAL as ORIGINAL_SETTING

    return bool(plan.runs) and all(
        getattr(run.config, key) == value
        for run in plan.runs
        for key, value in ORIGINAL_SETTING.items()
    )


def _spread(values: list[float], original: float) -> dict[str, Any]:
    """Mean, std, range of ``values`` and whether ``original`` lies inside the range (both ends
    rounded to the original's ``ORIGINAL_DIGITS`` decimals)."""
    stats = mean_std(values)
    low, high = min(values), max(values)
    inside = round(low, ORIGINAL_DIGITS) <= original <= round(high, ORIGINAL_DIGITS)
    return {**stats, "min": float(low), "max": float(high), "original": original, "inside": inside}


def original_across_seeds(plan: StudyPlan, variants: dict[str, Any]) -> dict[str, Any] | None:
    """Where the original's single runs fall among our seeds, per network it reported.

    For each of the original's networks (``ORIGINAL``: vanilla and coordbias) that finished
    with two or more seeds: per class recall and the final validation loss over the seeds (mean,
    std, min, max), the original's number, and whether it lies inside our range.

    Returns:
        ``{"same_setting": bool, "seeds": n, "networks": {name: {"seeds", "recall": [per
        class], "val_loss_final"}}, "inside": k, "compared": m}`` (``k`` of the ``m`` recall
        numbers inside our range), or ``None`` when no such network has two seeds.
    """
    networks: dict[str, Any] = {}
    for name, original in ORIGINAL.items():
        summary = variants.get(name)
        if summary is None or len(summary["per_seed"]) < 2:
            continue
        per_seed = summary["per_seed"]
        recall = [
            _spread([s["recall"][c] for s in per_seed], value)
            for c, value in enumerate(original["recall"])
        ]
        losses = [s["val_loss"][-1] for s in per_seed if s["val_loss"]]
        loss = _spread(losses, original["val_loss_final"]) if losses else None
        networks[name] = {"seeds": summary["seeds"], "recall": recall, "val_loss_final": loss}
    if not networks:
        return None
    compared = [r for n in networks.values() for r in n["recall"]]
    return {
        "same_setting": _is_original_setting(plan),
        "networks": networks,
        "inside": sum(r["inside"] for r in compared),
        "compared": len(compared),
    }


def coord_weight_summary(runs: dict[str, list]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean |coord_weight| per layer, y and x columns, of each coordinate-bias variant's seed 0."""
    from coordbias.models import coordinate_layers
    from coordbias.training import load_run

    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, rs in runs.items():
        _, model = load_run(rs[0]["run_dir"])
        layers = {
            layer: {
                "y": float(w.detach().abs()[:, 0].mean()),
                "x": float(w.detach().abs()[:, 1].mean()),
            }
            for layer, w in coordinate_layers(model)
            if w.dim() == 2 and w.shape[1] == 2
        }
        if layers:
            out[name] = layers
    return out


def build_results(
    plan: StudyPlan, wall_time_s: float, launch: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``results.json`` dict of a study from what is on disk.

    ``launch`` (launcher, jobs, threads) goes under ``timing``: how the work was spread is not a
    result, and the metrics do not depend on it.
    """
    runs = collect(plan)
    variants = {name: _variant_summary(name, r) for name, r in runs.items()}
    experiments = {}
    for name in plan.experiments:
        folder = plan.out_dir / "experiments" / name
        if (folder / "result.json").is_file() and not experiment_damage(folder):
            experiments[name] = _load_json(folder / "result.json")
    settings = dict(plan.preset.train)
    settings.update({k: v for k, v in plan.overrides.items()})
    return {
        "preset": plan.preset.name,
        "description": plan.preset.description,
        "settings": settings,
        "seeds": plan.seeds,
        "transfer_sizes": list(plan.preset.transfer_sizes),
        "variants": variants,
        "tests": _tests(variants),
        "original": ORIGINAL,
        "original_across_seeds": original_across_seeds(plan, variants),
        "coord_weights": coord_weight_summary(runs) if runs else {},
        "experiments": experiments,
        "missing_runs": [f"{r.variant}/seed{r.seed}" for r in plan.runs if not r.done],
        "environment": _environment(runs),
        "wall_time_s": float(wall_time_s),
        "timing": {
            "study_wall_time_s": float(wall_time_s),
            "launch": dict(launch or {}),
            "run_wall_time_s": {
                f"{name}/seed{r['seed']}": r["result"].get("wall_time_s")
                for name, rs in runs.items()
                for r in rs
            },
        },
    }
