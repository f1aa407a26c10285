"""A data set read from a folder of image/mask PNG pairs (an export, or your own data)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from coordbias._util.errors import UserFileNotFoundError, UserValueError
from coordbias.data.config import split_id
from coordbias.data.generate import uint8_to_float

__all__ = ["FolderDataset"]

_IMAGE_MODES = ("RGB", "RGBA", "L", "P")
_MASK_MODES = ("L", "P")


def _unreadable(path: Path, kind: str, error: Exception) -> UserValueError:
    detail = " ".join(str(error).split()) or type(error).__name__
    return UserValueError(
        f"{kind} {str(path)!r} cannot be read as a PNG ({detail}); it is empty, truncated or not "
        "an image: replace it, or export the data set again"
    )


def _check_mode(path: Path, kind: str, mode: str) -> None:
    if kind == "image" and mode not in _IMAGE_MODES:
        raise UserValueError(
            f"{path}: image mode {mode!r} is not supported; use 8-bit RGB (or L, P, RGBA)"
        )
    if kind == "mask" and mode not in _MASK_MODES:
        raise UserValueError(
            f"{path}: mask mode {mode!r} is not supported; a mask is an 8-bit PNG of "
            "mode 'L' (or 'P') holding one class index per pixel"
        )


def _read(path: Path, kind: str) -> np.ndarray:
    """The pixels of an image (``(H, W, 3)``) or a mask (``(H, W)``), uint8."""
    try:
        with Image.open(path) as image:
            _check_mode(path, kind, image.mode)
            return np.asarray(image.convert("RGB") if kind == "image" else image)
    except (OSError, SyntaxError, ValueError) as error:  # PIL: unidentified, truncated, broken
        if isinstance(error, UserValueError):
            raise
        raise _unreadable(path, kind, error) from None


def _header(path: Path, kind: str) -> tuple[int, int]:
    """``(width, height)`` of a PNG after checking that the whole file is intact (its chunks'
    checksums, without decoding the pixels)."""
    try:
        with Image.open(path) as image:
            _check_mode(path, kind, image.mode)
            size = image.size
            image.verify()
        return size
    except (OSError, SyntaxError, ValueError) as error:
        if isinstance(error, UserValueError):
            raise
        raise _unreadable(path, kind, error) from None


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
        ValueError: no pairs, or an image without a mask (or the reverse), or a bad num_classes;
            reading an item: a file that is no intact PNG, a size mismatch, a label out of range.
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
                raise UserFileNotFoundError(
                    f"{kind} folder {folder} is missing; expected the layout "
                    "root/<split>/images/*.png and root/<split>/masks/*.png"
                )
        images = {p.name for p in folders["images"].glob("*.png")}
        masks = {p.name for p in folders["masks"].glob("*.png")}
        for kind, missing in (("mask", images - masks), ("image", masks - images)):
            if missing:
                first = sorted(missing)[:5]
                raise UserValueError(
                    f"{len(missing)} file(s) in {self.root / split} have no {kind} "
                    f"of the same name, e.g. {first}"
                )
        if not images:
            raise UserValueError(f"no PNG pairs found under {self.root / split}")
        self.names = sorted(images)

    def __len__(self) -> int:
        return len(self.names)

    def paths(self, index: int) -> tuple[Path, Path]:
        """The image and mask paths of item ``index``."""
        name = self.names[index]
        return self.root / self.split / "images" / name, self.root / self.split / "masks" / name

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, mask_path = self.paths(index)
        image = _read(image_path, "image")
        mask = _read(mask_path, "mask")
        if image.shape[:2] != mask.shape:
            raise UserValueError(
                f"size mismatch: image {image_path} is {image.shape[1]}x{image.shape[0]} but mask "
                f"{mask_path} is {mask.shape[1]}x{mask.shape[0]} (width x height)"
            )
        top = int(mask.max())
        if top >= self.num_classes:
            raise UserValueError(
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
                raise UserValueError(
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

    def check_files(self) -> None:
        """Check every file without decoding its pixels: each is an intact PNG (no empty, text
        or truncated file) of a supported mode, and each mask has its image's size.

        Meant to run before training, which would otherwise stop at the first bad file; labels
        outside ``[0, num_classes)`` show only in the pixels (:meth:`validate`).

        Raises:
            UserValueError: naming the first bad file.
        """
        for index in range(len(self)):
            image_path, mask_path = self.paths(index)
            size = _header(image_path, "image")
            if _header(mask_path, "mask") != size:
                self[index]  # raises the size mismatch with both sizes

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(root={str(self.root)!r}, split={self.split!r}, n={len(self)})"
