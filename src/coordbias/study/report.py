"""The study report: ``results.json``, ``report.md`` and a self-contained ``report.html``.

Everything is rebuilt from the study folder (each run's ``result.json`` and ``transfer.json``,
each experiment's ``result.json``), so the report of a resumed study is the same as that of an
uninterrupted one. Timings live apart from the metrics (``timing`` and the
``train_images_per_s`` / ``wall_time_s`` fields) so that two runs of one seed on one machine give
identical numbers elsewhere.
"""

from __future__ import annotations

import base64
import html
import importlib
import io
import json
import platform
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coordbias._util.files import write_bytes, write_json, write_text
from coordbias.study.presets import QUICK_NOTES
from coordbias.study.stats import describe_power, mean_std, welch_test
from coordbias.study.variants import VARIANTS

if TYPE_CHECKING:  # pragma: no cover
    from coordbias.study.runner import StudyPlan

CLASS_LABELS = ("background", "1 yellow-right", "2 yellow-left", "3 red-bottom")

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

# Keys that hold timings; everything else in results.json is deterministic.
TIMING_KEYS = ("wall_time_s", "train_images_per_s", "timing")

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; }
code { background: #f5f5f5; padding: 0 0.2em; } pre { background: #f5f5f5; padding: 0.6em; }
"""


# --------------------------------------------------------------------------- collecting


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def collect(plan: StudyPlan) -> dict[str, list[dict[str, Any]]]:
    """Finished runs per variant: ``{variant: [{"seed", "result", "transfer", "run_dir"}]}``."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in plan.variants}
    for run in plan.runs:
        if not run.done:
            continue
        transfer_path = run.run_dir / "transfer.json"
        runs[run.variant].append(
            {
                "seed": run.seed,
                "run_dir": run.run_dir,
                "result": _load_json(run.run_dir / "result.json"),
                "transfer": _load_json(transfer_path) if transfer_path.is_file() else {},
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


def _environment() -> dict[str, Any]:
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
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "versions": versions,
    }


def build_results(plan: StudyPlan, wall_time_s: float) -> dict[str, Any]:
    """The ``results.json`` dict of a study from what is on disk."""
    runs = collect(plan)
    variants = {name: _variant_summary(name, r) for name, r in runs.items()}
    experiments = {}
    for name in plan.experiments:
        path = plan.out_dir / "experiments" / name / "result.json"
        if path.is_file():
            experiments[name] = _load_json(path)
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
        "coord_weights": {},
        "experiments": experiments,
        "missing_runs": [f"{r.variant}/seed{r.seed}" for r in plan.runs if not r.done],
        "environment": _environment(),
        "wall_time_s": float(wall_time_s),
        "timing": {
            "study_wall_time_s": float(wall_time_s),
            "run_wall_time_s": {
                f"{name}/seed{r['seed']}": r["result"].get("wall_time_s")
                for name, rs in runs.items()
                for r in rs
            },
        },
    }


# --------------------------------------------------------------------------- figures


def _save(fig: Any, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    write_bytes(path, buffer.getvalue())


def _figure(**kwargs: Any) -> Any:
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def plot_loss(variants: dict[str, Any], runs: dict[str, list], path: Path) -> None:
    """Training loss (smoothed, first seed) and mean validation loss per epoch of every variant."""
    import numpy as np

    fig = _figure(figsize=(9, 3.6))
    ax_t, ax_v = fig.subplots(1, 2)
    for name, summary in variants.items():
        train = np.asarray(runs[name][0]["result"]["train_loss"], dtype=float)
        if train.size:
            k = max(1, train.size // 25)
            smooth = np.convolve(train, np.ones(k) / k, mode="valid")
            ax_t.plot(np.arange(smooth.size) + k - 1, smooth, label=name)
        mean = np.asarray(summary["val_loss"]["mean"])
        std = np.asarray(summary["val_loss"]["std"])
        epochs = np.arange(1, mean.size + 1)
        ax_v.errorbar(epochs, mean, yerr=std, marker="o", capsize=3, label=name)
    ax_t.set(title="training loss (first seed, smoothed)", xlabel="step", ylabel="cross-entropy")
    ax_v.set(title="validation loss (mean +- std over seeds)", xlabel="epoch", yscale="log")
    ax_v.set_xticks(range(1, max(len(s["val_loss"]["mean"]) for s in variants.values()) + 1))
    ax_t.legend(fontsize=8)
    _save(fig, path)


def plot_recall_bars(variants: dict[str, Any], path: Path) -> None:
    """Recall per class, grouped per variant, bars in the label colours, error bars = std."""
    import numpy as np

    from coordbias.data import CLASS_COLORS

    names = list(variants)
    fig = _figure(figsize=(max(6, 1.6 * len(names) + 2), 3.8))
    ax = fig.subplots()
    width = 0.8 / 4
    for c in range(4):
        means = [variants[n]["recall"]["mean"][c] for n in names]
        stds = [variants[n]["recall"]["std"][c] for n in names]
        xs = np.arange(len(names)) + (c - 1.5) * width
        color = CLASS_COLORS[c]
        ax.bar(
            xs,
            means,
            width,
            yerr=stds,
            capsize=2,
            color=color,
            edgecolor="0.3",
            error_kw={"ecolor": "0.45", "elinewidth": 1},
            label=CLASS_LABELS[c],
        )
        text_color = "black" if sum(color) > 1.5 else "white"  # readable on yellow and on black
        for x, m in zip(xs, means):
            ax.text(
                x,
                0.03,
                f"{m:.2f}",
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,
                color=text_color,
            )
    ax.set_xticks(np.arange(len(names)), names, rotation=15)
    ax.set(ylim=(0, 1.05), ylabel="recall (mean ± std over seeds)", title="recall per class")
    ax.legend(fontsize=7, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    _save(fig, path)


def _colorize(mask: Any) -> Any:
    import numpy as np

    from coordbias.data import CLASS_COLORS

    palette = np.asarray(CLASS_COLORS, dtype=float)
    return palette[np.asarray(mask)]


def plot_variant_predictions(
    plan: StudyPlan, runs: dict[str, list], path: Path, count: int = 4
) -> None:
    """Input, label, and every variant's first-seed prediction on the same validation images."""
    import torch

    from coordbias.training import load_run, make_datasets

    names = list(runs)
    first_config, _ = load_run(runs[names[0]][0]["run_dir"])
    _, val = make_datasets(first_config)
    count = min(count, len(val))
    images = torch.stack([val[i][0] for i in range(count)])
    masks = torch.stack([val[i][1] for i in range(count)])
    preds = {}
    for name in names:
        _, model = load_run(runs[name][0]["run_dir"])
        with torch.no_grad():
            preds[name] = model(images).argmax(1)
    cols = 2 + len(names)
    fig = _figure(figsize=(1.6 * cols, 1.6 * count + 0.4))
    axes = fig.subplots(count, cols, squeeze=False)
    for i in range(count):
        panels = [images[i].permute(1, 2, 0).numpy(), _colorize(masks[i])]
        panels += [_colorize(preds[n][i]) for n in names]
        for j, panel in enumerate(panels):
            ax = axes[i][j]
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title((["input", "label", *names])[j], fontsize=8)
    _save(fig, path)


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


def plot_coord_weights(summary: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    """Bars of mean |coord_weight| per layer (y and x columns), one panel per variant."""
    import numpy as np

    fig = _figure(figsize=(9, 3.2 * len(summary)))
    axes = fig.subplots(len(summary), 1, squeeze=False)
    for ax, (name, layers) in zip(axes[:, 0], summary.items()):
        keys = list(layers)
        xs = np.arange(len(keys))
        ax.bar(xs - 0.2, [layers[k]["y"] for k in keys], 0.4, label="y (rows)", color="tab:blue")
        ax.bar(
            xs + 0.2, [layers[k]["x"] for k in keys], 0.4, label="x (columns)", color="tab:orange"
        )
        ax.set_xticks(xs, keys, rotation=30, fontsize=7, ha="right")
        ax.set(ylabel="mean |coord_weight|", title=f"{name}: learned coordinate weights")
        ax.legend(fontsize=8)
    _save(fig, path)


def plot_transfer(variants: dict[str, Any], path: Path) -> None:
    """mIoU at the training size and at each transfer size, per variant."""
    import numpy as np

    names = [n for n in variants if variants[n]["transfer"]]
    sizes = sorted({int(s) for n in names for s in variants[n]["transfer"]})
    fig = _figure(figsize=(max(6, 1.4 * len(names) + 2), 3.4))
    ax = fig.subplots()
    groups = ["trained", *map(str, sizes)]
    width = 0.8 / len(groups)
    for g, group in enumerate(groups):
        means, stds = [], []
        for n in names:
            entry = (
                variants[n]["miou"]
                if group == "trained"
                else variants[n]["transfer"].get(group, {"miou": {"mean": np.nan, "std": 0.0}})[
                    "miou"
                ]
            )
            means.append(entry["mean"])
            stds.append(entry["std"])
        label = "training size" if group == "trained" else f"{group} px"
        ax.bar(
            np.arange(len(names)) + (g - (len(groups) - 1) / 2) * width,
            means,
            width,
            yerr=stds,
            capsize=2,
            label=label,
        )
    ax.set_xticks(np.arange(len(names)), names, rotation=15)
    ax.set(ylim=(0, 1.05), ylabel="mIoU", title="resolution transfer")
    ax.legend(fontsize=8)
    _save(fig, path)


# --------------------------------------------------------------------------- markdown


def _f(x: Any, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    return f"{x:.{digits}f}"


def _ms(entry: dict[str, Any], i: int | None = None, digits: int = 3) -> str:
    mean, std = entry["mean"], entry["std"]
    if i is not None:
        mean, std = mean[i], std[i]
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _setup_section(plan: StudyPlan, results: dict[str, Any]) -> str:
    s = results["settings"]
    env = results["environment"]
    rows = [[k, f"`{v}`"] for k, v in s.items()]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v)
    lines = [
        "## Setup",
        "",
        f"Preset **{plan.preset.name}**: {plan.preset.description}. Seeds "
        f"{', '.join(map(str, plan.seeds))} per variant; every seed trains on the same data set "
        f"(data seed {s.get('data_seed', 0)}) and is evaluated on the same "
        f"{s.get('val_size')} validation images, so seeds differ in initialisation and batch "
        "order only.",
        "",
        _table(["setting", "value"], rows),
        "",
        "Variants:",
        "",
    ]
    lines += [f"- `{n}`: {VARIANTS[n].description}" for n in plan.variants]
    lines += [
        "",
        f"Machine: {env['system']}, {env['processor']}, {env['cpu_count']} CPUs, "
        f"{env['torch_threads']} torch threads, GPU: {env['cuda'] or 'none'}. Versions: "
        f"{versions}. Runs with the same seeds, machine and number of torch threads give "
        "identical numbers; another thread count changes the order of float sums and so the "
        "digits.",
    ]
    if plan.preset.name == "quick":
        lines += ["", "How the quick setting was chosen (probes, vanilla | coordbias):", ""]
        lines += [f"- {note}" for note in QUICK_NOTES]
        lines += [
            "",
            "At 64 px the effect is real but smaller than at 128 px and it shrinks with longer "
            "training: zero padding and a receptive field that covers much of the image let the "
            "vanilla network learn position too. The `seed` preset runs the original's setting.",
        ]
    return "\n".join(lines)


def _results_section(variants: dict[str, Any]) -> str:
    header = [
        "variant",
        "seeds",
        *[f"recall {c}" for c in CLASS_LABELS],
        "mIoU",
        "val loss per epoch",
        "params",
        "train img/s",
    ]
    rows = []
    for name, v in variants.items():
        losses = ", ".join(
            f"{m:.4f} ± {s:.4f}" for m, s in zip(v["val_loss"]["mean"], v["val_loss"]["std"])
        )
        rows.append(
            [
                f"`{name}`",
                str(len(v["seeds"])),
                *[_ms(v["recall"], c) for c in range(4)],
                _ms(v["miou"]),
                losses,
                f"{v['params']:,}",
                f"{v['train_images_per_s']:.0f}",
            ]
        )
    return "\n".join(["## Results (mean ± std over seeds)", "", _table(header, rows)])


def _original_section(variants: dict[str, Any]) -> str:
    rows = []
    for name in ("vanilla", "coordbias"):
        orig = ORIGINAL[name]
        rows.append(
            [f"original {name}", *[_f(r) for r in orig["recall"]], _f(orig["val_loss_final"])]
        )
        if name in variants:
            v = variants[name]
            final = v["val_loss"]["mean"][-1] if v["val_loss"]["mean"] else None
            rows.append([f"**ours** {name}", *[_f(r) for r in v["recall"]["mean"]], _f(final, 4)])
    header = ["", *CLASS_LABELS, "final val loss"]
    return "\n".join(
        [
            "## Against the original",
            "",
            "The original's table (128 px, width 64, SGD, batch 1, 2 epochs, one run each) "
            "beside our means. Only the `seed` preset uses the original's setting; other presets "
            "differ in size and schedule, so compare the pattern (which classes vanilla misses), "
            "not the digits.",
            "",
            _table(header, rows),
        ]
    )


def _tests_section(tests: list[dict[str, Any]]) -> str:
    if not tests:
        return "## Significance\n\nNo pair of compared variants ran, so there is no test."
    rows = []
    for t in tests:
        metrics = [("mIoU", t["miou"])] + [
            (f"recall {c}", r) for c, r in zip(CLASS_LABELS, t["recall"])
        ]
        for label, r in metrics:
            rows.append(
                [
                    f"`{t['a']}` - `{t['b']}`",
                    label,
                    f"{r['mean_diff']:+.3f}",
                    _f(r["t"], 2),
                    _f(r["df"], 1),
                    _p(r["p"]),
                    _f(r["hedges_g"], 2),
                ]
            )
    first = tests[0]
    power = describe_power(first["miou"]["n_a"], first["miou"]["n_b"])
    return "\n".join(
        [
            "## Significance",
            "",
            "Welch's t-test (unequal variances, two-sided, scipy) over seeds, with Hedges' g (the "
            "difference in pooled standard deviations, corrected for small samples). "
            "n/a: undefined (a single seed, or no spread at all).",
            "",
            _table(["comparison", "metric", "mean diff", "t", "df", "p", "g"], rows),
            "",
            "Questions: "
            + "; ".join(f"`{t['a']}` vs `{t['b']}`: {t['question']}" for t in tests)
            + ".",
            "",
            power,
        ]
    )


def _transfer_section(variants: dict[str, Any]) -> str:
    rows = []
    for name, v in variants.items():
        for size, t in v["transfer"].items():
            rows.append(
                [
                    f"`{name}`",
                    f"{t['trained_size']} → {size}",
                    _ms(v["miou"]),
                    _ms(t["miou"]),
                    _ms(t["miou_drop"]),
                    *[_ms(t["recall"], c, 2) for c in range(4)],
                ]
            )
    if not rows:
        return ""
    header = [
        "variant",
        "size",
        "mIoU trained size",
        "mIoU new size",
        "drop",
        *[f"recall {c}" for c in CLASS_LABELS],
    ]
    return "\n".join(
        [
            "## Resolution transfer",
            "",
            "Each run, trained at one size, evaluated on freshly generated validation images of "
            'another size (the network is fully convolutional). With `coords="center"` the '
            "coordinates are normalised to [-1, 1] over each feature map, so a circle in the right "
            "half stays at x > 0 at any size; the position a vanilla network reads from zero "
            "padding is measured in pixels from the border and does not scale with the image.",
            "",
            _table(header, rows),
            "",
            "![resolution transfer](figures/transfer.png)",
        ]
    )


def _coord_section(summary: dict[str, dict[str, dict[str, float]]]) -> str:
    if not summary:
        return ""
    rows = [
        [f"`{name}`", f"`{layer}`", f"{w['y']:.4f}", f"{w['x']:.4f}"]
        for name, layers in summary.items()
        for layer, w in layers.items()
    ]
    return "\n".join(
        [
            "## Learned coordinate weights",
            "",
            "Mean |coord_weight| per layer of each coordinate-bias variant's first seed; column y "
            "multiplies the row coordinate, x the column coordinate. Classes 1 and 2 depend on x "
            "(left or right), class 3 on y (bottom half).",
            "",
            _table(["variant", "layer", "mean abs y", "mean abs x"], rows),
            "",
            "![coordinate weights](figures/coord_weights.png)",
        ]
    )


def _experiment_sections(plan: StudyPlan, results: dict[str, Any]) -> str:
    parts = ["## Open questions of the original"]
    for name in plan.experiments:
        result = results["experiments"].get(name)
        if result is None:
            parts.append(f"The `{name}` experiment has no result (not available or failed).")
            continue
        try:
            module = importlib.import_module(f"coordbias.study.experiments.{name}")
            parts.append(module.markdown(result, f"experiments/{name}").strip())
        except Exception as err:  # one broken section must not cost the whole report
            parts.append(
                f"The `{name}` section could not be rendered ({type(err).__name__}: "
                f"{err}); its numbers are in results.json."
            )
    return "\n\n".join(parts) if len(parts) > 1 else ""


def reproduce_command(plan: StudyPlan) -> str:
    """The ``coordbias study`` command line that plans ``plan`` again."""
    parts = [
        f"coordbias study --preset {plan.preset.name} --out {plan.out_dir}",
        f"--variants {','.join(plan.variants)}",
        f"--seeds {len(plan.seeds)}" if plan.seeds == list(range(len(plan.seeds))) else "",
        *[f"--set {k}={v}" for k, v in plan.overrides.items()],
    ]
    if list(plan.experiments) != list(plan.preset.experiments):
        parts.append("--experiments " + " ".join(plan.experiments))
    return " ".join(p for p in parts if p)


def render_markdown(plan: StudyPlan, results: dict[str, Any], figures: dict[str, str]) -> str:
    """The report as Markdown; ``figures`` maps figure keys to paths relative to the report."""
    variants = results["variants"]
    lines = [f"# coordbias study: preset `{plan.preset.name}`"]
    ab = next((t for t in results["tests"] if (t["a"], t["b"]) == ("coordbias", "vanilla")), None)
    if ab is not None:
        va, vb = variants["coordbias"], variants["vanilla"]
        lines += [
            f"**Summary.** Over {len(va['seeds'])} seeds, coordbias reached mIoU "
            f"{_ms(va['miou'])} against vanilla's {_ms(vb['miou'])} (Welch p = "
            f"{_p(ab['miou']['p'])}, Hedges' g = {_f(ab['miou']['hedges_g'], 2)}).",
        ]
    if results["missing_runs"]:
        lines += [f"**Incomplete:** runs not finished: {', '.join(results['missing_runs'])}."]
    sections = [_setup_section(plan, results), _results_section(variants)]
    if "loss" in figures:
        sections.append(f"![loss curves]({figures['loss']})")
    if "recall" in figures:
        sections.append(f"![recall per class]({figures['recall']})")
    sections += [_original_section(variants), _tests_section(results["tests"])]
    if "predictions" in figures:
        sections.append(
            "## Predictions\n\nThe first validation images; columns: input, label, "
            f"each variant's first seed.\n\n![predictions]({figures['predictions']})"
        )
    sections += [
        _coord_section(results["coord_weights"]),
        _transfer_section(variants),
        _experiment_sections(plan, results),
        "## Reproduce\n\n```\n" + reproduce_command(plan) + "\n```\n\n"
        "The same command resumes an interrupted study: finished runs are kept.",
    ]
    lines += [s for s in sections if s]
    return "\n\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- html


def _data_uri(path: Path) -> str:
    mime = {
        "png": "image/png",
        "svg": "image/svg+xml",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
    }.get(path.suffix.lstrip(".").lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def render_html(markdown_text: str, base_dir: Path, title: str) -> str:
    """A self-contained HTML page of ``markdown_text``: images inlined as data URIs, no links out.

    Images whose file is missing are replaced by their alt text.
    """
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])

    def inline(match: re.Match) -> str:
        src = html.unescape(match.group(2))
        path = base_dir / src
        if src.startswith("data:"):
            return match.group(0)
        if not path.is_file() or "://" in src:
            return f"<em>[figure missing: {html.escape(src)}]</em>"
        return f'<img{match.group(1)}src="{_data_uri(path)}"{match.group(3)}>'

    body = re.sub(r'<img([^>]*?)src="([^"]*)"([^>]*)>', inline, body)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


def write_report(plan: StudyPlan, wall_time_s: float) -> dict[str, Any]:
    """Build ``results.json``, the figures, ``report.md`` and ``report.html`` from disk.

    Returns:
        The ``results.json`` dict.
    """
    out = plan.out_dir
    results = build_results(plan, wall_time_s)
    runs = collect(plan)
    fig_dir = out / "figures"
    figures: dict[str, str] = {}
    if runs:
        plot_loss(results["variants"], runs, fig_dir / "loss_curves.png")
        figures["loss"] = "figures/loss_curves.png"
        plot_recall_bars(results["variants"], fig_dir / "recall.png")
        figures["recall"] = "figures/recall.png"
        plot_variant_predictions(plan, runs, fig_dir / "predictions.png")
        figures["predictions"] = "figures/predictions.png"
        results["coord_weights"] = coord_weight_summary(runs)
        if results["coord_weights"]:
            plot_coord_weights(results["coord_weights"], fig_dir / "coord_weights.png")
        if any(v["transfer"] for v in results["variants"].values()):
            plot_transfer(results["variants"], fig_dir / "transfer.png")
    text = render_markdown(plan, results, figures)
    write_json(out / "results.json", results)
    write_text(out / "report.md", text)
    write_text(out / "report.html", render_html(text, out, f"coordbias study ({plan.preset.name})"))
    return results
