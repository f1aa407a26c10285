"""convert(kind=...) for the 2-D position kinds: which modules, what is kept, exact outputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coordbias import (
    CoordGateConv2d,
    FourierCoordBiasConv2d,
    FourierCoordConv2d,
    convert,
)

CLASSES = {
    "fourier": FourierCoordBiasConv2d,
    "coordgate": CoordGateConv2d,
    "fourier_coordconv": FourierCoordConv2d,
}


def make_net() -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, padding_mode="reflect", bias=False),
        nn.ConvTranspose2d(8, 4, 2, stride=2),
        nn.Conv1d(4, 4, 1),  # never reached by forward here: only its type matters
    )
    net[2].requires_grad_(False)
    return net


def forward(net: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    return net[3](net[2](net[1](net[0](x))))


@pytest.mark.parametrize("kind", list(CLASSES))
def test_zero_initialised_conversion_keeps_the_outputs_bit_for_bit(kind):
    net = make_net()
    x = torch.randn(2, 3, 8, 10)
    before = forward(net, x)
    weight0 = net[0].weight
    converted = convert(net, kind)
    assert converted is net
    assert [type(m) for m in net] == [
        CLASSES[kind],
        nn.ReLU,
        CLASSES[kind],
        nn.ConvTranspose2d,
        nn.Conv1d,
    ]
    assert torch.equal(forward(net, x), before)
    # Settings and flags carry over; the frozen layer's new parameters are frozen too.
    assert net[2].stride == (2, 2) and net[2].padding_mode == "reflect" and net[2].bias is None
    assert not any(p.requires_grad for p in net[2].parameters())
    assert all(p.requires_grad for p in net[0].parameters())
    if kind == "fourier_coordconv":
        assert torch.equal(net[0].weight[:, :3], weight0)
    else:
        assert net[0].weight is weight0  # the very same Parameter


@pytest.mark.parametrize("kind", list(CLASSES))
def test_uniform_conversion_changes_the_outputs_and_options_reach_the_layers(kind):
    net = make_net()
    x = torch.randn(2, 3, 8, 10)
    before = forward(net, x)
    options = {"coords": "output"} if kind != "fourier_coordconv" else {"frequencies": 1}
    convert(net, kind, coord_init="uniform", include="0", **options)
    assert type(net[2]) is nn.Conv2d
    assert not torch.allclose(forward(net, x), before)
    if kind == "fourier_coordconv":
        assert net[0].frequencies == 1 and net[0].weight.shape[1] == 3 + 6
    else:
        assert net[0].coords == "output"


def test_the_fourier_kinds_take_frequencies():
    layer = convert(nn.Conv2d(3, 4, 3), "fourier", frequencies=3)
    assert layer.frequencies == 3 and layer.fourier_weight.shape == (4, 14)


def test_coordconv_kinds_refuse_another_coordinate_rule():
    with pytest.raises(ValueError, match="coords='output' applies"):
        convert(nn.Conv2d(3, 4, 3), "fourier_coordconv", coords="output")


def test_a_model_without_a_conv2d_only_warns():
    with pytest.warns(UserWarning, match="no module of type Conv2d"):
        convert(nn.Sequential(nn.Conv1d(3, 4, 3)), "coordgate")
