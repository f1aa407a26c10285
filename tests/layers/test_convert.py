"""coordbias.convert: swaps convolutions in place, keeping weights, flags and outputs."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from coordbias import (
    CoordBiasConv2d,
    CoordBiasConvTranspose2d,
    CoordConv1d,
    CoordConv2d,
    convert,
)


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(self.conv(x)))


class Net(nn.Module):
    """Conv2d, a nested block, a strided conv, a ConvTranspose2d and a 1x1 head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.encoder = nn.Sequential(Block(), nn.Conv2d(8, 8, 3, stride=2, padding=1))
        self.up = nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(self.encoder(torch.relu(self.stem(x)))))


CONVS = ["stem", "encoder.0.conv", "encoder.1", "up", "head"]


def make_net() -> Net:
    torch.manual_seed(0)
    net = Net().double()
    net.encoder.requires_grad_(False)  # a frozen part
    net.encoder[0].eval()  # a sub-module in another mode than its parent
    return net


def snapshot(net: nn.Module) -> dict[str, tuple[torch.Tensor, bool, bool]]:
    return {
        name: (m.weight.detach().clone(), m.weight.requires_grad, m.training)
        for name, m in net.named_modules()
        if name in CONVS
    }


def test_coordbias_round_trip_is_bitwise():
    net = make_net()
    x = torch.randn(2, 3, 16, 12, dtype=torch.float64)
    before, state = net(x), snapshot(net)
    params = {name: p for name, p in net.named_parameters()}
    out = convert(net)
    assert out is net  # in place
    assert type(net.stem) is CoordBiasConv2d
    assert type(net.encoder[0].conv) is CoordBiasConv2d
    assert type(net.up) is CoordBiasConvTranspose2d
    assert type(net.encoder[0].norm) is nn.BatchNorm2d
    assert torch.equal(net(x), before)
    for name, (weight, requires_grad, training) in state.items():
        layer = net.get_submodule(name)
        assert layer.weight is params[f"{name}.weight"]  # the very same Parameter
        assert torch.equal(layer.weight, weight)
        assert layer.weight.dtype == torch.float64
        assert layer.coord_weight.dtype == torch.float64
        assert layer.coord_weight.requires_grad == requires_grad
        assert layer.training == training
        assert not layer.coord_weight.any()
    assert net.encoder[0].conv.bias is None
    assert not net.encoder[1].weight.requires_grad and net.stem.weight.requires_grad


def test_coordconv_round_trip_keeps_weights_and_outputs():
    net = make_net()
    x = torch.randn(2, 3, 16, 12, dtype=torch.float64)
    before, state = net(x), snapshot(net)
    biases = {n: m.bias.detach().clone() for n, m in net.named_modules() if n in ("stem", "head")}
    convert(net, "coordconv")
    assert type(net.stem) is CoordConv2d and type(net.head) is CoordConv2d
    assert type(net.up) is nn.ConvTranspose2d  # no transposed CoordConv
    torch.testing.assert_close(net(x), before, rtol=1e-12, atol=1e-12)
    for name, (weight, requires_grad, training) in state.items():
        if name == "up":
            continue
        layer = net.get_submodule(name)
        per_group = layer.in_channels // layer.groups
        assert torch.equal(layer.weight[:, :per_group], weight)
        assert not layer.weight[:, per_group:].any()
        assert layer.weight.dtype == torch.float64
        assert layer.weight.requires_grad == requires_grad
        assert layer.training == training
    for name, bias in biases.items():
        assert torch.equal(net.get_submodule(name).bias, bias)


def test_float32_coordconv_matches_to_float_tolerance():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, padding=2))
    x = torch.randn(2, 3, 10, 14)
    before = net(x)
    torch.testing.assert_close(convert(net, "coordconv")(x), before, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("include", "exclude", "converted"),
    [
        ("encoder.*", None, {"encoder.0.conv", "encoder.1"}),
        (["stem", "head"], None, {"stem", "head"}),
        (None, "encoder.*", {"stem", "up", "head"}),
        ("*", ["up", "encoder.0.*"], {"stem", "encoder.1", "head"}),
    ],
)
def test_include_and_exclude_select_by_qualified_name(include, exclude, converted):
    net = convert(make_net(), include=include, exclude=exclude)
    for name in CONVS:
        is_coord = isinstance(net.get_submodule(name), (CoordBiasConv2d, CoordBiasConvTranspose2d))
        assert is_coord == (name in converted), name


def test_already_converted_layers_are_left_alone():
    net = convert(make_net(), include="stem", coord_init="uniform")
    stem = net.stem
    convert(net, kind="coordconv")
    assert net.stem is stem  # a CoordBiasConv2d is not converted again
    assert type(net.head) is CoordConv2d
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        head = net.head
        convert(net, kind="coordconv")  # nothing left to convert: no warning, no change
        assert net.head is head


def test_root_convolution_returns_a_new_layer():
    conv = nn.Conv1d(2, 3, 3)
    new = convert(conv, "coordconv", with_r=True)
    assert type(new) is CoordConv1d and type(conv) is nn.Conv1d
    assert new.weight.shape == (3, 2 + 2, 3)


def test_shared_module_stays_shared():
    conv = nn.Conv2d(4, 4, 3, padding=1)
    net = nn.Sequential(conv, nn.ReLU(), conv)
    convert(net)
    assert net[0] is net[2] and type(net[0]) is CoordBiasConv2d


def test_uniform_init_changes_outputs_and_keeps_device():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1))
    x = torch.randn(1, 3, 8, 8)
    before = net(x)
    convert(net, coord_init="uniform")
    assert net[0].coord_weight.abs().sum() > 0
    assert not torch.allclose(net(x), before)
    meta = convert(nn.Sequential(nn.Conv2d(3, 4, 3, device="meta")), "coordconv")
    assert meta[0].weight.device.type == "meta"


def test_coords_option_reaches_the_layers():
    net = convert(nn.Sequential(nn.Conv2d(3, 4, 3)), coords="output")
    assert net[0].coords == "output"


def test_model_without_convolutions_warns():
    with pytest.warns(UserWarning, match="found no module of type Conv1d/2d/3d"):
        convert(nn.Linear(2, 2), "coordconv")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "coordconvs"}, ValueError, r"kind must be one of \('coordbias', 'coordconv', "),
        ({"coord_init": "normal"}, ValueError, "coord_init must be 'zeros' or 'uniform'"),
        ({"coords": "corner"}, ValueError, "coords must be 'center' or 'output'"),
        ({"kind": "coordconv", "coords": "output"}, ValueError, "applies to kind='coordbias'"),
        ({"with_r": True}, ValueError, "with_r=True applies to kind='coordconv'"),
        ({"include": "encoder"}, ValueError, r"include pattern\(s\) \['encoder'\] match no"),
        ({"exclude": ["head", "hed"]}, ValueError, r"exclude pattern\(s\) \['hed'\]"),
        ({"include": 3}, TypeError, "include must be a pattern string"),
        ({"include": ["stem", None]}, TypeError, "include must be a pattern string"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    net = make_net()
    with pytest.raises(error, match=match):
        convert(net, **kwargs)
    assert type(net.stem) is nn.Conv2d  # nothing was changed


def test_non_module_raises():
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module, got dict"):
        convert({"conv": nn.Conv2d(1, 1, 1)})
