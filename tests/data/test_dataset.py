"""CirclesDataset: the contract's items, the same bytes whatever the DataLoader does."""

import pytest
import torch
from torch.utils.data import DataLoader

from coordbias.data import CirclesConfig, CirclesDataset, generate_batch

SMALL = CirclesConfig(image_size=32)


def test_items_follow_the_contract():
    data = CirclesDataset(SMALL, split="train", length=5, seed=3)
    image, mask = data[4]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
    assert mask.dtype == torch.int64 and mask.shape == (32, 32)
    assert float(image.min()) >= 0 and float(image.max()) <= 1
    assert set(mask.unique().tolist()) <= {0, 1, 2, 3}
    assert torch.equal(data[-1][0], image)
    expected, _, _ = generate_batch(SMALL, 3, "train", [4])
    assert torch.equal(image, expected[0])


def test_getitems_equals_item_by_item():
    data = CirclesDataset(SMALL, split="val", length=10, seed=1)
    batch = data.__getitems__([7, 2, 9])
    for (image, mask), index in zip(batch, [7, 2, 9]):
        single_image, single_mask = data[index]
        assert torch.equal(image, single_image) and torch.equal(mask, single_mask)


def _collect(loader):
    images, masks = zip(*loader)
    return torch.cat(images), torch.cat(masks)


def test_same_bytes_with_zero_or_two_workers_and_any_batch_size():
    data = CirclesDataset(SMALL, split="train", length=24, seed=5)
    reference = _collect(DataLoader(data, batch_size=8, num_workers=0))
    for workers, batch_size in ((2, 8), (2, 5), (0, 1), (0, 24)):
        loader = DataLoader(data, batch_size=batch_size, num_workers=workers)
        images, masks = _collect(loader)
        assert torch.equal(images, reference[0]), (workers, batch_size)
        assert torch.equal(masks, reference[1]), (workers, batch_size)


def test_a_shuffled_loader_returns_the_samples_of_its_indices():
    data = CirclesDataset(SMALL, length=12, seed=0)
    order = torch.randperm(12, generator=torch.Generator().manual_seed(0)).tolist()
    loader = DataLoader(data, batch_size=4, sampler=order)
    images, _ = _collect(loader)
    expected, _, _ = generate_batch(SMALL, 0, "train", order)
    assert torch.equal(images, expected)


def test_train_and_val_differ():
    train = CirclesDataset(SMALL, split="train", length=3)
    val = CirclesDataset(SMALL, split="val", length=3)
    for i in range(3):
        assert not torch.equal(train[i][0], val[i][0])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"split": "eval"}, ValueError, "split"),
        ({"length": -1}, ValueError, "length"),
        ({"seed": -2}, ValueError, "seed"),
        ({"config": {"image_size": 32}}, TypeError, "CirclesConfig"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        CirclesDataset(**kwargs)


def test_index_out_of_range():
    data = CirclesDataset(SMALL, length=2)
    with pytest.raises(IndexError, match="out of range"):
        data[2]
    with pytest.raises(IndexError):
        data.__getitems__([0, 5])
