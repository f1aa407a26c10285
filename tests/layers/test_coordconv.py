"""CoordConv1d/2d/3d: equal to the torch convolution over the explicitly concatenated input."""

from __future__ import annotations

import inspect
import io

import pytest
import torch
from torch import nn

from coordbias import CoordConv1d, CoordConv2d, CoordConv3d
from coordbias.layers import add_coords

LAYERS = {1: CoordConv1d, 2: CoordConv2d, 3: CoordConv3d}
TORCH_LAYERS = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
SHAPES = {1: (11,), 2: (7, 10), 3: (4, 5, 6)}  # non-square on purpose
TOL = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-10},
    torch.float32: {"rtol": 1e-5, "atol": 1e-5},
    torch.float16: {"rtol": 1e-2, "atol": 1e-2},
    torch.bfloat16: {"rtol": 5e-2, "atol": 5e-2},
}


def explicit(layer: nn.Module, x: torch.Tensor, with_r: bool) -> torch.Tensor:
    """The torch layer's functional conv over the input with coordinates concatenated by hand."""
    d = x.dim() - 2
    groups = layer.groups
    parts = []
    coords = add_coords(torch.zeros(x.shape[0], 0, *x.shape[2:], dtype=x.dtype), with_r)
    for g in range(groups):
        size = x.shape[1] // groups
        parts += [x[:, g * size : (g + 1) * size], coords]
    inp = torch.cat(parts, 1)
    ref = TORCH_LAYERS[d](
        inp.shape[1], layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
        layer.dilation, groups, layer.bias is not None, layer.padding_mode, dtype=x.dtype,
    )  # fmt: skip
    with torch.no_grad():
        ref.weight.copy_(layer.weight)
        if layer.bias is not None:
            ref.bias.copy_(layer.bias)
    return ref(inp)


CASES = [
    {},
    {"stride": 2},
    {"dilation": 2, "padding": 2},
    {"padding": "same"},
    {"padding": "same", "dilation": 2},
    {"padding": 1, "padding_mode": "reflect"},
    {"padding": 1, "padding_mode": "replicate"},
    {"padding": 1, "padding_mode": "circular"},
    {"groups": 2, "padding": 1},
    {"groups": 4, "padding": 1, "bias": False},
]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("with_r", [False, True])
@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()))
# (1, 4): the forward concatenates; (3, 16): it convolves the coordinates separately.
@pytest.mark.parametrize(("batch", "channels"), [(1, 4), (3, 16)], ids=["concat", "split"])
def test_equals_conv_over_concatenated_input(d, with_r, kwargs, batch, channels):
    torch.manual_seed(0)
    layer = LAYERS[d](channels, 8, 3, with_r=with_r, dtype=torch.float64, **kwargs)
    x = torch.randn(batch, channels, *SHAPES[d], dtype=torch.float64)
    torch.testing.assert_close(layer(x), explicit(layer, x, with_r), **TOL[torch.float64])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_is_one_torch_conv_with_the_coordinate_channels_in_its_weight(d):
    layer = LAYERS[d](6, 9, 3, groups=3, with_r=True)
    assert isinstance(layer, TORCH_LAYERS[d])
    assert layer.in_channels == 6
    # 6 / 3 channels per group, plus d coordinates and r in every group; no second conv inside.
    assert layer.weight.shape == (9, 2 + d + 1, *([3] * d))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(layer.children()) == []
    assert layer.coord_weight.shape == (9, d + 1, *([3] * d))
    assert layer.coord_weight.data_ptr() == layer.weight[:, 2:].data_ptr()
    assert "with_r=True" in repr(layer) and "CoordConv" in repr(layer)


@pytest.mark.parametrize("groups", [1, 2])
def test_concat_and_split_forwards_agree(groups):
    layer = CoordConv2d(4, 6, 3, padding=1, groups=groups, with_r=True)
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


def test_coordinate_weights_see_position_on_non_square_input():
    # A 1x1 CoordConv with weight 1 on the column coordinate outputs the column coordinate.
    layer = CoordConv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 1] = 1.0  # row coordinate
        layer.weight[1, 2] = 1.0  # column coordinate
    out = layer(torch.randn(1, 1, 3, 5))
    assert out[0, 0, :, 2].tolist() == [-1.0, 0.0, 1.0]
    assert out[0, 1, 1].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]


@pytest.mark.parametrize("d", [1, 2, 3])
def test_unbatched_equals_batched(d):
    layer = LAYERS[d](3, 4, 3, padding=1, padding_mode="reflect")
    x = torch.randn(2, 3, *SHAPES[d])
    torch.testing.assert_close(layer(x[1]), layer(x)[1], **TOL[torch.float32])


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


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_low_precision_against_float64(dtype, channels_last):
    torch.manual_seed(1)
    layer = CoordConv2d(4, 6, 3, padding=1, with_r=True, dtype=torch.float64)
    x = torch.rand(2, 4, 12, 20, dtype=torch.float64)
    expected = layer(x)
    low = CoordConv2d(4, 6, 3, padding=1, with_r=True, dtype=dtype)
    low.load_state_dict(layer.state_dict())
    xl = x.to(dtype)
    if channels_last:
        low = low.to(memory_format=torch.channels_last)
        xl = xl.to(memory_format=torch.channels_last)
    out = low(xl)
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), expected, **TOL[dtype])


@pytest.mark.parametrize("channels", [3, 8], ids=["concat", "split"])
def test_autocast_bfloat16(channels):
    layer = CoordConv2d(channels, 4, 3, padding=1)
    x = torch.rand(2, channels, 8, 300)  # 300 columns: more than bfloat16 counts exactly
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), layer(x), **TOL[torch.bfloat16])


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("split_min", [10**9, 0], ids=["concat", "split"])
def test_gradcheck_float64(d, split_min):
    torch.manual_seed(2)
    sizes = {1: (5,), 2: (4, 3), 3: (3, 2, 2)}[d]
    layer = LAYERS[d](2, 2, 2, padding=1, with_r=True, dtype=torch.float64)
    layer._split_min = split_min
    x = torch.randn(2, 2, *sizes, dtype=torch.float64, requires_grad=True)
    w = layer.weight.detach().clone().requires_grad_()
    b = layer.bias.detach().clone().requires_grad_()

    def run(inp, weight, bias):
        return torch.func.functional_call(layer, {"weight": weight, "bias": bias}, (inp,))

    assert torch.autograd.gradcheck(run, (x, w, b), fast_mode=True)


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
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


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


@pytest.mark.parametrize("d", [1, 2, 3])
def test_signature_is_torch_signature_plus_with_r(d):
    ours = inspect.signature(LAYERS[d]).parameters
    theirs = inspect.signature(TORCH_LAYERS[d]).parameters
    assert list(ours)[:-1] == list(theirs)
    assert all(ours[n].default == theirs[n].default for n in theirs)
    assert ours["with_r"].kind is inspect.Parameter.KEYWORD_ONLY and ours["with_r"].default is False


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
