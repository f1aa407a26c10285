"""Figures: each writes a PNG of the promised pixel size, atomically; bad input fails clearly."""

import os

import numpy as np
import pytest
import torch
from PIL import Image

from coordbias.data import CLASS_COLORS
from coordbias.training import figures


def _png_size(path):
    assert path.stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def _no_temporaries(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_loss_curves_single_run(tmp_path):
    out = figures.plot_loss_curves(
        np.linspace(1.0, 0.1, 300), [0.5, 0.2], tmp_path / "sub" / "loss.png", title="t", dpi=50
    )
    assert out == tmp_path / "sub" / "loss.png"
    assert _png_size(out) == (400, 250)
    assert _no_temporaries(out.parent)


def test_loss_curves_several_runs_nan_and_no_val(tmp_path):
    train = {"vanilla": [1.0, 0.5, float("nan"), 0.4], "coordbias": torch.tensor([1.0, 0.2, 0.1])}
    val = {"vanilla": [0.4]}
    path = figures.plot_loss_curves(train, val, tmp_path / "loss.png", figsize=(4, 3), dpi=80)
    assert _png_size(path) == (320, 240)
    path = figures.plot_loss_curves([0.3, -0.1], None, tmp_path / "linear.png", dpi=20)
    assert _png_size(path) == (160, 100)


def test_loss_curves_bad_input(tmp_path):
    with pytest.raises(ValueError, match="1-D"):
        figures.plot_loss_curves([[1.0, 2.0]], [1.0], tmp_path / "x.png")
    with pytest.raises(TypeError, match="both be dicts"):
        figures.plot_loss_curves({"a": [1.0]}, [1.0], tmp_path / "x.png")
    with pytest.raises(ValueError, match="lacks"):
        figures.plot_loss_curves({"a": [1.0]}, {"b": [1.0]}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="suffix"):
        figures.plot_loss_curves([1.0], [1.0], tmp_path / "x.jpeg")
    assert list(tmp_path.iterdir()) == []


def test_ema_smooths_and_skips_nan():
    assert figures.ema([2.0, 2.0, 2.0], 0.9).tolist() == pytest.approx([2.0, 2.0, 2.0])
    smoothed = figures.ema([0.0, float("nan"), 10.0], 0.5)
    # The NaN step is skipped (no decay): (0.5 * 0 + 0.5 * 10) / (1 - 0.5**2) = 20 / 3
    assert smoothed.tolist() == pytest.approx([0.0, 0.0, 20 / 3])
    with pytest.raises(ValueError, match="smoothing"):
        figures.ema([1.0], 1.0)


def test_recall_bars_use_class_colours(tmp_path):
    path = figures.plot_recall([0.9, 0.8, 0.7, 0.6], tmp_path / "recall.png", title="r", dpi=50)
    assert _png_size(path) == (320, 240)
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3) / 255
    for color in CLASS_COLORS:  # every class colour fills many pixels (a bar), not a speck
        hits = np.all(np.abs(pixels - np.asarray(color)) < 0.02, axis=1).sum()
        assert hits > 500, color


def test_recall_bad_input(tmp_path):
    with pytest.raises(ValueError, match="1-D"):
        figures.plot_recall([[0.5, 0.5]], tmp_path / "r.png")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        figures.plot_recall([0.5, 1.5], tmp_path / "r.png")
    with pytest.raises(ValueError, match="non-empty"):
        figures.plot_recall([], tmp_path / "r.png")


def test_recall_nan_and_many_classes(tmp_path):
    path = figures.plot_recall([0.5, float("nan"), 0.2, 0.1, 0.3, 0.9], tmp_path / "r.png", dpi=40)
    assert _png_size(path) == (256, 192)


def test_recall_groups(tmp_path):
    groups = {
        "vanilla": ([0.99, 0.43, 0.57, 0.52], [0.01, 0.1, 0.1, 0.05]),
        "coordbias": [0.997, 0.997, 0.996, 0.978],
        "param_matched": {"mean": [0.99, 0.45, 0.55, 0.5], "std": [0.0, 0.05, 0.05, 0.05]},
    }
    path = figures.plot_recall_groups(groups, tmp_path / "groups.png", title="g", dpi=50)
    assert _png_size(path) == (450, 240)


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        ({}, "non-empty"),
        ({"a": [0.5, 0.5], "b": [0.5, 0.5, 0.5]}, "expected 2"),
        ({"a": ([0.5, 0.5], [0.1])}, "std must be 2"),
        ({"a": ([0.5, 0.5], [0.1, -0.1])}, "non-negative"),
        ({"a": {"std": [0.1]}}, "'mean'"),
    ],
)
def test_recall_groups_bad_input(tmp_path, groups, match):
    with pytest.raises(ValueError, match=match):
        figures.plot_recall_groups(groups, tmp_path / "g.png")


def _samples(n=2, size=16):
    torch.manual_seed(0)
    images = torch.rand(n, 3, size, size)
    masks = torch.randint(0, 4, (n, size, size))
    return images, masks


def test_predictions_grid_and_colours(tmp_path):
    images, masks = _samples(3)
    preds = torch.full_like(masks, 2)  # predict class 2 (blue) everywhere
    path = figures.plot_predictions(images, masks, preds, tmp_path / "p.png", dpi=40)
    assert _png_size(path) == (3 * 80, 3 * 80)
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=float) / 255
    # The right third of the figure (prediction column) is dominated by pure blue.
    right = rgb[:, 2 * 80 :].reshape(-1, 3)
    blue = np.all(np.abs(right - np.asarray(CLASS_COLORS[2])) < 0.02, axis=1).mean()
    assert blue > 0.5


def test_predictions_accept_logits_grayscale_and_numpy(tmp_path):
    images, masks = _samples(1)
    logits = torch.randn(1, 4, 16, 16)
    gray = images[:, :1].numpy()
    path = figures.plot_predictions(gray, masks.numpy(), logits, tmp_path / "p.png", title="t")
    assert _png_size(path) == (600, 200)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda i, m, p: (i[0], m, p), ValueError, r"\(N, 1 or 3, H, W\)"),
        (lambda i, m, p: (i[:, :2], m, p), ValueError, r"\(N, 1 or 3, H, W\)"),
        (lambda i, m, p: (i, m[:1], p), ValueError, "masks must have shape"),
        (lambda i, m, p: (i, m, p[..., :8]), ValueError, "preds must have shape"),
        (lambda i, m, p: (i, m.float(), p), TypeError, "integer class labels"),
        (lambda i, m, p: (i, m + 4, p), ValueError, "only 0..3 have a colour"),
        (lambda i, m, p: (i[:0], m[:0], p[:0]), ValueError, "empty"),
    ],
)
def test_predictions_bad_input(tmp_path, change, error, match):
    images, masks = _samples(2)
    args = change(images, masks, masks.clone())
    with pytest.raises(error, match=match):
        figures.plot_predictions(*args, tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()


def test_existing_file_replaced_atomically(tmp_path):
    path = tmp_path / "r.png"
    path.write_bytes(b"old")
    figures.plot_recall([0.5, 0.5], path, dpi=20)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["r.png"]
