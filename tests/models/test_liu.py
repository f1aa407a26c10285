"""Liu et al.'s Not-so-Clevr classifier and regressor, as their code builds them."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from coordbias import CoordConv2d
from coordbias.data.notsoclevr import onehot_images
from coordbias.models import (
    CONV_KINDS,
    LIU_CLASSIFIER_SETTINGS,
    LIU_REGRESSOR_SETTINGS,
    create_model,
    he_init,
)


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_classifier_is_their_coordconv_painter():
    model = create_model("liu_classifier")
    convs = list(model.convs)
    assert type(convs[0]) is CoordConv2d and convs[0].weight.shape == (32, 2 + 2, 1, 1)
    assert [c.out_channels for c in convs] == [32, 32, 64, 64, 1]
    assert all(c.kernel_size == (1, 1) for c in convs)
    assert all(type(c) is nn.Conv2d for c in convs[1:])
    # (2 inputs + 2 coordinates) -> 32 -> 32 -> 64 -> 64 -> 1, 1 x 1, with biases
    assert _count(model) == (4 * 32 + 32) + (32 * 32 + 32) + (32 * 64 + 64) + (64 * 64 + 64) + 65
    assert model(torch.tensor([[4.0, 59.0]])).shape == (1, 4096)


def test_regressor_is_their_linear_coordconv_model():
    model = create_model("liu_regressor")
    convs = list(model.convs)
    assert type(convs[0]) is CoordConv2d and convs[0].weight.shape == (8, 1 + 2, 1, 1)
    assert [c.kernel_size[0] for c in convs] == [1, 1, 1, 3, 3]
    assert [c.padding[0] for c in convs] == [0, 0, 0, 1, 1]
    assert [c.out_channels for c in convs] == [8, 8, 8, 8, 2]
    assert _count(model) == (3 * 8 + 8) + 2 * (8 * 8 + 8) + (8 * 9 * 8 + 8) + (8 * 9 * 2 + 2)
    # No activation: the map before the global max is affine in the image.
    model.double()
    x = torch.rand(2, 1, 64, 64, dtype=torch.float64)

    def stack(t):
        for conv in convs:
            t = conv(t)
        return t

    with torch.no_grad():
        torch.testing.assert_close(stack(2 * x) - stack(x), stack(x) - stack(0 * x))


def test_coordinates_enter_at_the_first_layer():
    # With the hot pixel strong enough to hold the maximum, a plain stack gives the same output
    # wherever the pixel is (away from the borders); with coordinates at the input it does not.
    images = 1000 * onehot_images(torch.tensor([[20, 20], [30, 40]]))  # the hot pixel wins
    torch.manual_seed(0)
    plain, coord = create_model("liu_regressor", conv="vanilla"), create_model("liu_regressor")
    with torch.no_grad():
        a, b = plain(images)
        torch.testing.assert_close(a, b)
        a, b = coord(images)
        assert not torch.allclose(a, b)


def test_he_init_has_the_truncated_std_and_zero_biases():
    torch.manual_seed(0)
    conv = he_init(nn.Conv2d(64, 256, 3)).requires_grad_(False)
    std = math.sqrt(2 / (64 * 9))
    assert abs(float(conv.weight.std()) / std - 1) < 0.02
    assert float(conv.weight.abs().max()) <= 2 * std / 0.8796 + 1e-6  # cut at 2 raw std
    assert torch.all(conv.bias == 0)
    for name in ("liu_classifier", "liu_regressor"):
        model = create_model(name)
        assert all(torch.all(c.bias == 0) for c in model.convs)
        first = model.convs[0].weight.detach()
        assert float(first.abs().max()) <= 2 * math.sqrt(2 / first[0].numel()) / 0.8796 + 1e-6


@pytest.mark.parametrize("kind", list(CONV_KINDS))
@pytest.mark.parametrize("name", ["liu_classifier", "liu_regressor"])
def test_every_method_can_take_the_first_layer(name, kind):
    model = create_model(name, conv=kind)
    x = torch.rand(2, 2) if name == "liu_classifier" else torch.rand(2, 1, 64, 64)
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    expected = nn.Conv2d if kind == "vanilla" else type(model.convs[0])
    assert all(type(c) is nn.Conv2d for c in model.convs[1:])
    assert type(model.convs[0]) is expected


def test_all_scope_gives_every_layer_the_method():
    model = create_model("liu_regressor", conv="coordbias", conv_scope="all")
    assert {type(c).__name__ for c in model.convs} == {"CoordBiasConv2d"}


def test_their_settings_are_recorded_read_only():
    assert LIU_CLASSIFIER_SETTINGS["batch_size"] == 16
    assert LIU_REGRESSOR_SETTINGS["batch_size"] == 256
    with pytest.raises(TypeError):
        LIU_REGRESSOR_SETTINGS["lr"] = 1.0
