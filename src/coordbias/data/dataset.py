"""The circles data set generated on the fly, as a ``torch.utils.data.Dataset``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from coordbias.data.config import CirclesConfig, split_id
from coordbias.data.generate import generate_batch

__all__ = ["CirclesDataset"]


class CirclesDataset(Dataset):
    """Circles on a Perlin background, generated on the fly; nothing touches the disk.

    Item i is a pure function of ``(config, seed, split, i)``: the same bytes whatever the
    DataLoader's worker count, order or batch size. :meth:`__getitems__` generates a whole batch
    at once (the DataLoader calls it when present), with results identical to item by item.

    Args:
        config: data set settings (defaults: the original's).
        split: ``"train"``, ``"val"`` or ``"test"``; splits never share a sample.
        length: number of samples (the original: 5,000 train, 2,500 val).
        seed: non-negative int.

    Shape:
        item: ``(image, mask)``, image float32 ``(3, S, S)`` in [0, 1], mask int64 ``(S, S)``.

    Example:
        >>> data = CirclesDataset(CirclesConfig(image_size=32), split="val", length=4, seed=1)
        >>> image, mask = data[3]
        >>> len(data), tuple(image.shape), tuple(mask.shape), int(mask.max()) < 4
        (4, (3, 32, 32), (32, 32), True)
    """

    def __init__(
        self,
        config: CirclesConfig | None = None,
        split: str = "train",
        length: int = 5000,
        seed: int = 0,
    ) -> None:
        config = CirclesConfig() if config is None else config
        if not isinstance(config, CirclesConfig):
            raise TypeError(f"config must be a CirclesConfig, got {type(config).__name__}")
        split_id(split)
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise ValueError(f"length must be a non-negative int, got {length!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.config = config
        self.split = split
        self.length = length
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def _check(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            try:
                index = int(index)  # numpy and 0-d tensor indices
            except TypeError:
                raise TypeError(f"index must be an int, got {type(index).__name__}") from None
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a data set of length {self.length}")
        return index

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks, _ = generate_batch(self.config, self.seed, self.split, [self._check(index)])
        return images[0], masks[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Generate the samples ``indices`` in one vectorised call (used by the DataLoader)."""
        checked = [self._check(i) for i in indices]
        images, masks, _ = generate_batch(self.config, self.seed, self.split, checked)
        return list(zip(images.unbind(0), masks.unbind(0)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(split={self.split!r}, length={self.length}, seed={self.seed}, "
            f"image_size={self.config.image_size})"
        )
