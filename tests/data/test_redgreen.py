"""The Red-Green data set: determinism, the protocol's facts, both flavours."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coordbias.data.redgreen import (
    BOX,
    REDGREEN_SPLITS,
    SHIFT,
    RedGreenDataset,
    redgreen_boxes,
    redgreen_tensors,
)


@pytest.fixture(scope="module")
def paper():
    return {split: redgreen_tensors(split) for split in REDGREEN_SPLITS}


def test_split_sizes_are_the_papers(paper):
    assert {s: len(paper[s][1]) for s in paper} == {
        "train": 2000,
        "val": 1000,
        "similar": 1000,
        "dissimilar": 1000,
    }
    images, labels = paper["train"]
    assert images.shape == (2000, 3, 32, 32) and images.dtype == torch.float32
    assert labels.tolist() == [i % 2 for i in range(2000)]


def test_first_pairs_of_their_stream():
    # Checked against their generator (utils_red_green.gen_box_data, numpy legacy seed 1988).
    boxes, _ = redgreen_boxes("train", range(4))
    assert boxes.tolist() == [[8, 8, 3, 25], [19, 7, 22, 12], [10, 0, 8, 13], [25, 3, 22, 25]]


def test_each_image_has_one_red_and_one_green_box_in_the_class_order(paper):
    images, labels = paper["train"]
    boxes, _ = redgreen_boxes("train", range(2000))
    assert torch.all(images[:, 0].sum((1, 2)) == BOX * BOX)
    assert torch.all(images[:, 1].sum((1, 2)) == BOX * BOX)
    assert torch.all(images[:, 2] == 0)
    cols = {c: images[:, c].amax(1).argmax(1) for c in (0, 1)}  # first column of each box
    red_left = cols[0] < cols[1]
    assert torch.equal(red_left, labels == 0)
    # columns at least BOX + 1 apart, boxes inside the image
    assert np.all(boxes[:, 3] - boxes[:, 1] >= BOX + 1)
    assert boxes.min() >= 0 and boxes.max() <= 32 - BOX


def test_training_class_is_tied_to_the_image_half(paper):
    boxes, labels = redgreen_boxes("train", range(2000))
    rows = boxes[:, [0, 2]]
    assert rows[labels == 0].min() == 3 and rows[labels == 0].max() == 10
    assert rows[labels == 1].min() == 19 and rows[labels == 1].max() == 26
    assert boxes[:, 1].min() == 0 and boxes[:, 1].max() == 9  # left box's column


def test_paper_sets_repeat_the_first_training_images(paper):
    train = paper["train"][0]
    assert torch.equal(paper["val"][0], train[:1000])
    assert torch.equal(paper["similar"][0], train[:1000])


@pytest.mark.parametrize("draws", ["paper", "independent"])
def test_dissimilar_is_similar_shifted_16_rows(draws):
    similar, labels = redgreen_tensors("similar", 50, seed=5, draws=draws)
    dissimilar, labels2 = redgreen_tensors("dissimilar", 50, seed=5, draws=draws)
    assert torch.equal(labels, labels2)
    for image, moved, label in zip(similar, dissimilar, labels.tolist()):
        shift = SHIFT if label == 0 else -SHIFT  # class 0 down, class 1 up
        assert torch.equal(torch.roll(image, shift, dims=1), moved)
    rows = redgreen_boxes("dissimilar", range(50), seed=5, draws=draws)[0][:, 0]
    assert np.all((rows[0::2] >= 16) & (rows[1::2] < 16))  # each class in the other half


def test_independent_draws_differ_between_splits_and_seeds():
    train = redgreen_tensors("train", 20, seed=0, draws="independent")[0]
    val = redgreen_tensors("val", 20, seed=0, draws="independent")[0]
    test = redgreen_tensors("similar", 20, seed=0, draws="independent")[0]
    other = redgreen_tensors("train", 20, seed=1, draws="independent")[0]
    for a, b in [(train, val), (train, test), (val, test), (train, other)]:
        assert not torch.equal(a, b)


@pytest.mark.parametrize("draws", ["paper", "independent"])
def test_an_item_is_a_pure_function_of_seed_split_index(draws):
    data = RedGreenDataset("train", 30, seed=7, draws=draws)
    images, labels = data.tensors()
    for i in (29, 0, 13, -1):
        image, label = data[i]
        assert torch.equal(image, images[i]) and int(label) == int(labels[i])
    again = redgreen_tensors("train", 30, seed=7, draws=draws)
    assert torch.equal(again[0], images)
    # a longer set starts with the shorter one
    assert torch.equal(redgreen_tensors("train", 40, seed=7, draws=draws)[0][:30], images)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="split"):
        RedGreenDataset("test")
    with pytest.raises(ValueError, match="draws"):
        redgreen_tensors("train", 2, draws="other")
    with pytest.raises(ValueError, match="seed"):
        RedGreenDataset("train", seed=-1)
    with pytest.raises(IndexError):
        RedGreenDataset("val", 3)[3]
