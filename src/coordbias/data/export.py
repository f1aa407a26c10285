"""Write the circles data set to a folder of PNG image/mask pairs plus ``metadata.json``.

Layout (what :class:`coordbias.data.FolderDataset` reads back)::

    DIR/metadata.json                    config, seed, package version, every sample's circles
    DIR/<split>/images/<index:06d>.png   RGB, 8 bits per channel
    DIR/<split>/masks/<index:06d>.png    mode "L", one class index per pixel

Every file is written to a temporary name in its own folder, then moved into place with
``os.replace``, so a crash never leaves a half-written PNG under a final name.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from coordbias._util.errors import (
    UserFileExistsError,
    UserNotADirectoryError,
    UserValueError,
    check_folder_destination,
)
from coordbias._util.files import sync, write_bytes, write_text
from coordbias._version import __version__
from coordbias.data.config import CirclesConfig
from coordbias.data.generate import generate_batch
from coordbias.data.png import encode_png

__all__ = ["METADATA_NAME", "check_export", "export_dataset"]

METADATA_NAME = "metadata.json"
# PNG zlib level: 1 is several times faster than 6 for a few percent more bytes.
_COMPRESS_LEVEL = 1
_BATCH = 64


def __getattr__(name: str) -> object:
    if name == "atomic_write_bytes":  # the writer moved to the project's one atomic writer
        warnings.warn(
            "coordbias.data.export.atomic_write_bytes is deprecated; the project's atomic writer "
            "is coordbias._util.files.write_bytes",
            DeprecationWarning,
            stacklevel=2,
        )
        return write_bytes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _write_pair(image_path: Path, mask_path: Path, image: np.ndarray, mask: np.ndarray) -> None:
    # Not fsynced one by one (3 ms each here): export_dataset syncs once before metadata.json.
    write_bytes(image_path, encode_png(image, _COMPRESS_LEVEL), durable=False)
    write_bytes(mask_path, encode_png(mask, _COMPRESS_LEVEL), durable=False)


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def _unfinished_export(out: Path) -> bool:
    """Whether ``out`` holds only what an export killed partway leaves: no ``metadata.json``
    (written last), and nothing but split folders of ``images/`` and ``masks/`` holding PNGs
    and the atomic writer's temporary files. Such a folder is written again without
    ``overwrite``: every file of an export is a pure function of its arguments."""
    if (out / METADATA_NAME).exists():
        return False
    for entry in out.iterdir():
        if entry.name not in ("train", "val") or not entry.is_dir():
            return False
        for kind in entry.iterdir():
            if kind.name not in ("images", "masks") or not kind.is_dir():
                return False
            for item in kind.iterdir():
                if not item.is_file() or not (
                    item.suffix == ".png" or (item.name.startswith(".") and item.suffix == ".tmp")
                ):
                    return False
    return True


def _prepare(out: Path, overwrite: bool, splits: Iterable[str]) -> None:
    if out.exists() and not out.is_dir():
        raise UserNotADirectoryError(f"out must be a folder, but {out} is a file")
    check_folder_destination(out, "out")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite and not _unfinished_export(out):
            raise UserFileExistsError(
                f"{out} is not empty; pass overwrite=True (--overwrite) to replace its data set"
            )
        # Remove the earlier export's metadata first (written last, it marks a finished export,
        # so an interrupted overwrite cannot pass for one), then its PNGs, so a smaller export
        # leaves no stale samples.
        (out / METADATA_NAME).unlink(missing_ok=True)
        for split in splits:
            for kind in ("images", "masks"):
                for stale in (out / split / kind).glob("*.png"):
                    stale.unlink()
                for stale in (out / split / kind).glob(".*.tmp"):  # a write killed partway
                    stale.unlink()
    for split in splits:
        (out / split / "images").mkdir(parents=True, exist_ok=True)
        (out / split / "masks").mkdir(parents=True, exist_ok=True)


def export_dataset(
    out: str | os.PathLike[str],
    config: CirclesConfig | None = None,
    *,
    train: int = 5000,
    val: int = 2500,
    seed: int = 0,
    overwrite: bool = False,
    workers: int = 2,
    progress: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> Path:
    """Generate the train and val splits and write them as PNG pairs plus ``metadata.json``.

    The files are the same whatever ``workers`` is: each is a pure function of
    ``(config, seed, split, index)``.

    Args:
        out: target folder; created if missing, refused if not empty unless ``overwrite`` or
            it holds only an export killed partway (no ``metadata.json``), which is redone.
        config: data set settings (defaults: the original's).
        train: number of training samples (the original: 5,000).
        val: number of validation samples (the original: 2,500).
        seed: non-negative int.
        overwrite: write into a non-empty folder, first removing the split PNGs already there.
        workers: threads that encode and write PNGs (zlib releases the GIL); 1 writes inline.
            PNGs are encoded by :func:`coordbias.data.png.encode_png` (Up filter, zlib level 1).
        progress: show a tqdm progress bar.
        on_batch: called with the number of samples after each written batch (for tests, UIs).

    Returns:
        The folder written.

    Raises:
        FileExistsError: ``out`` is not empty and ``overwrite`` is False.
        NotADirectoryError: ``out`` is a file.
        ValueError: a negative count or seed, ``workers`` < 1, or ``out`` cannot be written
            (checked before the first sample is generated).
    """
    config = CirclesConfig() if config is None else config
    if not isinstance(config, CirclesConfig):
        raise TypeError(f"config must be a CirclesConfig, got {type(config).__name__}")
    counts = {"train": _check_count("train", train), "val": _check_count("val", val)}
    _check_count("seed", seed)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserValueError(f"workers must be an int >= 1, got {workers!r}")
    out = Path(out)
    _prepare(out, overwrite, counts)

    from tqdm.auto import tqdm

    metadata: dict[str, object] = {
        "format": "coordbias-circles/1",
        "version": __version__,
        "seed": seed,
        "config": config.to_dict(),
        "splits": {},
    }
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    bar = tqdm(total=sum(counts.values()), unit="img", disable=not progress, desc="export")
    try:
        for split, count in counts.items():
            samples: list[dict[str, object]] = []
            folder = out / split
            for lo in range(0, count, _BATCH):
                indices = list(range(lo, min(lo + _BATCH, count)))
                images, masks, circles = generate_batch(
                    config, seed, split, indices, dtype=torch.uint8
                )
                rgb = np.ascontiguousarray(images.numpy().transpose(0, 2, 3, 1))
                labels = masks.numpy().astype(np.uint8)
                jobs = []
                for row, index in enumerate(indices):
                    name = f"{index:06d}.png"
                    paths = (folder / "images" / name, folder / "masks" / name)
                    if pool is None:
                        _write_pair(*paths, rgb[row], labels[row])
                    else:
                        jobs.append(pool.submit(_write_pair, *paths, rgb[row], labels[row]))
                    samples.append({"index": index, "circles": circles.sample(row)})
                for job in jobs:
                    job.result()
                bar.update(len(indices))
                if on_batch is not None:
                    on_batch(len(indices))
            metadata["splits"][split] = {"count": count, "samples": samples}  # type: ignore[index]
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=True)
    text = json.dumps(metadata, separators=(",", ":"))
    sync()  # every PNG on disk before the marker that says the export is complete
    write_text(out / METADATA_NAME, text)
    return out


def check_export(root: str | os.PathLike[str], counts: dict[str, int] | None = None) -> None:
    """Refuse a folder that is not a complete export: no ``metadata.json`` (an export killed
    partway writes it last, so it has none), or PNG pairs that disagree with its counts.

    Args:
        root: the folder given as ``--data``.
        counts: the PNG pairs found per split, e.g. ``{"train": 5000, "val": 2500}``; ``None``
            checks only that ``metadata.json`` is there.

    Raises:
        UserValueError: naming the folder, what is wrong, and the flag for a folder of one's own.
    """
    root = Path(root)
    own = "if it is your own image/mask folder, say so with --own-data (own_data=True)"
    path = root / METADATA_NAME
    if not path.is_file():
        raise UserValueError(
            f"data folder {str(root)!r} has no {METADATA_NAME}: it is not a finished export of "
            f"`coordbias data generate` (one killed partway has none; run it again), and {own}"
        )
    if counts is None:
        return
    try:
        splits = json.loads(path.read_text())["splits"]
        expected = {split: int(splits[split]["count"]) for split in counts}
    except (ValueError, KeyError, TypeError) as error:
        raise UserValueError(
            f"data folder {str(root)!r}: {METADATA_NAME} cannot be read ({type(error).__name__}: "
            f"{error}); export the data set again, or {own}"
        ) from None
    for split, found in counts.items():
        if found != expected[split]:
            raise UserValueError(
                f"data folder {str(root)!r}: {split} holds {found} image/mask pairs but its "
                f"{METADATA_NAME} records {expected[split]}; the export is incomplete or was "
                f"changed: export it again, or {own}"
            )
