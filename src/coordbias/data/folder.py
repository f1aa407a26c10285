"""A data set read from a folder of image/mask PNG pairs (an export, or your own data)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from coordbias.data.config import split_id
from coordbias.data.generate import uint8_to_float

__all__ = ["FolderDataset"]


def _read_image(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        if image.mode not in ("RGB", "RGBA", "L", "P"):
            raise ValueError(
                f"{path}: image mode {image.mode!r} is not supported; use 8-bit RGB (or L, P, RGBA)"
            )
        return np.asarray(image.convert("RGB"))  # (H, W, 3) uint8


def _read_mask(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        if image.mode not in ("L", "P"):
            raise ValueError(
                f"{path}: mask mode {image.mode!r} is not supported; a mask is an 8-bit PNG of "
                "mode 'L' (or 'P') holding one class index per pixel"
            )
        return np.asarray(image)  # (H, W) uint8


class FolderDataset(Dataset):
    """Image/mask pairs from ``root/<split>/images/*.png`` and ``root/<split>/masks/*.png``.

    Pairs match by file name. An image is 8-bit RGB (L, P and RGBA are converted to RGB); a mask is
    an 8-bit PNG of mode "L" or "P" whose values are class indices. Images load as
    ``uint8 / 255``, the same conversion the on-the-fly generator uses, so an exported circles
    set loads back bit for bit equal to :class:`coordbias.data.CirclesDataset`.

    Missing pairs are reported when the data set is built; a size mismatch or a label outside
    ``[0, num_classes)`` when the item is read (or for all items at once with :meth:`validate`).

    Args:
        root: folder holding ``<split>/images`` and ``<split>/masks``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        num_classes: labels must lie in ``[0, num_classes)``.

    Shape:
        item: ``(image, mask)``, image float32 ``(3, H, W)`` in [0, 1], mask int64 ``(H, W)``.

    Raises:
        FileNotFoundError: the images or masks folder is missing.
        ValueError: no pairs, or an image without a mask (or the reverse), or a bad num_classes.
    """

    def __init__(
        self, root: str | os.PathLike[str], split: str = "train", num_classes: int = 4
    ) -> None:
        split_id(split)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int):
            raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
        if not 1 <= num_classes <= 256:
            raise ValueError(f"num_classes must be in [1, 256] for 8-bit masks, got {num_classes}")
        self.root = Path(root)
        self.split = split
        self.num_classes = num_classes
        folders = {kind: self.root / split / kind for kind in ("images", "masks")}
        for kind, folder in folders.items():
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"{kind} folder {folder} is missing; expected the layout "
                    "root/<split>/images/*.png and root/<split>/masks/*.png"
                )
        images = {p.name for p in folders["images"].glob("*.png")}
        masks = {p.name for p in folders["masks"].glob("*.png")}
        for kind, missing in (("mask", images - masks), ("image", masks - images)):
            if missing:
                first = sorted(missing)[:5]
                raise ValueError(
                    f"{len(missing)} file(s) in {self.root / split} have no {kind} "
                    f"of the same name, e.g. {first}"
                )
        if not images:
            raise ValueError(f"no PNG pairs found under {self.root / split}")
        self.names = sorted(images)

    def __len__(self) -> int:
        return len(self.names)

    def paths(self, index: int) -> tuple[Path, Path]:
        """The image and mask paths of item ``index``."""
        name = self.names[index]
        return self.root / self.split / "images" / name, self.root / self.split / "masks" / name

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, mask_path = self.paths(index)
        image = _read_image(image_path)
        mask = _read_mask(mask_path)
        if image.shape[:2] != mask.shape:
            raise ValueError(
                f"size mismatch: image {image_path} is {image.shape[1]}x{image.shape[0]} but mask "
                f"{mask_path} is {mask.shape[1]}x{mask.shape[0]} (width x height)"
            )
        top = int(mask.max())
        if top >= self.num_classes:
            raise ValueError(
                f"mask {mask_path} holds label {top}, outside [0, {self.num_classes}); "
                "pass a larger num_classes or fix the mask"
            )
        chw = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        return uint8_to_float(chw), torch.from_numpy(mask.astype(np.int64))

    def common_size(self) -> tuple[int, int]:
        """The ``(height, width)`` shared by every image, read from the PNG headers only.

        Raises:
            ValueError: images of different sizes (which cannot be stacked into one batch),
                naming the first image that differs.
        """
        first: tuple[int, int] | None = None
        first_name = ""
        for index in range(len(self)):
            image_path, _ = self.paths(index)
            with Image.open(image_path) as image:
                width, height = image.size
            if first is None:
                first, first_name = (height, width), image_path.name
            elif (height, width) != first:
                raise ValueError(
                    f"images differ in size: {image_path} is {width}x{height} but {first_name} is "
                    f"{first[1]}x{first[0]} (width x height); resize them to one size, or train "
                    "with batch size 1"
                )
        assert first is not None  # __init__ refuses an empty split
        return first

    def validate(self) -> None:
        """Read every pair once, raising the first size or label error."""
        for index in range(len(self)):
            self[index]

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(root={str(self.root)!r}, split={self.split!r}, n={len(self)})"
