"""Data wiring: the data sets a config names, and loaders whose order depends on (seed, epoch) only.

The training loader shuffles with ``torch.utils.data.DistributedSampler`` given the world size
and rank explicitly (1 and 0 in a single process). Its order for epoch ``e`` is a permutation
drawn from ``seed + e``, so a run resumed after its first epoch sees the very batches a straight
run sees, and under DDP each process takes its own shard of that same permutation.
"""

from __future__ import annotations

import os

import lightning as L
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from coordbias._util.errors import UserValueError
from coordbias.training.config import TrainConfig

SPLITS = ("train", "val")


def make_datasets(config: TrainConfig) -> tuple[Dataset, Dataset]:
    """The training and validation sets of ``config``.

    Generated on the fly (``coordbias.data.CirclesDataset``) unless ``config.data_dir`` names a
    folder (``coordbias.data.FolderDataset``). Items are ``(image, mask)``: image float32
    ``(3, S, S)`` in [0, 1], mask int64 ``(S, S)`` of class indices.
    """
    from coordbias import data

    if config.data_dir is None:
        circles = data.CirclesConfig(image_size=config.image_size)
        seed = config.data_seed
        train = data.CirclesDataset(circles, split="train", length=config.train_size, seed=seed)
        val = data.CirclesDataset(circles, split="val", length=config.val_size, seed=seed)
        return train, val
    return folder_datasets(
        config.data_dir, config.num_classes, own=config.own_data, batched=config.batch_size > 1
    )


def folder_datasets(
    root: str | os.PathLike,
    num_classes: int,
    *,
    own: bool = False,
    batched: bool = False,
    splits: tuple[str, ...] = SPLITS,
) -> tuple[Dataset, ...]:
    """The splits of an image/mask folder, every file checked before training or evaluation.

    Args:
        root: an export of ``coordbias data generate``, or the user's own folder.
        num_classes: labels lie in ``[0, num_classes)``.
        own: the folder is the user's own: no ``metadata.json`` is asked for. Otherwise a folder
            without one, or whose pairs disagree with it (an export killed partway), is refused.
        batched: batches of several images are stacked, so every image must have one size.
        splits: the splits to read.

    Raises:
        UserValueError: a partial export, a file that is no intact PNG, an image size the FCN
            cannot take; naming the folder or file.
    """
    from coordbias import data
    from coordbias.data.export import check_export

    if not own:
        check_export(root)
    datasets = [data.FolderDataset(root, split=split, num_classes=num_classes) for split in splits]
    if not own:
        check_export(root, {split: len(d) for split, d in zip(splits, datasets)})
    for split, dataset in zip(splits, datasets):
        dataset.check_files()
        if batched:
            height, width = dataset.common_size()  # mixed sizes cannot be stacked into batches
        else:
            height, width = dataset[0][0].shape[-2:]
        if height % 8 or width % 8:
            raise UserValueError(
                f"data_dir={str(root)!r}: {split} images are {height} x {width}; "
                "the FCN needs sides divisible by 8"
            )
    return tuple(datasets)


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    workers: int = 0,
    num_replicas: int = 1,
    rank: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    """A loader over ``dataset`` whose order is a function of ``(seed, epoch)`` and the rank.

    The sampler is a ``DistributedSampler`` with ``num_replicas`` and ``rank`` given, so it needs
    no process group; call ``loader.sampler.set_epoch(e)`` (Lightning does) for epoch ``e``.

    Example:
        >>> import torch
        >>> data = torch.utils.data.TensorDataset(torch.arange(6))
        >>> loader = make_loader(data, batch_size=6, shuffle=True, seed=1)
        >>> loader.sampler.set_epoch(0); first = next(iter(loader))[0].tolist()
        >>> loader.sampler.set_epoch(0); first == next(iter(loader))[0].tolist()
        True
        >>> sorted(first)
        [0, 1, 2, 3, 4, 5]
    """
    sampler = DistributedSampler(
        dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False
    )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=pin_memory,
    )


class CirclesDataModule(L.LightningDataModule):
    """Loaders for ``config``'s data, sharded by the trainer's world size and rank.

    Args:
        config: the run's settings (batch size, workers, seed, data source).
        datasets: ``(train, val)`` to use instead of building them from ``config``.
    """

    def __init__(self, config: TrainConfig, datasets: tuple[Dataset, Dataset] | None = None):
        super().__init__()
        self.config = config
        self._datasets = datasets

    def setup(self, stage: str | None = None) -> None:
        if self._datasets is None:
            self._datasets = make_datasets(self.config)

    @property
    def datasets(self) -> tuple[Dataset, Dataset]:
        self.setup()
        assert self._datasets is not None
        return self._datasets

    def _replicas(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        replicas, rank = self._replicas()
        pin = self.trainer is not None and self.trainer.strategy.root_device.type == "cuda"
        return make_loader(
            dataset,
            batch_size=self.config.batch_size,
            shuffle=shuffle,
            seed=self.config.seed,
            workers=self.config.workers,
            num_replicas=replicas,
            rank=rank,
            pin_memory=pin,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.datasets[0], shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.datasets[1], shuffle=False)


__all__ = ["CirclesDataModule", "folder_datasets", "make_datasets", "make_loader"]
