"""The four position layers (Fourier coordinate bias, learned position map, CoordGate, Fourier
CoordConv): shapes, float64 references, gradients, dtypes and layouts, zero-init identity,
parameter counts, resolution, and bad arguments."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coordbias import (
    CoordGateConv2d,
    FourierCoordBiasConv2d,
    FourierCoordConv2d,
    PositionMapConv2d,
    coordinate_frame,
)
from tests.layers import _position_refs as refs
from tests.layers._device import autocast_bf16

# name -> (class, extra keyword arguments, reference)
LAYERS = {
    "fourier": (FourierCoordBiasConv2d, {"frequencies": 2}, refs.fourier),
    "position_map": (PositionMapConv2d, {"map_size": (6, 7)}, refs.position_map),
    "coordgate": (CoordGateConv2d, {"hidden": 5}, refs.coordgate),
    "fourier_coordconv": (FourierCoordConv2d, {"frequencies": 2}, refs.fourier_coordconv),
}
# Settings of the convolution itself: output 6 x 7 for a 6 x 7 input where it keeps the size.
SETTINGS = {
    "padded": {"padding": 1},
    "strided_reflect": {"stride": 2, "padding": 1, "padding_mode": "reflect"},
    "same_dilated": {"padding": "same", "dilation": 2},
    "valid_grouped": {"padding": "valid", "groups": 2},
}


def make(name: str, c_in=4, c_out=6, k=3, dtype=torch.float32, **kwargs):
    cls, extra, _ = LAYERS[name]
    torch.manual_seed(0)
    return cls(c_in, c_out, k, dtype=dtype, **{**extra, **kwargs})


def plain_twin(name: str, layer) -> nn.Conv2d:
    """nn.Conv2d with the layer's settings and weights (Fourier CoordConv: its input slice)."""
    twin = nn.Conv2d(
        layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
        layer.dilation, layer.groups, layer.bias is not None, layer.padding_mode,
        dtype=layer.weight.dtype,
    )  # fmt: skip
    with torch.no_grad():
        twin.weight.copy_(layer.weight[:, : layer.in_channels // layer.groups])
        if layer.bias is not None:
            twin.bias.copy_(layer.bias)
    return twin


def randomise(layer) -> None:
    """Non-zero values everywhere, so that no term hides behind a zero initialisation."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn_like(p) * 0.5)


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("name", list(LAYERS))
def test_matches_the_float64_reference_and_torchs_output_shape(name, setting):
    layer = make(name, dtype=torch.float64, **SETTINGS[setting])
    randomise(layer)
    x = torch.randn(2, 4, 6, 7, dtype=torch.float64)
    out = layer(x)
    assert out.shape == plain_twin(name, layer)(x).shape
    torch.testing.assert_close(out, LAYERS[name][2](layer, x), rtol=1e-10, atol=1e-10)
    # Unbatched input: the batched result's first sample.
    torch.testing.assert_close(layer(x[0]), out[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["fourier", "coordgate"])
def test_the_output_coordinate_rule_reaches_the_layer(name):
    layer = make(name, dtype=torch.float64, padding=1, coords="output")
    randomise(layer)
    x = torch.randn(1, 4, 5, 8, dtype=torch.float64)
    torch.testing.assert_close(layer(x), LAYERS[name][2](layer, x), rtol=1e-10, atol=1e-10)
    centre = make(name, dtype=torch.float64, padding=1)
    centre.load_state_dict(layer.state_dict())
    assert not torch.allclose(centre(x), layer(x))


@pytest.mark.parametrize("name", list(LAYERS))
def test_gradcheck_of_input_and_every_parameter(name):
    layer = make(name, c_in=2, c_out=3, dtype=torch.float64, padding=1, **(
        {"map_size": (3, 4)} if name == "position_map" else {}
    ))  # fmt: skip
    randomise(layer)
    x = torch.randn(2, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    params = [p for _, p in sorted(layer.named_parameters())]
    names = [n for n, _ in sorted(layer.named_parameters())]

    def f(inp, *values):
        state = dict(zip(names, values))
        return torch.func.functional_call(layer, state, (inp,))

    assert torch.autograd.gradcheck(f, (x, *params))


@pytest.mark.parametrize("name", list(LAYERS))
def test_zero_initialisation_is_the_plain_convolution_bit_for_bit(name):
    layer = make(name, padding=1, coord_init="zeros")
    twin = plain_twin(name, layer)
    x = torch.randn(2, 4, 6, 7, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out, expected = layer(x), twin(x2)
    assert torch.equal(out, expected)
    grad = torch.randn_like(out)
    out.backward(grad)
    expected.backward(grad)
    assert torch.equal(x.grad, x2.grad)
    assert torch.equal(layer.bias.grad, twin.bias.grad)
    torch.testing.assert_close(layer.weight.grad[:, :4], twin.weight.grad, rtol=0, atol=0)


@pytest.mark.parametrize("name", list(LAYERS))
def test_the_uniform_initialisation_moves_the_output(name):
    layer = make(name, padding=1)
    x = torch.randn(2, 4, 6, 7)
    assert not torch.allclose(layer(x), plain_twin(name, layer)(x), atol=1e-3)


@pytest.mark.parametrize("name", list(LAYERS))
def test_float32_and_bfloat16_agree_with_the_reference(name):
    ref_layer = make(name, dtype=torch.float64, padding=1)
    randomise(ref_layer)
    x = torch.randn(2, 4, 6, 7, dtype=torch.float64)
    expected = LAYERS[name][2](ref_layer, x)
    for dtype, tol in ((torch.float32, 1e-5), (torch.bfloat16, 6e-2)):
        layer = make(name, dtype=dtype, padding=1)
        layer.load_state_dict({k: v.to(dtype) for k, v in ref_layer.state_dict().items()})
        out = layer(x.to(dtype))
        assert out.dtype == dtype
        scale = expected.abs().max().item()
        torch.testing.assert_close(out.double(), expected, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("name", list(LAYERS))
def test_autocast_gives_torchs_dtype_and_the_float32_result(name):
    layer = make(name, padding=1)
    randomise(layer)
    x = torch.randn(2, 4, 6, 7)
    with autocast_bf16():
        out = layer(x)
        plain = plain_twin(name, layer)(x)
    assert out.dtype == plain.dtype == torch.bfloat16
    expected = layer(x)
    scale = expected.abs().max().item()
    torch.testing.assert_close(out.float(), expected, rtol=6e-2, atol=6e-2 * scale)


@pytest.mark.parametrize("name", list(LAYERS))
def test_channels_last_stays_channels_last_with_the_same_values_and_gradients(name):
    layer = make(name, c_in=8, c_out=6, padding=1)
    randomise(layer)
    x = torch.randn(2, 8, 6, 7, requires_grad=True)
    out = layer(x)
    grads = torch.autograd.grad(out, [x, *layer.parameters()], out.detach())
    cl_layer = make(name, c_in=8, c_out=6, padding=1).to(memory_format=torch.channels_last)
    cl_layer.load_state_dict(layer.state_dict())
    xc = x.detach().to(memory_format=torch.channels_last).requires_grad_()
    cl_out = cl_layer(xc)
    assert cl_out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(cl_out, out, rtol=1e-5, atol=1e-5)
    cl_grads = torch.autograd.grad(cl_out, [xc, *cl_layer.parameters()], cl_out.detach())
    for a, b in zip(cl_grads, grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


# Added parameters of a 3 x 3 layer, by the documented formulas.
def added_parameters(name: str, c_in: int, c_out: int) -> int:
    if name == "fourier":
        return c_out * (2 + 4 * 2)
    if name == "position_map":
        return c_out * (64 + 64)
    if name == "coordgate":
        return 3 * 16 + (16 + 1) * c_out
    return c_out * (2 + 4 * 2) * 9  # fourier_coordconv


@pytest.mark.parametrize(("c_in", "c_out"), [(3, 64), (64, 64)])
@pytest.mark.parametrize("name", list(LAYERS))
def test_parameter_counts(name, c_in, c_out):
    cls = LAYERS[name][0]
    extra = {"map_size": 64} if name == "position_map" else {}
    layer = cls(c_in, c_out, 3, padding=1, **extra)
    count = sum(p.numel() for p in layer.parameters())
    plain = sum(p.numel() for p in nn.Conv2d(c_in, c_out, 3, padding=1).parameters())
    assert count - plain == added_parameters(name, c_in, c_out)


def test_fourier_with_no_frequency_is_the_linear_coordinate_bias():
    from coordbias import CoordBiasConv2d

    fourier = FourierCoordBiasConv2d(4, 6, 3, stride=2, padding=1, frequencies=0)
    linear = CoordBiasConv2d(4, 6, 3, stride=2, padding=1)
    linear.load_state_dict({"coord_weight" if k == "fourier_weight" else k: v
                            for k, v in fourier.state_dict().items()})  # fmt: skip
    x = torch.randn(2, 4, 9, 10)
    torch.testing.assert_close(fourier(x), linear(x), rtol=1e-6, atol=1e-6)
    assert fourier.fourier_weight.shape == (6, 2)


def test_fourier_coordconv_with_no_frequency_is_coordconv():
    from coordbias import CoordConv2d

    fourier = FourierCoordConv2d(4, 6, 3, padding=1, frequencies=0, padding_mode="circular")
    coordconv = CoordConv2d(4, 6, 3, padding=1, padding_mode="circular")
    coordconv.load_state_dict(fourier.state_dict())
    x = torch.randn(2, 4, 9, 10)
    torch.testing.assert_close(fourier(x), coordconv(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["fourier", "coordgate"])
def test_resolution_free_the_same_function_of_position_at_twice_the_size(name):
    # With the "output" rule and a 1 x 1 kernel, the grid of n points is every second point of
    # the grid of 2n - 1: the position term must agree there.
    layer = make(name, c_in=1, c_out=3, k=1, dtype=torch.float64, coords="output")
    randomise(layer)
    coarse = layer(torch.ones(1, 1, 4, 5, dtype=torch.float64))
    fine = layer(torch.ones(1, 1, 7, 9, dtype=torch.float64))
    torch.testing.assert_close(fine[..., ::2, ::2], coarse, rtol=1e-12, atol=1e-12)


def test_position_map_is_exact_at_its_size_and_interpolated_elsewhere():
    layer = make("position_map", c_in=1, c_out=2, k=1, dtype=torch.float64, map_size=(3, 4))
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
        layer.row_map.copy_(torch.tensor([[0.0, 1.0, 4.0], [1.0, 1.0, 1.0]]))
        layer.col_map.zero_()
    at_size = layer(torch.ones(1, 1, 3, 4, dtype=torch.float64))
    torch.testing.assert_close(at_size[0, :, :, 0], layer.row_map.detach())
    twice = layer(torch.ones(1, 1, 5, 4, dtype=torch.float64))  # halfway points interpolated
    expected = torch.tensor([0.0, 0.5, 1.0, 2.5, 4.0], dtype=torch.float64)
    torch.testing.assert_close(twice[0, 0, :, 0], expected)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: FourierCoordBiasConv2d(3, 4, 3, frequencies=-1), "frequencies must be an int"),
        (lambda: FourierCoordConv2d(3, 4, 3, frequencies=1.5), "frequencies must be an int"),
        (lambda: FourierCoordBiasConv2d(3, 4, 3, coords="middle"), "coords must be one of"),
        (lambda: CoordGateConv2d(3, 4, 3, coord_init="ones"), "coord_init must be one of"),
        (lambda: CoordGateConv2d(3, 4, 3, hidden=0), "hidden must be a positive int"),
        (lambda: PositionMapConv2d(3, 4, 3), "map_size must be a positive int"),
        (lambda: PositionMapConv2d(3, 4, 3, map_size=(4, 0)), "map_size must be a positive"),
        (lambda: FourierCoordConv2d(3, 4, 3, groups=2), "divisible by groups"),
    ],
)
def test_bad_arguments_name_the_argument(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("name", list(LAYERS))
def test_a_wrong_input_names_the_layer_and_the_expected_channels(name):
    layer = make(name, padding=1)
    with pytest.raises(ValueError, match=f"{type(layer).__name__}: input has 3 channels"):
        layer(torch.randn(2, 3, 6, 7))
    with pytest.raises(ValueError, match="4-D"):
        layer(torch.randn(4, 6))


@pytest.mark.parametrize("name", list(LAYERS))
def test_an_unknown_option_names_the_layer_and_the_accepted_options(name):
    cls, extra, _ = LAYERS[name]
    with pytest.raises(TypeError, match=rf"{cls.__name__}: unknown argument\(s\) frequncies;"):
        cls(4, 6, 3, frequncies=2, **extra)
    with pytest.raises(TypeError, match=f"keyword-only {', '.join(extra)}"):
        cls(4, 6, 3, frequncies=2, **extra)


@pytest.mark.parametrize("name", list(LAYERS))
def test_inside_a_coordinate_frame_the_layer_refuses_rather_than_use_the_tiles_coordinates(name):
    layer = make(name, padding=1)
    x = torch.randn(2, 4, 6, 7)
    expected = layer(x)
    refused = pytest.raises(RuntimeError, match=f"{type(layer).__name__} does not support coord")
    with coordinate_frame(origin=(0, 0), size=(12, 14), tile=(6, 7)), refused:
        layer(x)
    assert torch.equal(layer(x), expected)  # outside the frame again: as before
