"""Using a trained run: evaluate it on a split, and predict colour-coded masks for image files."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from coordbias._util.devices import resolve_device
from coordbias._util.errors import (
    UserValueError,
    check_file_destination,
    check_folder_destination,
    check_readable_file,
)
from coordbias._util.files import write_bytes, write_json
from coordbias.training.checkpoint import load_model, resolve_source
from coordbias.training.datamodule import SPLITS, folder_datasets, make_loader

MASK_SUFFIX = ".mask.png"


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device``, or CUDA / MPS / CPU (the first available) when ``None`` or ``"auto"``.

    Raises:
        UserValueError: a device torch does not know, or one this machine does not have.

    Example:
        >>> pick_device("cpu")
        device(type='cpu')
    """
    return resolve_device(device)


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
    own_data: bool = False,
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
        out: JSON file to write (atomically); ``None`` writes nothing. Checked before the
            evaluation starts.
        own_data: ``data_dir`` is the user's own image/mask folder (no ``metadata.json``);
            otherwise a folder that is not a complete export is refused.

    Returns:
        ``{"source", "checkpoint", "data", "metrics"}``; ``metrics`` is ``evaluate()``'s dict.
    """
    from coordbias import data
    from coordbias.training.metrics import evaluate

    if split not in SPLITS:
        raise UserValueError(f"split={split!r} is not supported; accepted: {', '.join(SPLITS)}")
    if batch_size < 1:
        raise UserValueError(f"batch_size={batch_size!r} must be a positive integer")
    if size is not None and size < 1:
        raise UserValueError(f"size={size!r} must be a positive integer")
    if image_size is not None and (image_size < 8 or image_size % 8):
        raise UserValueError(f"image_size={image_size!r} must be a positive multiple of 8")
    if data_seed is not None and data_seed < 0:
        raise UserValueError(f"data_seed={data_seed!r} must be >= 0")
    run_on = pick_device(device)
    if out is not None:
        check_file_destination(out, "out")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UserValueError(f"data_dir={str(data_dir)!r} is not a folder")
    checkpoint = resolve_source(source)
    config, model = load_model(checkpoint)
    if data_dir is not None:
        (dataset,) = folder_datasets(data_dir, config.num_classes, own=own_data, splits=(split,))
        described: dict[str, Any] = {"data_dir": str(data_dir), "split": split}
    else:
        side = image_size or config.image_size
        count = size or (config.train_size if split == "train" else config.val_size)
        seed = config.data_seed if data_seed is None else data_seed
        circles = data.CirclesConfig(image_size=side)
        dataset = data.CirclesDataset(circles, split=split, length=count, seed=seed)
        described = {"split": split, "image_size": side, "size": count, "data_seed": seed}
    described["images"] = len(dataset)
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

    path = check_readable_file(path, "image")
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        detail = " ".join(str(error).split()) or type(error).__name__
        raise UserValueError(
            f"image {str(path)!r} cannot be read ({detail}); expected a PNG, JPEG or another "
            "image file Pillow reads"
        ) from None
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


def mask_paths(images: list[str | os.PathLike], out_dir: str | os.PathLike) -> list[Path]:
    """Where :func:`predict_files` writes the mask of each image: ``out_dir`` mirrors the
    images' folders below the one they share, and ``name.png`` becomes ``name.mask.png``.

    Images of one folder (the usual case) give a flat ``out_dir``; ``a/x.png`` and ``b/x.png``
    give ``out_dir/a/x.mask.png`` and ``out_dir/b/x.mask.png``.

    Raises:
        UserValueError: an image given twice, two images that would write one mask (``x.png``
            and ``x.jpg``), or a mask that would overwrite one of the images; naming them.

    Example:
        >>> [str(p) for p in mask_paths(["in/a/x.png", "in/b/x.png"], "out")]
        ['out/a/x.mask.png', 'out/b/x.mask.png']
    """
    out = Path(out_dir)
    sources = [Path(p) for p in images]
    absolute = [Path(os.path.abspath(p)) for p in sources]
    common = Path(os.path.commonpath([p.parent for p in absolute]))
    targets = [out / p.parent.relative_to(common) / f"{p.stem}{MASK_SUFFIX}" for p in absolute]
    first: dict[Path, Path] = {}
    inputs = {Path(os.path.abspath(t)) for t in targets} & set(absolute)
    for source, target in zip(sources, targets):
        key = Path(os.path.abspath(target))
        if key in inputs:
            raise UserValueError(
                f"the mask of image {str(source)!r} would overwrite the image {str(target)!r}; "
                "choose another --out"
            )
        if key in first and Path(os.path.abspath(first[key])) == Path(os.path.abspath(source)):
            raise UserValueError(f"image {str(source)!r} is given twice; give each image once")
        if key in first:
            raise UserValueError(
                f"images {str(first[key])!r} and {str(source)!r} would both write the mask "
                f"{str(target)!r}; rename one of them, or predict them into two folders"
            )
        first[key] = source
    return targets


def predict_files(
    source: str | os.PathLike,
    images: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    device: str | torch.device | None = None,
) -> list[Path]:
    """Write a colour-coded predicted mask for each image file (paths: :func:`mask_paths`).

    Every image is read, every mask path and ``out_dir`` checked, before the model runs.

    Returns:
        The masks written, in the order of ``images``.

    Raises:
        UserValueError: an image whose sides are not divisible by 8, or that cannot be read; two
            images that would write one mask; ``out_dir`` that cannot be written.
    """
    from PIL import Image

    if not images:
        raise UserValueError("images is empty; give at least one image file")
    run_on = pick_device(device)
    targets = mask_paths(images, out_dir)
    check_folder_destination(out_dir, "--out")
    tensors = []
    for path in images:
        image = read_image(path)
        height, width = image.shape[-2:]
        if height % 8 or width % 8:
            raise UserValueError(
                f"image {str(path)!r} is {height} x {width}; the network needs sides divisible "
                "by 8 (crop or resize it)"
            )
        tensors.append(image)
    _, model = load_model(source, map_location=run_on)
    for image, target in zip(tensors, targets):
        mask = predict_masks(model, image[None])[0]
        buffer = io.BytesIO()
        Image.fromarray(colorize(mask)).save(buffer, format="PNG")
        write_bytes(target, buffer.getvalue())
    return targets
