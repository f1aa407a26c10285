"""Figures of a run and of the study: loss curves, per-class recall, predictions.

The project's one figure helper: :func:`new_figure` builds a :class:`matplotlib.figure.Figure`
directly (no ``pyplot``, so no window and no global figure state) and :func:`save_figure` renders
it with Agg and writes it atomically (``coordbias._util.files``). The study's figures use them
too (``coordbias.study.figures``). Here the image size is ``figsize * dpi`` pixels exactly (no
tight bounding box), so callers and tests can rely on it. The format follows the file's suffix
(``.png``, ``.pdf`` or ``.svg``).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from coordbias._util.files import write_bytes
from coordbias.data import CLASS_COLORS, CLASS_NAMES, class_colors

__all__ = [
    "ema",
    "new_figure",
    "plot_loss_curves",
    "plot_predictions",
    "plot_recall",
    "plot_recall_groups",
    "save_figure",
]

_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
# Colours of runs / variants (matplotlib's tab10), assigned in the order the names come.
_RUN_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


def save_figure(fig: Figure, path: str | os.PathLike, *, tight: bool = False) -> Path:
    """Render ``fig`` at its own dpi and write it to ``path`` atomically (parent folder created).

    The one way the project writes a figure (runs, study report, open-question experiments).

    Args:
        fig: the figure.
        path: target file; its suffix picks the format (``.png``, ``.pdf``, ``.svg``).
        tight: crop the image to the drawn content (``bbox_inches="tight"``), so that legends
            and labels outside the axes are kept whatever the size; the image is then not
            ``figsize * dpi`` pixels.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"path={str(path)!r} has an unsupported suffix; expected one of {', '.join(_FORMATS)}"
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=fig.dpi, bbox_inches="tight" if tight else None)
    return write_bytes(path, buffer.getvalue())


def new_figure(figsize: tuple[float, float] = (6.4, 4.8), dpi: float = 100) -> Figure:
    """A new :class:`~matplotlib.figure.Figure`, without ``pyplot`` (no window, no global state).

    Args:
        figsize: width and height in inches.
        dpi: pixels per inch (the image is ``figsize * dpi`` pixels unless saved ``tight``).
    """
    if len(figsize) != 2 or min(figsize) <= 0:
        raise ValueError(f"figsize={figsize!r} must be two positive numbers (inches)")
    if dpi <= 0:
        raise ValueError(f"dpi={dpi!r} must be positive")
    return Figure(figsize=figsize, dpi=dpi)


def _to_numpy(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from err


# --------------------------------------------------------------------------- loss curves


def ema(values: Sequence[float], smoothing: float) -> np.ndarray:
    """Exponential moving average with start-up bias correction; non-finite values are skipped.

    Args:
        values: ``(T,)`` raw values.
        smoothing: weight of the past in ``[0, 1)``; 0 returns the values unchanged.

    Returns:
        ``(T,)`` smoothed values (NaN until the first finite value).

    Example:
        >>> ema([1.0, 1.0, 4.0], 0.5).tolist()
        [1.0, 1.0, 2.7142857142857144]
    """
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing={smoothing!r} must lie in [0, 1)")
    out = np.full(len(values), np.nan)
    avg, weight = 0.0, 0.0
    for i, v in enumerate(values):
        if math.isfinite(v):
            avg = smoothing * avg + (1.0 - smoothing) * v
            weight = smoothing * weight + (1.0 - smoothing)
        if weight > 0:
            out[i] = avg / weight
    return out


def _as_runs(loss: Any, name: str) -> dict[str, np.ndarray]:
    if loss is None:
        return {}
    runs = loss if isinstance(loss, Mapping) else {"": loss}
    out = {}
    for key, values in runs.items():
        array = _to_numpy(values, f"{name}[{key!r}]" if key else name).astype(float)
        if array.ndim != 1:
            raise ValueError(
                f"{name} must be a 1-D sequence of losses (or a dict of them); got shape "
                f"{array.shape}" + (f" for {key!r}" if key else "")
            )
        out[str(key)] = array
    return out


def plot_loss_curves(
    train_loss: Sequence[float] | Mapping[str, Sequence[float]],
    val_loss: Sequence[float] | Mapping[str, Sequence[float]] | None,
    path: str | os.PathLike,
    title: str | None = None,
    *,
    smoothing: float | None = None,
    log_y: bool = True,
    figsize: tuple[float, float] = (8.0, 5.0),
    dpi: int = 100,
) -> Path:
    """Training loss per step (raw faint, smoothed bold) and validation loss per epoch.

    Validation losses are drawn at the end of their epoch: epoch ``e`` (from 1) at step
    ``e * T / E`` for ``T`` training steps and ``E`` epochs (at ``e`` when there are no steps).

    Args:
        train_loss: ``(T,)`` losses, one per step, or a dict ``{run name: (T_run,)}``.
        val_loss: ``(E,)`` losses, one per epoch, a dict keyed like ``train_loss``, or None.
        path: output file.
        title: figure title.
        smoothing: EMA weight in ``[0, 1)``; default: ``1 - 1/w`` with ``w = max(1, T / 100)``.
        log_y: logarithmic loss axis (falls back to linear when a value is <= 0).
        figsize: size in inches; the image is ``figsize * dpi`` pixels.
        dpi: pixels per inch.

    Returns:
        ``path``.
    """
    if isinstance(train_loss, Mapping) != isinstance(val_loss, Mapping) and val_loss is not None:
        raise TypeError(
            "train_loss and val_loss must both be sequences or both be dicts keyed by run name"
        )
    train = _as_runs(train_loss, "train_loss")
    val = _as_runs(val_loss, "val_loss")
    extra = sorted(set(val) - set(train))
    if extra:
        raise ValueError(f"val_loss has runs {extra} that train_loss lacks")
    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot()
    positive = True
    for i, (name, steps) in enumerate(train.items()):
        color = _RUN_COLORS[i % len(_RUN_COLORS)]
        label = f"{name} " if name else ""
        x = np.arange(1, len(steps) + 1)
        if len(steps):
            alpha = smoothing if smoothing is not None else 1.0 - 1.0 / max(1.0, len(steps) / 100)
            ax.plot(x, steps, color=color, alpha=0.2, linewidth=0.6)
            ax.plot(
                x, ema(steps.tolist(), alpha), color=color, linewidth=1.6, label=f"{label}train"
            )
        epochs = val.get(name)
        if epochs is not None and len(epochs):
            per_epoch = len(steps) / len(epochs) if len(steps) else 1.0
            ex = per_epoch * np.arange(1, len(epochs) + 1)
            ax.plot(ex, epochs, color=color, linestyle="--", marker="o", label=f"{label}val")
            positive &= bool(np.all(epochs[np.isfinite(epochs)] > 0))
        positive &= bool(np.all(steps[np.isfinite(steps)] > 0))
    if log_y and positive:
        ax.set_yscale("log")
    ax.set_xlabel("training step" if any(len(s) for s in train.values()) else "epoch")
    ax.set_ylabel("cross-entropy loss")
    ax.grid(True, alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize="small")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


# --------------------------------------------------------------------------- recall bars


def _class_labels(k: int, class_names: Sequence[str] | None) -> list[str]:
    names = list(class_names) if class_names is not None else list(CLASS_NAMES)
    return [f"class {c}\n({names[c]})" if c < len(names) else f"class {c}" for c in range(k)]


def _check_recall(values: Any, name: str, k: int | None = None) -> np.ndarray:
    array = _to_numpy(values, name).astype(float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence (one value per class); got "
            f"shape {array.shape}"
        )
    if k is not None and array.size != k:
        raise ValueError(f"{name} has {array.size} classes; expected {k} like the first group")
    finite = array[np.isfinite(array)]
    if np.any((finite < 0) | (finite > 1)):
        raise ValueError(f"{name} values must lie in [0, 1] (NaN allowed); got {array.tolist()}")
    return array


def plot_recall(
    recall: Sequence[float],
    path: str | os.PathLike,
    title: str | None = None,
    *,
    class_names: Sequence[str] | None = None,
    figsize: tuple[float, float] = (6.4, 4.8),
    dpi: int = 100,
) -> Path:
    """Per-class recall as bars in the original's class colours, each value printed on its bar.

    Args:
        recall: ``(K,)`` recall per class in ``[0, 1]`` (NaN shows as "n/a").
        path: output file.
        title: figure title.
        class_names: names under the class numbers (default: the circles data set's).
        figsize: size in inches; the image is ``figsize * dpi`` pixels.
        dpi: pixels per inch.

    Returns:
        ``path``.
    """
    values = _check_recall(recall, "recall")
    k = values.size
    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot()
    x = np.arange(k)
    bars = ax.bar(x, np.nan_to_num(values), color=class_colors(k), edgecolor="0.3", linewidth=0.8)
    for bar, v in zip(bars, values):
        text = "n/a" if not math.isfinite(v) else f"{v:.3f}"
        ax.annotate(
            text,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
        )
    ax.set_xticks(x, _class_labels(k, class_names))
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("recall")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


def _mean_std(value: Any, name: str) -> tuple[Any, Any]:
    if isinstance(value, Mapping):
        if "mean" not in value:
            raise ValueError(f"{name} is a dict without a 'mean' key")
        return value["mean"], value.get("std")
    if isinstance(value, tuple) and len(value) == 2 and all(np.ndim(v) == 1 for v in value):
        return value
    return value, None


def plot_recall_groups(
    groups: Mapping[str, Any],
    path: str | os.PathLike,
    title: str | None = None,
    *,
    class_names: Sequence[str] | None = None,
    figsize: tuple[float, float] = (9.0, 4.8),
    dpi: int = 100,
) -> Path:
    """Per-class recall of several variants: one group of bars per variant, one bar per class.

    The bars take the classes' label colours (the legend names them), carry their value and,
    where given, a standard-deviation error bar; the variants' names run along the x axis, so
    many variants stay readable. The study's recall figure is this chart.

    Args:
        groups: ``{variant name: recall}`` where ``recall`` is ``(K,)`` values, a tuple
            ``(mean (K,), std (K,))`` or a dict ``{"mean": (K,), "std": (K,)}``.
        path: output file.
        title: figure title.
        class_names: names of the classes in the legend (default: the circles data set's).
        figsize: size in inches; the image is ``figsize * dpi`` pixels.
        dpi: pixels per inch.

    Returns:
        ``path``.
    """
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError("groups must be a non-empty dict {name: recall or (mean, std)}")
    means, stds, k = {}, {}, None
    for name, value in groups.items():
        mean, std = _mean_std(value, f"groups[{name!r}]")
        means[name] = _check_recall(mean, f"groups[{name!r}] mean", k)
        k = means[name].size
        if std is not None:
            std = _to_numpy(std, f"groups[{name!r}] std").astype(float)
            if std.shape != (k,) or np.any(std[np.isfinite(std)] < 0):
                raise ValueError(f"groups[{name!r}] std must be {k} non-negative values")
        stds[name] = std
    names = list(means)
    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot()
    width = 0.8 / k
    legend = [label.replace("\n", " ") for label in _class_labels(k, class_names)]
    has_std = any(std is not None for std in stds.values())
    for c, color in enumerate(class_colors(k)):
        values = np.array([means[n][c] for n in names])
        errors = [np.nan if stds[n] is None else stds[n][c] for n in names] if has_std else None
        xs = np.arange(len(names)) + (c - (k - 1) / 2) * width
        ax.bar(
            xs,
            np.nan_to_num(values),
            width,
            yerr=errors,
            capsize=2,
            color=color,
            edgecolor="0.3",
            error_kw={"ecolor": "0.45", "elinewidth": 1},
            label=legend[c],
        )
        text_color = "black" if sum(color) > 1.5 else "white"  # readable on yellow and on black
        for x, v in zip(xs, values):
            ax.text(
                x,
                0.03,
                f"{v:.2f}" if math.isfinite(v) else "n/a",
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,
                color=text_color if math.isfinite(v) else "0.2",
            )
    ax.set_xticks(np.arange(len(names)), [str(n) for n in names], rotation=15)
    ylabel = "recall (mean ± std over seeds)" if has_std else "recall"
    ax.set(ylim=(0, 1.05), ylabel=ylabel)
    ax.legend(fontsize=7, ncols=min(k, 4), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


# --------------------------------------------------------------------------- predictions


def _labels_to_rgb(labels: np.ndarray, name: str, k: int) -> np.ndarray:
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(
            f"{name} holds class {int(labels.min())}..{int(labels.max())}; only 0..{k - 1} have a "
            "colour"
        )
    return np.asarray(class_colors(k), dtype=float)[labels]


def plot_predictions(
    images: Any,
    masks: Any,
    preds: Any,
    path: str | os.PathLike,
    title: str | None = None,
    *,
    num_classes: int | None = None,
    cell_inches: float = 2.0,
    dpi: int = 100,
) -> Path:
    """A grid of samples: one row each, columns input / label / prediction.

    Args:
        images: ``(N, C, H, W)`` with C in {1, 3}, values in [0, 1] (tensor or array).
        masks: ``(N, H, W)`` integer class labels.
        preds: ``(N, H, W)`` integer predicted classes, or logits ``(N, K, H, W)`` (argmax taken).
        path: output file.
        title: figure title.
        num_classes: number of classes to colour (default: 4, the circles data set's); a label
            outside ``0..num_classes - 1`` raises ``ValueError``.
        cell_inches: side of one panel; the image is ``(3 * cell, N * cell) * dpi`` pixels.
        dpi: pixels per inch.

    Returns:
        ``path``.
    """
    imgs = _to_numpy(images, "images")
    labels = _to_numpy(masks, "masks")
    guess = _to_numpy(preds, "preds")
    if imgs.ndim != 4 or imgs.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 1 or 3, H, W); got {imgs.shape}")
    n, _, h, w = imgs.shape
    if n == 0:
        raise ValueError("images is empty; give at least one sample")
    if guess.ndim == 4:
        guess = guess.argmax(axis=1)
    for name, array in (("masks", labels), ("preds", guess)):
        if array.shape != (n, h, w):
            raise ValueError(f"{name} must have shape (N, H, W) = {(n, h, w)}; got {array.shape}")
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{name} must hold integer class labels; got dtype {array.dtype}")
    k = num_classes if num_classes is not None else len(CLASS_COLORS)
    label_rgb = _labels_to_rgb(labels, "masks", k)
    pred_rgb = _labels_to_rgb(guess, "preds", k)
    shown = np.clip(imgs.astype(float), 0.0, 1.0).transpose(0, 2, 3, 1)
    if shown.shape[-1] == 1:
        shown = np.repeat(shown, 3, axis=-1)

    fig = new_figure((3 * cell_inches, n * cell_inches), dpi)
    axes = fig.subplots(n, 3, squeeze=False)
    for row in range(n):
        for col, (panel, heading) in enumerate(
            ((shown[row], "input"), (label_rgb[row], "label"), (pred_rgb[row], "prediction"))
        ):
            ax = axes[row, col]
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(heading, fontsize="small")
    top = 1.0 - (0.35 / (n * cell_inches)) * (2 if title else 1)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=top, wspace=0.05, hspace=0.05)
    if title:
        fig.suptitle(title, fontsize="small")
    return save_figure(fig, path)
