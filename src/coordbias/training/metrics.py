"""Segmentation metrics over a whole split: per-class recall, precision and IoU, pixel accuracy,
the confusion matrix and the mean cross-entropy, computed with torchmetrics.

Conventions (shared by :func:`evaluate` and :func:`metrics_from_confusion`):

- ``confusion[t][p]`` counts pixels of true class ``t`` predicted as ``p`` (rows = true class).
- ``recall[c]`` = correct pixels of class c / pixels of class c (the original study's metric).
- ``precision[c]`` = correct pixels of class c / pixels predicted as c.
- ``iou[c]`` = correct pixels of class c / pixels that are class c or are predicted as c.
- A ratio whose denominator is zero (a class absent from the labels, never predicted, or both) is
  **0.0**, torchmetrics' ``zero_division=0`` made explicit, so the output stays strict JSON. Read
  ``support`` (pixels per true class) and ``predicted`` (pixels per predicted class) to tell an
  undefined value from a real 0.
- ``miou`` averages ``iou`` over the classes present in the labels or the predictions (classes
  absent from both are left out, as torchmetrics' ``average="macro"`` does).
- ``pixel_accuracy`` = correct pixels / all pixels (micro accuracy).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

ZERO_DIVISION = 0.0


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / den.clamp(min=1), torch.full_like(num, ZERO_DIVISION))


def metrics_from_confusion(confusion: Sequence[Sequence[float]] | torch.Tensor) -> dict:
    """Recall, precision, IoU, mIoU and pixel accuracy from a confusion matrix.

    Args:
        confusion: ``(K, K)`` pixel counts, rows = true class, columns = predicted class.

    Returns:
        A JSON-ready dict with ``recall``, ``precision``, ``iou``, ``support``, ``predicted``
        (lists of K), ``miou`` and ``pixel_accuracy`` (floats); conventions in the module doc.

    Example:
        >>> m = metrics_from_confusion([[3, 1], [0, 4]])
        >>> m["recall"], m["precision"], m["pixel_accuracy"]
        ([0.75, 1.0], [1.0, 0.8], 0.875)
    """
    cm = torch.as_tensor(confusion, dtype=torch.float64)
    if cm.dim() != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(
            f"confusion must be a square (K, K) matrix with K >= 1; got shape {tuple(cm.shape)}"
        )
    if not torch.isfinite(cm).all() or (cm < 0).any():
        raise ValueError("confusion must hold finite, non-negative counts")
    correct = cm.diagonal()
    support = cm.sum(dim=1)
    predicted = cm.sum(dim=0)
    union = support + predicted - correct
    iou = _ratio(correct, union)
    present = union > 0
    total = cm.sum()
    return {
        "recall": _ratio(correct, support).tolist(),
        "precision": _ratio(correct, predicted).tolist(),
        "iou": iou.tolist(),
        "miou": float(iou[present].mean()) if present.any() else ZERO_DIVISION,
        "pixel_accuracy": float(correct.sum() / total) if total > 0 else ZERO_DIVISION,
        "support": support.tolist(),
        "predicted": predicted.tolist(),
    }


def _split_batch(batch: object) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(batch, dict):
        batch = (batch.get("image"), batch.get("mask"))
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(
            "each batch must be (images, masks) (a tuple/list) or a dict with 'image' and 'mask'; "
            f"got {type(batch).__name__}"
        )
    images, masks = batch[0], batch[1]
    if not isinstance(images, torch.Tensor) or not isinstance(masks, torch.Tensor):
        raise TypeError("images and masks must be tensors")
    return images, masks


def _default_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def input_dtype(model: nn.Module) -> torch.dtype | None:
    """The floating dtype of ``model``'s first floating parameter (or buffer), which its images
    must have: a model trained at ``16-true``, ``bf16-true`` or ``64-true`` holds half, bfloat16
    or double weights. ``None`` when it has no floating tensor."""
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return None


def evaluate(
    model: nn.Module,
    dataloader: Iterable,
    num_classes: int = 4,
    device: torch.device | str | None = None,
) -> dict:
    """Evaluate a segmentation model over every batch of ``dataloader``.

    The model runs in eval mode under ``torch.no_grad``; its previous mode is restored afterwards.

    Args:
        model: maps images ``(B, C, H, W)`` to logits ``(B, num_classes, H, W)``.
        dataloader: yields ``(images, masks)``: images ``(B, C, H, W)`` float, masks ``(B, H, W)``
            integer class indices in ``[0, num_classes)``.
        num_classes: number of classes ``K`` (at least 2).
        device: where to run; default: the device of the model's parameters. Images are cast to
            the dtype of the model's weights (:func:`input_dtype`).

    Returns:
        A JSON-ready dict: ``recall``, ``precision``, ``iou`` (lists of K floats), ``miou``,
        ``pixel_accuracy``, ``confusion`` (K lists of K ints, rows = true class), ``loss`` (mean
        cross-entropy per pixel), ``support`` (pixels per true class), ``predicted`` (pixels per
        predicted class) and ``pixels``. Conventions for absent classes are in the module doc.

    Example:
        >>> class Stub(nn.Module):  # predicts class 1 everywhere
        ...     def forward(self, x):
        ...         return torch.stack([torch.zeros_like(x[:, 0]), torch.ones_like(x[:, 0])], 1)
        >>> batch = (torch.zeros(1, 3, 2, 2), torch.tensor([[[0, 1], [1, 1]]]))
        >>> m = evaluate(Stub(), [batch], num_classes=2)
        >>> m["recall"], m["confusion"]
        ([0.0, 1.0], [[0, 1], [0, 3]])
    """
    from torchmetrics import MetricCollection
    from torchmetrics.classification import (
        MulticlassAccuracy,
        MulticlassConfusionMatrix,
        MulticlassJaccardIndex,
        MulticlassPrecision,
        MulticlassRecall,
    )

    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"num_classes={num_classes!r} is not supported; expected an int >= 2 (torchmetrics' "
            "multiclass metrics need two classes at least)"
        )
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    device = torch.device(device) if device is not None else _default_device(model)
    dtype = input_dtype(model)

    k = num_classes
    per_class = {"average": None, "zero_division": ZERO_DIVISION}
    collection = MetricCollection(
        {
            "recall": MulticlassRecall(k, **per_class),
            "precision": MulticlassPrecision(k, **per_class),
            "iou": MulticlassJaccardIndex(k, **per_class),
            "pixel_accuracy": MulticlassAccuracy(k, average="micro"),
            "confusion": MulticlassConfusionMatrix(k),
        }
    ).to(device)

    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    pixels = 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in dataloader:
                images, masks = _split_batch(batch)
                cast = dtype if dtype is not None and images.is_floating_point() else None
                images = images.to(device, dtype=cast)
                masks = masks.to(device)
                if masks.is_floating_point() or masks.dim() != 3:
                    raise ValueError(
                        "masks must be integer class indices of shape (B, H, W); got dtype "
                        f"{masks.dtype}, shape {tuple(masks.shape)}"
                    )
                masks = masks.long()
                if masks.numel() and (masks.min() < 0 or masks.max() >= k):
                    raise ValueError(
                        f"mask values must lie in [0, {k}) for num_classes={k}; got values in "
                        f"[{int(masks.min())}, {int(masks.max())}]"
                    )
                logits = model(images)
                expected = (masks.shape[0], k, *masks.shape[1:])
                if tuple(logits.shape) != expected:
                    raise ValueError(
                        f"model output has shape {tuple(logits.shape)}; expected {expected} "
                        f"(B, num_classes={k}, H, W) to match the masks"
                    )
                loss_sum += F.cross_entropy(logits.float(), masks, reduction="sum").double()
                pixels += masks.numel()
                collection.update(logits.argmax(dim=1), masks)
    finally:
        model.train(was_training)

    if pixels == 0:
        raise ValueError("dataloader yielded no pixels to evaluate")
    values = collection.compute()
    confusion = values["confusion"].long().cpu()
    derived = metrics_from_confusion(confusion)
    iou = values["iou"].double().cpu()
    return {
        "recall": values["recall"].double().cpu().tolist(),
        "precision": values["precision"].double().cpu().tolist(),
        "iou": iou.tolist(),
        "miou": derived["miou"],
        "pixel_accuracy": float(values["pixel_accuracy"]),
        "confusion": confusion.tolist(),
        "loss": float(loss_sum / pixels),
        "support": [int(v) for v in derived["support"]],
        "predicted": [int(v) for v in derived["predicted"]],
        "pixels": pixels,
    }
