"""CoordConvTranspose1d/2d/3d: the torch transposed convolution over the concatenated input."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from coordbias import CoordConvTranspose1d, CoordConvTranspose2d, CoordConvTranspose3d
from coordbias.layers import add_coords

LAYERS = {1: CoordConvTranspose1d, 2: CoordConvTranspose2d, 3: CoordConvTranspose3d}
TORCH_LAYERS = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
SHAPES = {1: (11,), 2: (7, 10), 3: (4, 5, 3)}  # non-square on purpose
TOL = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-10},
    torch.float32: {"rtol": 1e-5, "atol": 1e-5},
    torch.float16: {"rtol": 1e-2, "atol": 1e-2},
    torch.bfloat16: {"rtol": 5e-2, "atol": 5e-2},
}


def explicit(layer: nn.Module, x: torch.Tensor, with_r: bool, output_size=None) -> torch.Tensor:
    """The torch transposed layer over the input with the coordinates concatenated by hand."""
    d = x.dim() - 2
    inp = add_coords(x, with_r, groups=layer.groups)  # the coordinates after every group
    ref = TORCH_LAYERS[d](
        inp.shape[1],
        layer.out_channels,
        layer.kernel_size,
        stride=layer.stride,
        padding=layer.padding,
        output_padding=layer.output_padding,
        groups=layer.groups,
        bias=layer.bias is not None,
        dilation=layer.dilation,
        dtype=x.dtype,
    )
    with torch.no_grad():
        ref.weight.copy_(layer.weight)
        if layer.bias is not None:
            ref.bias.copy_(layer.bias)
    return ref(inp, output_size)


CASES = [
    {},
    {"stride": 2},
    {"stride": 2, "padding": 1, "output_padding": 1},
    {"stride": 3, "padding": 2, "dilation": 2, "output_padding": 1},
    {"groups": 2, "stride": 2},
    {"groups": 4, "padding": 1, "bias": False},
]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("with_r", [False, True])
@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()))
# (1, 4): the forward concatenates; (3, 16): it convolves the coordinates separately.
@pytest.mark.parametrize(("batch", "channels"), [(1, 4), (3, 16)], ids=["concat", "split"])
def test_equals_transposed_conv_over_concatenated_input(d, with_r, kwargs, batch, channels):
    torch.manual_seed(0)
    layer = LAYERS[d](channels, 8, 3, with_r=with_r, dtype=torch.float64, **kwargs)
    x = torch.randn(batch, channels, *SHAPES[d], dtype=torch.float64)
    torch.testing.assert_close(layer(x), explicit(layer, x, with_r), **TOL[torch.float64])


def test_output_size_picks_the_output_padding_as_torch():
    torch.manual_seed(0)
    layer = CoordConvTranspose2d(4, 3, 3, stride=2, padding=1, dtype=torch.float64)
    x = torch.randn(2, 4, 5, 6, dtype=torch.float64)
    out = layer(x, output_size=[10, 12])
    assert out.shape == (2, 3, 10, 12)
    torch.testing.assert_close(out, explicit(layer, x, False, [10, 12]), **TOL[torch.float64])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_is_one_torch_transposed_conv_with_the_coordinate_channels_in_its_weight(d):
    layer = LAYERS[d](6, 9, 3, groups=3, with_r=True)
    assert isinstance(layer, TORCH_LAYERS[d])
    assert layer.in_channels == 6
    # Input channels first: 6 user channels plus d coordinates and r in each of the 3 groups.
    assert layer.weight.shape == (6 + 3 * (d + 1), 3, *([3] * d))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.coord_channel_weight.shape == (d + 1, 3, *([3] * d))
    assert layer.coord_channel_weight.data_ptr() == layer.weight[-(d + 1) :].data_ptr()
    assert "with_r=True" in repr(layer) and "CoordConvTranspose" in repr(layer)


@pytest.mark.parametrize("groups", [1, 2])
def test_concat_and_split_forwards_agree(groups):
    layer = CoordConvTranspose2d(4, 6, 3, stride=2, groups=groups, with_r=True)
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


def test_coordinates_are_those_of_the_input_grid():
    # A 1x1 stride-1 transposed CoordConv with weight 1 on a coordinate outputs that coordinate.
    layer = CoordConvTranspose2d(1, 2, 1, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[1, 0] = 1.0  # row coordinate -> output channel 0
        layer.weight[2, 1] = 1.0  # column coordinate -> output channel 1
    out = layer(torch.randn(1, 1, 3, 5))
    assert out[0, 0, :, 2].tolist() == [-1.0, 0.0, 1.0]
    assert out[0, 1, 1].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]


@pytest.mark.parametrize("d", [1, 2, 3])
def test_unbatched_equals_batched(d):
    layer = LAYERS[d](3, 4, 3, stride=2, padding=1)
    x = torch.randn(2, 3, *SHAPES[d])
    torch.testing.assert_close(layer(x[1]), layer(x)[1], **TOL[torch.float32])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_low_precision_against_float64(dtype, channels_last):
    torch.manual_seed(1)
    kwargs = {"stride": 2, "padding": 1, "output_padding": 1, "with_r": True}
    layer = CoordConvTranspose2d(8, 6, 3, dtype=torch.float64, **kwargs)
    x = torch.rand(2, 8, 6, 10, dtype=torch.float64)
    expected = layer(x)
    low = CoordConvTranspose2d(8, 6, 3, dtype=dtype, **kwargs)
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
    layer = CoordConvTranspose2d(channels, 4, 2, stride=2)
    x = torch.rand(2, channels, 4, 150)  # 300 output columns: more than bfloat16 counts exactly
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), layer(x), **TOL[torch.bfloat16])


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("split_min", [10**9, 0], ids=["concat", "split"])
def test_gradcheck_float64(d, split_min):
    torch.manual_seed(2)
    sizes = {1: (5,), 2: (4, 3), 3: (3, 2, 2)}[d]
    layer = LAYERS[d](2, 2, 2, stride=2, groups=2, with_r=True, dtype=torch.float64)
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
def test_signature_is_torch_signature_plus_with_r(d):
    ours = inspect.signature(LAYERS[d]).parameters
    theirs = inspect.signature(TORCH_LAYERS[d]).parameters
    assert list(ours)[:-1] == list(theirs)
    assert all(ours[n].default == theirs[n].default for n in theirs)
    assert ours["with_r"].kind is inspect.Parameter.KEYWORD_ONLY and ours["with_r"].default is False
    # Positional arguments land where torch's do (output_padding before groups, dilation late).
    layer = LAYERS[d](4, 6, 3, 2, 1, 1, 2, False, 1)
    assert layer.output_padding == (1,) * d and layer.groups == 2 and layer.bias is None
