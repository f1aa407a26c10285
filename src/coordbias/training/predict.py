"""Using a trained run: evaluate it on a split, and predict colour-coded masks for image files."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from coordbias._util.files import write_bytes, write_json
from coordbias.training.checkpoint import load_model, resolve_source
from coordbias.training.datamodule import make_loader

SPLITS = ("train", "val")


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device``, or CUDA / MPS / CPU (the first available) when ``None`` or ``"auto"``.

    Example:
        >>> pick_device("cpu")
        device(type='cpu')
    """
    if device not in (None, "auto"):
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def evaluate_run(
    source: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    split: str = "val",
    size: int | None = None,
    image_size: int | None = None,
    data_seed: int | None = None,
    batch_size: int = 16,
    device: str | torch.device | None = None,
    out: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Evaluate a run folder or checkpoint on a generated split or on an image/mask folder.

    Args:
        source: a run folder, its ``model.pt`` or a Lightning ``.ckpt``.
        data_dir: read ``data_dir/<split>/{images,masks}`` instead of generating data.
        split: ``"train"`` or ``"val"``.
        size: images to generate (default: the run's ``train_size`` / ``val_size``).
        image_size: side of generated images (default: the run's; any multiple of 8 works).
        data_seed: seed of the generated data (default: the run's).
        batch_size: images per forward pass.
        device: where to run (default: the first of CUDA, MPS, CPU).
        out: JSON file to write (atomically); ``None`` writes nothing.

    Returns:
        ``{"source", "checkpoint", "data", "metrics"}``; ``metrics`` is ``evaluate()``'s dict.
    """
    from coordbias import data
    from coordbias.training.metrics import evaluate

    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not supported; accepted: {', '.join(SPLITS)}")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer")
    if size is not None and size < 1:
        raise ValueError(f"size={size!r} must be a positive integer")
    if image_size is not None and (image_size < 8 or image_size % 8):
        raise ValueError(f"image_size={image_size!r} must be a positive multiple of 8")
    checkpoint = resolve_source(source)
    config, model = load_model(checkpoint)
    if data_dir is not None:
        if not Path(data_dir).is_dir():
            raise ValueError(f"data_dir={str(data_dir)!r} is not a folder")
        dataset = data.FolderDataset(data_dir, split=split, num_classes=config.num_classes)
        described: dict[str, Any] = {"data_dir": str(data_dir), "split": split}
    else:
        side = image_size or config.image_size
        count = size or (config.train_size if split == "train" else config.val_size)
        seed = config.data_seed if data_seed is None else data_seed
        circles = data.CirclesConfig(image_size=side)
        dataset = data.CirclesDataset(circles, split=split, length=count, seed=seed)
        described = {"split": split, "image_size": side, "size": count, "data_seed": seed}
    described["images"] = len(dataset)
    run_on = pick_device(device)
    loader = make_loader(dataset, batch_size=batch_size, shuffle=False)
    metrics = evaluate(model.to(run_on), loader, num_classes=config.num_classes, device=run_on)
    result = {
        "source": str(source),
        "checkpoint": str(checkpoint),
        "data": described,
        "metrics": metrics,
    }
    if out is not None:
        write_json(out, result)
    return result


def read_image(path: str | os.PathLike) -> Tensor:
    """An image file as float32 ``(3, H, W)`` in [0, 1] (any mode PIL reads, made RGB)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {str(path)!r} does not exist")
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"image {str(path)!r} cannot be read: {error}") from None
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def colorize(mask: Tensor) -> np.ndarray:
    """Class indices ``(H, W)`` to an RGB ``uint8`` array ``(H, W, 3)`` in the label colours.

    Example:
        >>> colorize(torch.tensor([[0, 1], [2, 3]])).tolist()
        [[[0, 0, 0], [255, 255, 0]], [[0, 0, 255], [255, 0, 0]]]
        >>> colorize(torch.tensor([[4, 5]])).tolist()
        [[[0, 200, 0], [255, 0, 255]]]
    """
    from coordbias.data.show import colorize as colorize_float

    return (colorize_float(mask.cpu().numpy()) * 255).round().astype(np.uint8)


@torch.no_grad()
def predict_masks(model: nn.Module, images: Tensor) -> Tensor:
    """Predicted class indices ``(B, H, W)`` of images ``(B, 3, H, W)`` (H, W divisible by 8)."""
    device = next(model.parameters()).device
    return model(images.to(device)).argmax(1).cpu()


def predict_files(
    source: str | os.PathLike,
    images: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    device: str | torch.device | None = None,
) -> list[Path]:
    """Write ``out_dir/<name>.mask.png`` (colour-coded prediction) for each image file.

    Raises:
        ValueError: an image whose sides are not divisible by 8, or that cannot be read.
    """
    from PIL import Image

    if not images:
        raise ValueError("images is empty; give at least one image file")
    tensors = []
    for path in images:
        image = read_image(path)
        height, width = image.shape[-2:]
        if height % 8 or width % 8:
            raise ValueError(
                f"image {str(path)!r} is {height} x {width}; the network needs sides divisible "
                "by 8 (crop or resize it)"
            )
        tensors.append(image)
    _, model = load_model(source, map_location=pick_device(device))
    written = []
    out = Path(out_dir)
    for path, image in zip(images, tensors):
        mask = predict_masks(model, image[None])[0]
        buffer = io.BytesIO()
        Image.fromarray(colorize(mask)).save(buffer, format="PNG")
        target = out / f"{Path(path).stem}.mask.png"
        write_bytes(target, buffer.getvalue())
        written.append(target)
    return written
