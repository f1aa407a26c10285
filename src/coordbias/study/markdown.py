"""The study report as Markdown: the report's sections.

:func:`render_markdown` turns a study's ``results.json`` dict (``coordbias.study.results``) into
``report.md``. The table writer and the number formats are :mod:`coordbias.reporting.markdown`'s
(``md_table``, ``fmt_sci``, ``fmt_pct``, ``figure_link`` stay importable from here).
"""

from __future__ import annotations

import importlib
from typing import Any

from coordbias.models.variants import VARIANTS
from coordbias.reporting.markdown import figure_link, fmt_pct, fmt_sci, md_table
from coordbias.reporting.stats import describe_power
from coordbias.study.experiments import RUN_ALONE
from coordbias.study.plan import StudyPlan
from coordbias.study.presets import QUICK_NOTES
from coordbias.study.results import CLASS_LABELS, ORIGINAL

__all__ = ["figure_link", "fmt_pct", "fmt_sci", "md_table", "render_markdown", "reproduce_command"]


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


def _threads_text(threads: int | list[int]) -> str:
    if isinstance(threads, list):
        return f"{', '.join(map(str, threads))} torch threads (the runs differ)"
    return f"{threads} torch thread{'s' * (threads != 1)}"


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
        md_table(["setting", "value"], rows),
        "",
        "Variants:",
        "",
    ]
    lines += [f"- `{n}`: {VARIANTS[n].description}" for n in plan.variants]
    lines += [
        "",
        f"Machine: {env['system']}, {env['processor']}, {env['cpu_count']} CPUs, "
        f"{_threads_text(env['torch_threads'])} per run, GPU: {env['cuda'] or 'none'}. Versions: "
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
    return "\n".join(["## Results (mean ± std over seeds)", "", md_table(header, rows)])


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
            md_table(header, rows),
        ]
    )


def _original_seeds_section(entry: dict[str, Any] | None) -> str:
    """Where the original's single runs fall among our seeds (``original_across_seeds``)."""
    if not entry:
        return ""
    rows = []
    outside = []
    for name, net in entry["networks"].items():
        metrics = [(f"recall {label}", r) for label, r in zip(CLASS_LABELS, net["recall"])]
        if net["val_loss_final"] is not None:
            metrics.append(("final val loss", net["val_loss_final"]))
        for label, r in metrics:
            digits = 4 if label == "final val loss" else 3
            rows.append(
                [
                    f"`{name}`",
                    label,
                    _f(r["original"]),
                    f"{r['mean']:.{digits}f} ± {r['std']:.{digits}f}",
                    f"{r['min']:.{digits}f} – {r['max']:.{digits}f}",
                    "yes" if r["inside"] else "**no**",
                ]
            )
            if label.startswith("recall") and not r["inside"]:
                outside.append(f"`{name}` {label} ({_f(r['original'])})")
    seeds = sorted({len(net["seeds"]) for net in entry["networks"].values()})
    setting = (
        "This study uses the original's setting, so the numbers are comparable."
        if entry["same_setting"]
        else "This study does not use the original's setting (only the `seed` preset does, "
        "without overrides): compare the pattern, not the digits."
    )
    verdict = (
        f"{entry['inside']} of the original's {entry['compared']} recall numbers lie inside "
        "our range"
    )
    verdict += f"; outside: {', '.join(outside)}." if outside else "."
    return "\n".join(
        [
            "## The original's runs among our seeds",
            "",
            f"The original trained each network once; here each ran with "
            f"{' or '.join(map(str, seeds))} seeds. Per class recall and the final validation "
            "loss over our seeds (mean ± std and range), the original's number beside them, and "
            f"whether it lies inside our range (min to max over the seeds, both rounded to the "
            f"original's 3 decimals). {setting}",
            "",
            md_table(
                ["network", "metric", "original", "ours: mean ± std", "ours: range", "inside?"],
                rows,
            ),
            "",
            verdict,
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
            md_table(["comparison", "metric", "mean diff", "t", "df", "p", "g"], rows),
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
            md_table(header, rows),
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
            md_table(["variant", "layer", "mean abs y", "mean abs x"], rows),
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
            if name in RUN_ALONE:
                parts.append(
                    f"The study ran `{name}` alone, after all its other tasks had finished, so "
                    "no training of its own ran beside these timings."
                )
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
    sections += [
        _original_section(variants),
        _original_seeds_section(results.get("original_across_seeds")),
        _tests_section(results["tests"]),
    ]
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
