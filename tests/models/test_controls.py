"""ParamMatchedConv2d / ParamMatchedConvTranspose2d: position-free parameter-matched controls."""

import pytest
import torch
from torch import nn

from coordbias.models import ParamMatchedConv2d, ParamMatchedConvTranspose2d


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("bias", [True, False])
def test_adds_two_params_per_output_channel(bias):
    plain = nn.Conv2d(5, 7, 3, bias=bias)
    matched = ParamMatchedConv2d(5, 7, 3, bias=bias)
    assert _n_params(matched) - _n_params(plain) == 2 * 7
    up = ParamMatchedConvTranspose2d(5, 7, 3, stride=2, bias=bias)
    assert _n_params(up) - _n_params(nn.ConvTranspose2d(5, 7, 3, stride=2, bias=bias)) == 14


def test_fresh_layer_equals_torch_layer():
    torch.manual_seed(0)
    matched = ParamMatchedConv2d(3, 4, 3, padding=1, padding_mode="reflect")
    plain = nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")
    plain.load_state_dict({"weight": matched.weight, "bias": matched.bias})
    x = torch.randn(2, 3, 9, 11)
    torch.testing.assert_close(matched(x), plain(x))


def test_scale_and_shift_formula():
    torch.manual_seed(0)
    conv = ParamMatchedConv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv.scale.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
        conv.shift.copy_(torch.tensor([1.0, 2.0, -3.0, 0.25]))
    x = torch.randn(2, 3, 6, 5)
    plain = nn.functional.conv2d(x, conv.weight, conv.bias, padding=1)
    expected = (1 + conv.scale.view(1, -1, 1, 1)) * plain + conv.shift.view(1, -1, 1, 1)
    torch.testing.assert_close(conv(x), expected)


def test_transposed_formula_and_output_size():
    torch.manual_seed(0)
    up = ParamMatchedConvTranspose2d(4, 3, 3, stride=2, padding=1)
    with torch.no_grad():
        up.scale.uniform_(-1, 1)
        up.shift.uniform_(-1, 1)
    x = torch.randn(1, 4, 5, 6)
    y = up(x, output_size=[10, 12])
    plain = nn.functional.conv_transpose2d(x, up.weight, up.bias, 2, 1, output_padding=1)
    expected = (1 + up.scale.view(1, -1, 1, 1)) * plain + up.shift.view(1, -1, 1, 1)
    torch.testing.assert_close(y, expected)
    assert y.shape == (1, 3, 10, 12)


def test_every_extra_param_gets_a_gradient():
    conv = ParamMatchedConv2d(2, 3, 3, padding=1)
    conv(torch.randn(2, 2, 5, 5)).square().sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_translation_equivariant_where_coordinate_bias_is_not():
    from coordbias import CoordBiasConv2d

    torch.manual_seed(0)
    x = torch.randn(1, 3, 12, 12)
    shift = (3, -2)

    def roll(t):
        return torch.roll(t, shifts=shift, dims=(-2, -1))

    matched = ParamMatchedConv2d(3, 4, 3, padding=1, padding_mode="circular")
    with torch.no_grad():
        matched.scale.uniform_(-1, 1)
        matched.shift.uniform_(-1, 1)
    torch.testing.assert_close(matched(roll(x)), roll(matched(x)))

    coord = CoordBiasConv2d(3, 4, 3, padding=1, padding_mode="circular")
    assert not torch.allclose(coord(roll(x)), roll(coord(x)), atol=1e-4)
    # Same parameter count: the control isolates "more parameters" from "position".
    assert _n_params(coord) == _n_params(matched)
