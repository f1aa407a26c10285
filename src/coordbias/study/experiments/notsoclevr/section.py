"""The report section of the experiment: its figure and its Markdown, computed from the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coordbias.data.notsoclevr import SPLITS
from coordbias.reporting.markdown import figure_link
from coordbias.study.experiments._common import fmt_pct, md_table, new_figure, save_figure
from coordbias.training.notsoclevr import BASELINES

FIGURE = "notsoclevr.png"

#: What Liu et al. (2018) report for coordinate classification (REFERENCES.md, CoordConv).
PAPER = {
    "vanilla": "≈86% test at best (uniform), ≈0% (quadrant); deconvolution baseline",
    "coordconv": "100% train and test on both splits, within a few epochs",
}


def plot_accuracy(result: dict[str, Any], path: Path) -> None:
    """The figure: train and test accuracy per model and split, and test accuracy per epoch."""
    models = result["config"]["models"]
    fig, axes = new_figure(1, 2, figsize=(11, 4))
    bar = 0.38
    for s, split in enumerate(SPLITS):
        for m, model in enumerate(models):
            r = next(x for x in result["runs"] if x["model"] == model and x["split"] == split)
            for off, key, hatch in ((-bar / 2, "train_acc", ""), (bar / 2, "test_acc", "//")):
                x = s * (len(models) + 1) + m + off
                axes[0].bar(
                    x,
                    100 * r[key],
                    bar,
                    color=f"C{m}",
                    hatch=hatch,
                    edgecolor="black",
                    lw=0.5,
                    label=model if (s == 0 and key == "train_acc") else None,
                )
                axes[0].text(
                    x, 100 * r[key] + 1, f"{100 * r[key]:.0f}", ha="center", va="bottom", fontsize=6
                )
            epochs = range(1, len(r["test_acc_per_epoch"]) + 1)
            axes[1].plot(
                epochs,
                [100 * v for v in r["test_acc_per_epoch"]],
                color=f"C{m}",
                ls="-" if split == "uniform" else "--",
                marker=".",
                label=f"{model}, {split}",
            )
    ticks = [s * (len(models) + 1) + (len(models) - 1) / 2 for s in range(len(SPLITS))]
    axes[0].set_xticks(ticks, [f"{s} split" for s in SPLITS])
    axes[0].set_ylabel("accuracy (%)")
    axes[0].set_ylim(0, 112)
    axes[0].legend(fontsize=7, loc="upper center", ncol=len(models))
    axes[0].set_title("Not-so-Clevr: train (plain bars) and test (hatched) accuracy", fontsize=9)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("test accuracy (%)")
    axes[1].set_ylim(-2, 105)
    axes[1].xaxis.get_major_locator().set_params(integer=True)
    axes[1].legend(fontsize=6, loc="center right")
    axes[1].set_title("test accuracy after each epoch", fontsize=9)
    save_figure(fig, path)


def markdown(result: dict[str, Any], fig_dir_rel: str) -> str:
    """The report section of the Not-so-Clevr experiment (a heading, a table per model and split,
    and a conclusion), computed from the ``result`` of :func:`run`; the arguments are every
    experiment's (:mod:`coordbias.study.experiments`)."""
    cfg = result["config"]
    fig = figure_link(fig_dir_rel, result["figure"])
    runs = result["runs"]
    by = {(r["model"], r["split"]): r for r in runs}
    rows = [
        [
            f"`{r['model']}`",
            r["split"],
            f"{r['params']:,}",
            r["steps"],
            fmt_pct(r["train_acc"]),
            fmt_pct(r["test_acc"]),
            f"{r['seconds']:.1f}",
        ]
        for r in runs
    ]
    sizes = result["split_sizes"]
    lines = [
        "### Not-so-Clevr coordinate classification (Liu et al. 2018)",
        "",
        "Coordinates in, one-hot 64 × 64 image out (softmax over 4,096 pixels; correct when the "
        "arg-max is the square's centre). 3,136 centres (4..59 on each axis); uniform split "
        f"{sizes['uniform']['train']:,} train / {sizes['uniform']['test']:,} test (random, seed "
        f"{result['seed']}), quadrant split {sizes['quadrant']['train']:,} / "
        f"{sizes['quadrant']['test']:,} (test = both normalised coordinates > 0.5). Each tiled "
        f"model is 3×3, 1×1, 1×1, 1×1 convolutions of width {cfg['width']} on the coordinates "
        "tiled to a (2, 64, 64) map, the convolution being plain, CoordConv or coordinate-bias in "
        f"every layer. Adam lr {cfg['lr']:g}, L2 {cfg['weight_decay']:g} (Adam "
        f"weight decay), batch {cfg['batch_size']} (Liu et al.: 16), {cfg['epochs']} epochs"
        + (f", at most {cfg['max_steps']} steps" if cfg["max_steps"] else "")
        + "."
        + _baselines_sentence(cfg),
        "",
        md_table(["model", "split", "params", "steps", "train acc.", "test acc.", "seconds"], rows),
        "",
        f"Liu et al. report: plain {result['paper']['vanilla']}; CoordConv "
        f"{result['paper']['coordconv']}.",
        "",
        f"![Not-so-Clevr accuracy per model and split]({fig})",
        "",
    ]
    notes = []
    for model in cfg["models"]:
        u, q = by.get((model, "uniform")), by.get((model, "quadrant"))
        if u and q:
            notes.append(
                f"`{model}` reaches {fmt_pct(u['test_acc'])} test on the uniform split and "
                f"{fmt_pct(q['test_acc'])} on the held-out quadrant "
                f"(train {fmt_pct(u['train_acc'])} / {fmt_pct(q['train_acc'])})"
            )
    verdict = _verdict(by, cfg)
    lines.append("Per model: " + "; ".join(notes) + ".")
    lines.append("")
    lines.append("**Conclusion.** " + " ".join(verdict))
    return "\n".join(lines) + "\n"


def _baselines_sentence(cfg: dict[str, Any]) -> str:
    """What the deconvolution baselines in ``cfg['models']`` are and how long they train."""
    base = [m for m in BASELINES if m in cfg["models"]]
    if not base:
        return ""
    epochs = cfg.get("baseline_epochs") or cfg["epochs"]
    drop = cfg.get("baseline_lr_drop", 0)
    what = {
        "deconv": "`deconv` is ours (4×4 kernels, no normalisation)",
        "deconv_paper": "`deconv_paper` is Liu et al.'s as their code builds and trains it "
        "(3×3 kernels, BatchNorm, He init, pixel coordinates as input; Adam lr 0.01, β2 0.99, "
        "L2 on the kernels)",
    }
    return (
        f" The deconvolution baselines are six stride-2 transposed convolutions from the "
        f"coordinates as a 1 × 1 input: {'; '.join(what[m] for m in base)}. They train for "
        f"{epochs} epochs"
        + (f", the learning rate divided by 10 from epoch {drop + 1}" if drop else "")
        + " (Liu et al. trained theirs for 1,000 to 2,000 epochs)."
    )


def _names(models: list[str]) -> str:
    return " and ".join(f"`{m}`" for m in models)


def _verdict(by: dict[tuple[str, str], dict[str, Any]], cfg: dict[str, Any]) -> list[str]:
    """Conclusion sentences computed from the per-(model, split) results."""
    coord_models = [m for m in ("coordconv", "coordbias") if m in cfg["models"]]
    worst = {m: min(by[(m, s)]["test_acc"] for s in SPLITS) for m in coord_models}
    solved = [m for m in coord_models if worst[m] >= 0.99]
    unsolved = [m for m in coord_models if worst[m] < 0.99]
    verdict = []
    if solved:
        verdict.append(
            f"{_names(solved)} {'solves' if len(solved) == 1 else 'solve'} the task on both "
            "splits (at least 99% test), as Liu et al. found for CoordConv: with position an "
            "input of every layer the held-out quadrant is no obstacle."
        )
    if unsolved:
        parts = [
            f"`{m}` reaches {fmt_pct(by[(m, 'uniform')]['test_acc'])} / "
            f"{fmt_pct(by[(m, 'quadrant')]['test_acc'])} (uniform / quadrant test)"
            for m in unsolved
        ]
        verdict.append(
            "; ".join(parts)
            + f" after {cfg['epochs']} epochs, below 99% on at least one split"
            + (
                ", so the paper's 100% for CoordConv is not reproduced in this budget"
                if "coordconv" in unsolved
                else ""
            )
            + "."
        )
        gaps = [
            m
            for m in unsolved
            if by[(m, "quadrant")]["train_acc"] - by[(m, "quadrant")]["test_acc"] > 0.1
        ]
        if gaps:
            verdict.append(
                f"On the quadrant split {_names(gaps)} fits the training centres better than "
                "the unseen quadrant: it has not yet learned the exact plane that extrapolates."
            )
    if "coordbias" in unsolved and "coordconv" in solved:
        verdict.append(
            "The coordinate bias can express the same solution (its first layer can form "
            "`X − i` directly), so the gap is most likely one of optimisation speed in this "
            "short run (the full setting trains longer); a possible cause is that under Adam "
            "each parameter moves about `lr` per step and "
            "CoordConv's first 3×3 layer has 9 taps per coordinate whose sum is the slope, "
            "against one coordinate weight per filter for the coordinate bias."
        )
    for base in ("vanilla", *BASELINES):
        if base not in cfg["models"]:
            continue
        u = by[(base, "uniform")]["test_acc"]
        q = by[(base, "quadrant")]["test_acc"]
        sentence = f"`{base}` gets {fmt_pct(u)} (uniform) and {fmt_pct(q)} (quadrant)"
        sentence += (
            ", in line with the paper's ≈0% on the quadrant"
            if q < 0.05
            else ", unlike the paper's ≈0% on the quadrant"
        )
        if base == "vanilla":
            sentence += (
                "; on the tiled input a plain convolution computes the same value at every "
                "interior pixel, so it cannot localise at all (this is not the paper's 86% "
                "baseline, which is `deconv`)"
            )
        else:
            sentence += "; the paper's ≈86% at best on the uniform split " + (
                "is exceeded"
                if u >= 0.96
                else "is matched within 10 points"
                if u >= 0.76
                else "is not reached in this budget"
            )
        verdict.append(sentence + ".")
    return verdict
