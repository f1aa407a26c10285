"""CoordConv1d/2d/3d and CoordConvTranspose1d/2d/3d: each equal to the torch (transposed)
convolution over the explicitly concatenated input.

The behaviours the two families share are tested once, parametrised over the family
(tests/layers/_coordconv_families.py); CoordConv's own follow them, and
test_coordconv_transpose.py holds the transposed layer's.
"""

from __future__ import annotations

import inspect
import io

import pytest
import torch

from coordbias import (
    CoordConv1d,
    CoordConv2d,
    CoordConv3d,
    CoordConvTranspose1d,
    CoordConvTranspose2d,
)
from tests.layers._coordconv_families import CONV, FAMILIES, TOL, TRANSPOSE, per_family
from tests.layers._device import autocast_bf16

EQUIVALENCE_CASES = [(family, kwargs) for family in FAMILIES for kwargs in family.cases]


def _case_id(case) -> str:
    family, kwargs = case
    return f"{family.name}:" + ",".join(f"{a}={v}" for a, v in kwargs.items())


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("with_r", [False, True])
@pytest.mark.parametrize("case", EQUIVALENCE_CASES, ids=_case_id)
# (1, 4): the forward concatenates; (3, 16): it convolves the coordinates separately.
@pytest.mark.parametrize(("batch", "channels"), [(1, 4), (3, 16)], ids=["concat", "split"])
def test_equals_torch_layer_over_concatenated_input(d, with_r, case, batch, channels):
    family, kwargs = case
    torch.manual_seed(0)
    layer = family.layers[d](channels, 8, 3, with_r=with_r, dtype=torch.float64, **kwargs)
    x = torch.randn(batch, channels, *family.shapes[d], dtype=torch.float64)
    torch.testing.assert_close(layer(x), family.explicit(layer, x, with_r), **TOL[torch.float64])


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("family", FAMILIES, ids=str)
def test_is_one_torch_layer_with_no_second_conv_inside(family, d):
    layer = family.layers[d](6, 9, 3, groups=3, with_r=True)
    assert isinstance(layer, family.torch_layers[d])
    assert layer.in_channels == 6
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(layer.children()) == []
    assert "with_r=True" in repr(layer)
    assert ("CoordConvTranspose" in repr(layer)) == family.transposed
    assert "CoordConv" in repr(layer)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_conv_weight_holds_the_coordinate_channels_of_every_group(d):
    layer = CONV.layers[d](6, 9, 3, groups=3, with_r=True)
    # 6 / 3 channels per group, plus d coordinates and r in every group.
    assert layer.weight.shape == (9, 2 + d + 1, *([3] * d))
    assert layer.coord_weight.shape == (9, d + 1, *([3] * d))
    assert layer.coord_weight.data_ptr() == layer.weight[:, 2:].data_ptr()


@pytest.mark.parametrize("d", [1, 2, 3])
def test_transposed_weight_holds_the_coordinate_channels_of_every_group(d):
    layer = TRANSPOSE.layers[d](6, 9, 3, groups=3, with_r=True)
    # Input channels first: 6 user channels plus d coordinates and r in each of the 3 groups.
    assert layer.weight.shape == (6 + 3 * (d + 1), 3, *([3] * d))
    assert layer.coord_channel_weight.shape == (d + 1, 3, *([3] * d))
    assert layer.coord_channel_weight.data_ptr() == layer.weight[-(d + 1) :].data_ptr()


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize(("family", "kwargs"), per_family(({"padding": 1},), ({"stride": 2},)))
def test_concat_and_split_forwards_agree(family, kwargs, groups):
    layer = family.layers[2](4, 6, 3, groups=groups, with_r=True, **kwargs)
    x = torch.randn(3, 4, 7, 9)
    layer._split_min = 10**9
    concat = layer(x)
    layer._split_min = 0
    split = layer(x)
    torch.testing.assert_close(split, concat, **TOL[torch.float32])
    split.sum().backward()
    grad_split = layer.weight.grad.clone()
    layer.weight.grad = None
    layer._split_min = 10**9
    layer(x).sum().backward()
    torch.testing.assert_close(grad_split, layer.weight.grad, **TOL[torch.float32])


@pytest.mark.parametrize("family", FAMILIES, ids=str)
def test_coordinates_are_those_of_the_input_grid_on_non_square_input(family):
    # A 1x1 stride-1 CoordConv (or transposed one) with weight 1 on a coordinate outputs it.
    layer = family.layers[2](1, 2, 1, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[family.weight_index(0, 1)] = 1.0  # row coordinate -> output channel 0
        layer.weight[family.weight_index(1, 2)] = 1.0  # column coordinate -> output channel 1
    out = layer(torch.randn(1, 1, 3, 5))
    assert out[0, 0, :, 2].tolist() == [-1.0, 0.0, 1.0]
    assert out[0, 1, 1].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize(
    ("family", "kwargs"),
    per_family(({"padding": 1, "padding_mode": "reflect"},), ({"stride": 2, "padding": 1},)),
)
def test_unbatched_equals_batched(family, kwargs, d):
    layer = family.layers[d](3, 4, 3, **kwargs)
    x = torch.randn(2, 3, *family.shapes[d])
    torch.testing.assert_close(layer(x[1]), layer(x)[1], **TOL[torch.float32])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    ("family", "channels", "kwargs", "size"),
    per_family(
        (4, {"padding": 1}, (12, 20)),
        (8, {"stride": 2, "padding": 1, "output_padding": 1}, (6, 10)),
    ),
)
def test_low_precision_against_float64(family, channels, kwargs, size, dtype, channels_last):
    torch.manual_seed(1)
    layer = family.layers[2](channels, 6, 3, with_r=True, dtype=torch.float64, **kwargs)
    x = torch.rand(2, channels, *size, dtype=torch.float64)
    expected = layer(x)
    low = family.layers[2](channels, 6, 3, with_r=True, dtype=dtype, **kwargs)
    low.load_state_dict(layer.state_dict())
    xl = x.to(dtype)
    if channels_last:
        low = low.to(memory_format=torch.channels_last)
        xl = xl.to(memory_format=torch.channels_last)
    out = low(xl)
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), expected, **TOL[dtype])


@pytest.mark.parametrize("channels", [3, 8], ids=["concat", "split"])
@pytest.mark.parametrize(
    ("family", "kernel", "kwargs", "size"),
    # 300 output columns either way: more than bfloat16 counts exactly.
    per_family((3, {"padding": 1}, (8, 300)), (2, {"stride": 2}, (4, 150))),
)
def test_autocast_bfloat16(family, kernel, kwargs, size, channels):
    layer = family.layers[2](channels, 4, kernel, **kwargs)
    x = torch.rand(2, channels, *size)
    with autocast_bf16():
        out = layer(x)
    assert out.dtype == torch.bfloat16
    assert out.shape[-1] == 300
    torch.testing.assert_close(out.float(), layer(x), **TOL[torch.bfloat16])


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("split_min", [10**9, 0], ids=["concat", "split"])
@pytest.mark.parametrize(
    ("family", "kwargs"), per_family(({"padding": 1},), ({"stride": 2, "groups": 2},))
)
def test_gradcheck_float64(family, kwargs, d, split_min):
    torch.manual_seed(2)
    sizes = {1: (5,), 2: (4, 3), 3: (3, 2, 2)}[d]
    layer = family.layers[d](2, 2, 2, with_r=True, dtype=torch.float64, **kwargs)
    layer._split_min = split_min
    x = torch.randn(2, 2, *sizes, dtype=torch.float64, requires_grad=True)
    w = layer.weight.detach().clone().requires_grad_()
    b = layer.bias.detach().clone().requires_grad_()

    def run(inp, weight, bias):
        return torch.func.functional_call(layer, {"weight": weight, "bias": bias}, (inp,))

    assert torch.autograd.gradcheck(run, (x, w, b), fast_mode=True)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: CoordConv2d(3, 4, 3)(torch.zeros(3, 5)), ValueError, r"4-D input.*\[3, 5\]"),
        (lambda: CoordConv2d(3, 4, 3)(torch.zeros(1, 3, 5, 5, 5)), ValueError, "4-D input"),
        (lambda: CoordConv2d(3, 4, 3)(torch.zeros(1, 5, 6, 6)), ValueError, "expected 3 input"),
        (lambda: CoordConv1d(3, 4, 3)(torch.zeros(2, 6)), ValueError, "expected 3 input.*got 2"),
        (lambda: CoordConv2d(3, 6, 3, groups=2), ValueError, "in_channels=3 must be divisible"),
        (lambda: CoordConv2d(3, 4, 3, with_r=1), TypeError, "with_r must be a bool"),
        (lambda: CoordConv2d(0, 4, 3), ValueError, "in_channels must be a positive int"),
        (lambda: CoordConv3d(2, 4, 3, groups=0), ValueError, "groups must be a positive int"),
        (lambda: CoordConvTranspose2d(3, 4, 3)(torch.zeros(3, 5)), ValueError, "4-D input"),
        (lambda: CoordConvTranspose2d(3, 4, 3)(torch.zeros(1, 5, 6, 6)), ValueError, "expected 3"),
        (lambda: CoordConvTranspose2d(3, 6, 3, groups=2), ValueError, "in_channels=3 must be"),
        (lambda: CoordConvTranspose2d(3, 4, 3, with_r=1), TypeError, "with_r must be a bool"),
        (lambda: CoordConvTranspose1d(0, 4, 3), ValueError, "in_channels must be a positive"),
        (
            lambda: CoordConvTranspose2d(3, 4, 3, padding_mode="reflect"),
            ValueError,
            'Only "zeros" padding mode',
        ),
        (lambda: CoordConvTranspose2d(3, 4), TypeError, "missing a required argument"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("family", FAMILIES, ids=str)
def test_signature_is_torch_signature_plus_with_r(family, d):
    ours = inspect.signature(family.layers[d]).parameters
    theirs = inspect.signature(family.torch_layers[d]).parameters
    assert list(ours)[:-1] == list(theirs)
    assert all(ours[n].default == theirs[n].default for n in theirs)
    assert ours["with_r"].kind is inspect.Parameter.KEYWORD_ONLY and ours["with_r"].default is False


# CoordConv's own behaviours.


def test_batch_zero_and_size_one_sides():
    layer = CoordConv2d(3, 4, 3, padding=1, with_r=True)
    assert layer(torch.zeros(0, 3, 5, 6)).shape == (0, 4, 5, 6)
    out = layer(torch.randn(2, 3, 1, 6))
    assert out.shape == (2, 4, 1, 6)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("channels", [3, 8], ids=["concat", "split"])
def test_non_contiguous_and_channels_last(channels):
    layer = CoordConv2d(channels, 4, 3, padding=1, with_r=True)
    x = torch.randn(2, channels, 9, 6)
    expected = layer(x)
    y = torch.randn(2, channels, 6, 9).transpose(2, 3).copy_(x)  # same values, not contiguous
    assert not y.is_contiguous()
    torch.testing.assert_close(layer(y), expected, **TOL[torch.float32])
    layer_cl = layer.to(memory_format=torch.channels_last)
    out = layer_cl(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(out, expected, **TOL[torch.float32])


def test_gradients_reach_the_coordinate_weights():
    layer = CoordConv2d(3, 4, 3, padding=1)
    layer(torch.randn(2, 3, 6, 6)).square().sum().backward()
    assert layer.weight.grad[:, 3:].abs().sum() > 0


def test_state_dict_round_trip_with_weights_only():
    layer = CoordConv3d(2, 3, 3, padding=1, with_r=True)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    other = CoordConv3d(2, 3, 3, padding=1, with_r=True)
    other.load_state_dict(torch.load(buffer, weights_only=True))
    x = torch.randn(1, 2, 4, 4, 4)
    assert torch.equal(other(x), layer(x))


def test_one_by_one_coordconv_is_a_centre_coordinate_bias():
    # The identity of REFERENCES.md: a 1x1 CoordConv is a coordinate bias on the input grid.
    from coordbias import CoordBiasConv2d

    torch.manual_seed(3)
    cb = CoordBiasConv2d(3, 5, 1, coords="center", coord_init="uniform", dtype=torch.float64)
    cc = CoordConv2d(3, 5, 1, dtype=torch.float64)
    with torch.no_grad():
        cc.weight[:, :3].copy_(cb.weight)
        cc.weight[:, 3:].copy_(cb.coord_weight.reshape(5, 2, 1, 1))
        cc.bias.copy_(cb.bias)
    x = torch.randn(2, 3, 6, 9, dtype=torch.float64)
    torch.testing.assert_close(cc(x), cb(x), **TOL[torch.float64])


def test_same_padded_coordconv_is_a_plane_away_from_the_border():
    # REFERENCES.md: a k x k CoordConv with zero "same" padding is a coordinate bias plus a
    # per-filter constant in the interior; only the border, where padding cuts the ramps, differs.
    torch.manual_seed(4)
    layer = CoordConv2d(2, 3, 3, padding="same", dtype=torch.float64)
    with torch.no_grad():
        layer.weight[:, :2].zero_()  # keep only the coordinate weights
    out = layer(torch.randn(1, 2, 8, 11, dtype=torch.float64))[0]
    inner = out[:, 1:-1, 1:-1]
    assert inner.diff(n=2, dim=1).abs().max() < 1e-12  # affine down the rows
    assert inner.diff(n=2, dim=2).abs().max() < 1e-12  # and along the columns
    assert out.diff(n=2, dim=1).abs().max() > 1e-3  # the border breaks the plane


def test_coord_channel_weight_and_its_deprecated_alias():
    conv = CoordConv2d(3, 4, 3, groups=1, with_r=True)
    view = conv.coord_channel_weight
    assert view.shape == (4, 3, 3, 3)
    assert view.data_ptr() == conv.weight[:, 3:].data_ptr()  # a view of weight, not a copy
    with pytest.warns(DeprecationWarning, match=r"CoordConv2d\.coord_weight is deprecated"):
        old = conv.coord_weight
    assert torch.equal(old, view)
