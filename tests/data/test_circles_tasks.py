"""The benchmark's circles tasks and the Not-so-Clevr data (coordbias.data.circles_tasks,
coordbias.data.notsoclevr)."""

from __future__ import annotations

import pytest
import torch

from coordbias.data import CIRCLES_TASKS, CirclesConfig, circles_task, generate_batch
from coordbias.data.notsoclevr import centres, encode, onehot_images, split_indices, targets

BASE = CirclesConfig(image_size=32)


def test_colour_task_draws_the_same_images_with_colour_classes():
    images, masks, circles = generate_batch(BASE, 3, "train", range(6))
    train, test = circles_task("colour", BASE)
    assert train == test and train.num_classes == 3
    c_images, c_masks, _ = generate_batch(train, 3, "train", range(6))
    assert torch.equal(images, c_images)
    # Every circle pixel's class is its colour: 1 yellow, 2 red (red top was background before).
    yellow = (masks == 1) | (masks == 2)
    red_bottom = masks == 3
    assert bool((c_masks[yellow] == 1).all()) and bool((c_masks[red_bottom] == 2).all())
    assert set(c_masks.unique().tolist()) <= {0, 1, 2}
    # Red circles in the top half were background; now they are class 2.
    assert int((c_masks == 2).sum()) >= int(red_bottom.sum())
    assert any(c["color"] == "red" for i in range(6) for c in circles.sample(i))


def test_shifted_task_trains_left_and_tests_right():
    train, test = circles_task("shifted", BASE)
    _, _, tr = generate_batch(train, 0, "train", range(20))
    _, _, te = generate_batch(test, 0, "val", range(20))
    half = BASE.image_size // 2
    assert (tr.cx + tr.radius <= half).all()
    assert (te.cx - te.radius >= half).all()
    assert train.num_classes == test.num_classes == 3


def test_circles_task_is_the_base_and_unknown_names_are_refused():
    assert circles_task("circles", BASE) == (BASE, BASE)
    assert list(CIRCLES_TASKS) == ["circles", "colour", "shifted"]
    with pytest.raises(ValueError, match="task must be one of circles, colour, shifted"):
        circles_task("mirror", BASE)
    with pytest.raises(TypeError, match="CirclesConfig"):
        circles_task("circles", {"image_size": 32})


def test_onehot_images_mark_the_centre_pixel_the_targets_name():
    c = centres()[[0, 100, -1]]
    img = onehot_images(c)
    assert img.shape == (3, 1, 64, 64)
    assert torch.equal(img.flatten(1).argmax(1), targets(c))
    assert torch.equal(img.sum(dim=(1, 2, 3)), torch.ones(3))


def test_splits_are_deterministic_and_encode_is_in_range():
    a, b = split_indices("uniform", 5), split_indices("uniform", 5)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(split_indices("uniform", 6)[1], a[1])
    e = encode(centres())
    assert float(e.min()) > -1 and float(e.max()) < 1
