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
    CoordConvTranspose2d,
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
    assert type(net.up) is CoordConvTranspose2d
    torch.testing.assert_close(net(x), before, rtol=1e-12, atol=1e-12)
    for name, (weight, requires_grad, training) in state.items():
        layer = net.get_submodule(name)
        per_group = layer.in_channels // layer.groups
        # A transposed weight has its input channels first: (C_in + k, C_out, *kernel).
        user = layer.weight[:per_group] if name == "up" else layer.weight[:, :per_group]
        coord = layer.weight[per_group:] if name == "up" else layer.weight[:, per_group:]
        assert torch.equal(user, weight)
        assert coord.numel() > 0 and not coord.any()
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


class UNet(nn.Module):
    """A two-level U-Net: convolutions down, transposed convolutions up, skips concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.bottom = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec2 = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1, groups=2), nn.ReLU())
        self.up1 = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1, groups=4)
        self.dec1 = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        y = self.dec2(torch.cat([self.up2(self.bottom(e2)), e2], 1))
        return self.head(self.dec1(torch.cat([self.up1(y), e1], 1)))


@pytest.mark.parametrize("with_r", [False, True])
def test_unet_coordconv_conversion_keeps_outputs_to_1e5(with_r):
    # Issue 12's figure: every plain convolution, transposed included, becomes a CoordConv and
    # the float32 outputs do not move at zero init (measured: 0.0, zero terms add exactly).
    torch.manual_seed(3)
    net = UNet().eval()
    x = torch.randn(2, 3, 32, 24)
    before = net(x)
    convert(net, "coordconv", with_r=with_r)
    kinds = {type(m).__name__ for m in net.modules() if isinstance(m, nn.modules.conv._ConvNd)}
    assert kinds == {"CoordConv2d", "CoordConvTranspose2d"}
    after = net(x)
    assert (after - before).abs().max() <= 1e-5
    # The coordinate channels are live: a uniform init moves the outputs.
    moved = convert(UNet().eval(), "coordconv", coord_init="uniform", with_r=with_r)
    moved.load_state_dict(net.state_dict(), strict=False)
    with torch.no_grad():
        moved.up1.coord_channel_weight.fill_(0.5)
    assert (moved(x) - before).abs().max() > 1e-3


def _hook_weight_norm(conv: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch prefers the parametrization
        return nn.utils.weight_norm(conv)


NORMALISED = {
    "weight_norm (hooks)": (_hook_weight_norm, "its weight is computed by WeightNorm hooks"),
    "spectral_norm (hooks)": (nn.utils.spectral_norm, "computed by SpectralNorm hooks"),
    "parametrizations.weight_norm": (
        nn.utils.parametrizations.weight_norm,
        "its weight is parametrized",
    ),
    "parametrizations.spectral_norm": (
        nn.utils.parametrizations.spectral_norm,
        "its weight is parametrized",
    ),
}


@pytest.mark.parametrize("kind", ["coordbias", "coordconv", "fourier"])
@pytest.mark.parametrize("case", list(NORMALISED), ids=list(NORMALISED))
def test_a_normalised_convolution_is_refused_by_name_and_the_model_is_untouched(case, kind):
    """All or nothing: the plain convolutions before and after it are not converted either."""
    normalise, words = NORMALISED[case]
    net = make_net()
    net.encoder[1] = normalise(net.encoder[1])
    types = {name: type(m) for name, m in net.named_modules()}
    state = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError) as info:
        convert(net, kind)
    message = str(info.value)
    assert "'encoder.1'" in message and words in message and "changed nothing" in message
    assert "'stem'" not in message and "'head'" not in message
    assert {name: type(m) for name, m in net.named_modules()} == types
    after = net.state_dict()
    assert after.keys() == state.keys()
    assert all(torch.equal(after[k], v) for k, v in state.items())


def test_a_normalised_convolution_left_out_lets_the_others_convert():
    net = make_net()
    net.encoder[1] = nn.utils.parametrizations.weight_norm(net.encoder[1])
    convert(net, exclude="encoder.1")
    assert type(net.stem) is CoordBiasConv2d
    assert nn.utils.parametrize.is_parametrized(net.encoder[1])
