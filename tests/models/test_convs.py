"""The one conv-kind factory: which class each kind builds, arguments passed through, errors."""

import pytest
import torch
from torch import nn

import coordbias
from coordbias.models import CONV_KINDS, make_conv
from coordbias.models.controls import ParamMatchedConv2d, ParamMatchedConvTranspose2d
from coordbias.models.convs import POSITION_KINDS

EXPECTED = {
    ("vanilla", 1, False): nn.Conv1d,
    ("vanilla", 2, False): nn.Conv2d,
    ("vanilla", 3, True): nn.ConvTranspose3d,
    ("coordbias", 1, True): coordbias.CoordBiasConvTranspose1d,
    ("coordbias", 2, False): coordbias.CoordBiasConv2d,
    ("coordbias", 3, False): coordbias.CoordBiasConv3d,
    ("coordconv", 2, False): coordbias.CoordConv2d,
    ("coordconv", 3, False): coordbias.CoordConv3d,
    ("param_matched", 2, False): ParamMatchedConv2d,
    ("param_matched", 2, True): ParamMatchedConvTranspose2d,
    ("fourier", 2, False): coordbias.FourierCoordBiasConv2d,
    ("position_map", 2, False): coordbias.PositionMapConv2d,
    ("coordgate", 2, False): coordbias.CoordGateConv2d,
    ("fourier_coordconv", 2, False): coordbias.FourierCoordConv2d,
}


@pytest.mark.parametrize(("kind", "dims", "transposed"), list(EXPECTED))
def test_each_kind_builds_its_class(kind, dims, transposed):
    layer = make_conv(kind, 4, 6, 3, dims=dims, transposed=transposed, padding=1, map_size=5)
    assert type(layer) is EXPECTED[(kind, dims, transposed)]
    assert layer.out_channels == 6 and layer.padding == (1,) * dims
    x = torch.randn(2, 4, *([5] * dims))
    assert layer(x).shape[:2] == (2, 6)


def test_every_listed_kind_is_buildable_in_2d():
    for kind in CONV_KINDS:
        # map_size: the output size of position_map's maps, ignored by the other kinds.
        assert isinstance(make_conv(kind, 3, 4, 3, map_size=6), nn.Module)


def test_the_position_kinds_take_their_options_and_no_others():
    fourier = make_conv("fourier", 3, 4, 3, coords="output", coord_init="zeros", map_size=6)
    assert (fourier.coords, fourier.coord_init) == ("output", "zeros")
    assert torch.count_nonzero(fourier.fourier_weight) == 0
    gate = make_conv("coordgate", 3, 4, 3, coords="output", coord_init="zeros")
    assert (gate.coords, gate.coord_init) == ("output", "zeros")
    pmap = make_conv("position_map", 3, 4, 3, coords="output", coord_init="zeros", map_size=6)
    assert pmap.map_size == (6, 6) and torch.count_nonzero(pmap.row_map) == 0
    fcc = make_conv("fourier_coordconv", 3, 4, 3, coords="output", coord_init="zeros")
    assert torch.count_nonzero(fcc.coord_channel_weight) == 0
    assert set(POSITION_KINDS) <= set(CONV_KINDS)


def test_torch_arguments_and_coordinate_options_reach_the_layer():
    layer = make_conv(
        "coordbias",
        3,
        4,
        3,
        stride=2,
        padding_mode="reflect",
        padding=1,
        coords="output",
        coord_init="zeros",
        dtype=torch.float64,
    )
    assert layer.stride == (2, 2) and layer.padding_mode == "reflect"
    assert layer.coords == "output" and layer.weight.dtype == torch.float64
    assert torch.count_nonzero(layer.coord_weight) == 0
    # The coordinate options do not reach the kinds that have none.
    assert type(make_conv("vanilla", 3, 4, 3, coords="output")) is nn.Conv2d


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "plain"}, "conv='plain' is not supported"),
        ({"kind": "coordconv", "transposed": True}, "no transposed convolution"),
        ({"kind": "param_matched", "dims": 3}, "2-D only"),
        ({"kind": "fourier", "transposed": True}, "'fourier' has no transposed"),
        ({"kind": "coordgate", "dims": 1}, "2-D only"),
        ({"kind": "position_map"}, "needs map_size"),
    ],
)
def test_unsupported_kinds_are_named(kwargs, message):
    kind = kwargs.pop("kind")
    with pytest.raises(ValueError, match=message):
        make_conv(kind, 3, 4, 3, **kwargs)


@pytest.mark.parametrize("kind", list(CONV_KINDS))
def test_the_deprecated_2d_shorthands_warn_and_build_what_make_conv_builds(kind):
    from coordbias.models import make_conv2d, make_conv_transpose2d

    args = dict(padding=1, coords="output", coord_init="zeros", map_size=5)
    with pytest.warns(DeprecationWarning, match="make_conv"):
        layer = make_conv2d(kind, 3, 4, 3, padding_mode="reflect", **args)
    assert type(layer) is type(make_conv(kind, 3, 4, 3, map_size=5))
    assert layer.padding_mode == "reflect" and layer.padding == (1, 1)
    if kind == "coordbias":
        assert (layer.coords, layer.coord_init) == ("output", "zeros")
    if kind == "coordconv" or kind in POSITION_KINDS:
        return  # no transposed CoordConv, nor a transposed form of the position kinds
    with pytest.warns(DeprecationWarning, match="transposed=True"):
        up = make_conv_transpose2d(kind, 8, 4, 3, stride=2, output_padding=1, **args)
    assert type(up) is type(make_conv(kind, 8, 4, 3, transposed=True))
    assert up.stride == (2, 2) and up.output_padding == (1, 1)
