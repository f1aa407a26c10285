"""The study's figures: loss curves, recall per class, predictions, coordinate weights, transfer.

Every figure is made and written by the project's one figure helper
(:func:`coordbias.training.figures.new_figure` and :func:`~coordbias.training.figures.save_figure`:
no ``pyplot``, atomic writes) in the study's style (``coordbias.study.style``: ``DPI`` dots per
inch, cropped to its content; ``subplots``, ``save`` stay importable from here), through which
the open-question experiments draw theirs too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coordbias.study.plan import StudyPlan
from coordbias.study.style import DPI, save, subplots
from coordbias.training.figures import plot_recall_groups


def plot_loss(variants: dict[str, Any], runs: dict[str, list], path: Path) -> None:
    """Training loss (smoothed, first seed) and mean validation loss per epoch of every variant."""
    import numpy as np

    fig, (ax_t, ax_v) = subplots(1, 2, figsize=(9, 3.6))
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
    save(fig, path)


def plot_recall_bars(variants: dict[str, Any], path: Path) -> Path:
    """Recall per class, grouped per variant, bars in the label colours, error bars = std.

    The project's one recall chart, :func:`coordbias.training.figures.plot_recall_groups`, at
    the study's resolution and a width that grows with the number of variants.
    """
    return plot_recall_groups(
        {name: summary["recall"] for name, summary in variants.items()},
        path,
        "recall per class",
        figsize=(max(6.0, 1.3 * len(variants) + 1.7), 4.1),
        dpi=DPI,
    )


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
    fig, axes = subplots(count, cols, figsize=(1.6 * cols, 1.6 * count + 0.4), squeeze=False)
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
    save(fig, path)


def plot_coord_weights(summary: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    """Bars of mean |coord_weight| per layer (y and x columns), one panel per variant."""
    import numpy as np

    fig, axes = subplots(len(summary), 1, figsize=(9, 3.2 * len(summary)), squeeze=False)
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
    save(fig, path)


def plot_transfer(variants: dict[str, Any], path: Path) -> None:
    """mIoU at the training size and at each transfer size, per variant."""
    import numpy as np

    names = [n for n in variants if variants[n]["transfer"]]
    sizes = sorted({int(s) for n in names for s in variants[n]["transfer"]})
    fig, ax = subplots(figsize=(max(6, 1.4 * len(names) + 2), 3.4))
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
    save(fig, path)


def write_figures(
    plan: StudyPlan, results: dict[str, Any], runs: dict[str, list]
) -> dict[str, str]:
    """Draw the report's figures into ``plan.out_dir / "figures"``.

    Args:
        plan: the study plan.
        results: the ``results.json`` dict (``coordbias.study.results.build_results``).
        runs: the finished runs (``coordbias.study.results.collect``); none: no figure.

    Returns:
        ``{key: path relative to the report}`` of the figures the report's text places
        (``loss``, ``recall``, ``predictions``); the coordinate-weight and transfer figures,
        drawn when there is something to show, are linked from their sections.
    """
    if not runs:
        return {}
    fig_dir = plan.out_dir / "figures"
    variants = results["variants"]
    plot_loss(variants, runs, fig_dir / "loss_curves.png")
    plot_recall_bars(variants, fig_dir / "recall.png")
    plot_variant_predictions(plan, runs, fig_dir / "predictions.png")
    if results["coord_weights"]:
        plot_coord_weights(results["coord_weights"], fig_dir / "coord_weights.png")
    if any(v["transfer"] for v in variants.values()):
        plot_transfer(variants, fig_dir / "transfer.png")
    return {
        "loss": "figures/loss_curves.png",
        "recall": "figures/recall.png",
        "predictions": "figures/predictions.png",
    }
