"""Kayhan and van Gemert's Red-Green network: their layers, their paddings, pluggable methods."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from coordbias.data.redgreen import redgreen_tensors
from coordbias.models import CONV_KINDS, CONV_TYPES, RedGreenNet, create_model, redgreen_map_sizes

SIZES = {
    "valid": (30, 14, 6, 2),
    "same": (32, 16, 8, 4),
    "circular": (32, 16, 8, 4),
    "full": (34, 18, 10, 6),
    "circular2": (34, 18, 10, 6),
}


def _maps(model, x):
    sizes = []
    hooks = [
        c.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1])) for c in model.convs
    ]
    out = model(x)
    for h in hooks:
        h.remove()
    return out, tuple(sizes)


@pytest.mark.parametrize("conv_type", list(CONV_TYPES))
def test_each_type_has_its_padding_and_map_sizes(conv_type):
    model = create_model("redgreen", conv_type=conv_type)
    out, sizes = _maps(model, torch.zeros(2, 3, 32, 32))
    assert out.shape == (2, 2)
    assert sizes == SIZES[conv_type] == redgreen_map_sizes(conv_type)
    padding, mode, _ = CONV_TYPES[conv_type]
    for conv, channels, stride in zip(model.convs, (32, 32, 64, 64), (1, 2, 2, 2)):
        assert type(conv) is nn.Conv2d and conv.bias is None
        assert conv.out_channels == channels and conv.stride == (stride, stride)
        assert conv.kernel_size == (3, 3) and conv.padding == (padding, padding)
        assert conv.padding_mode == mode


def test_parameter_count_is_their_layers():
    # 3*32*9 + 32*32*9 + 32*64*9 + 64*64*9 convolution weights, a 64 -> 2 linear layer
    model = RedGreenNet()
    assert sum(p.numel() for p in model.parameters()) == 65376 + 130


def test_circular_is_the_old_torch_rule_one_wrapped_row_per_side():
    # torch <= 1.4 padded a circular convolution by (p + 1) // 2 and p // 2: 1 and 1 for p = 2.
    conv = RedGreenNet("circular").convs[1]
    x = torch.randn(1, 32, 10, 10)
    old = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), conv.weight, stride=2)
    torch.testing.assert_close(conv(x), old)


@pytest.mark.parametrize(
    ("conv_type", "invariant"),
    [("circular", True), ("full", True), ("same", False), ("valid", False), ("circular2", False)],
)
def test_which_types_cannot_tell_similar_from_dissimilar(conv_type, invariant):
    # Their equal similar / dissimilar accuracies: the network's output does not change when a
    # pair moves 16 rows (circular padding 1 or full padding, total stride 8).
    similar, _ = redgreen_tensors("similar", 16)
    dissimilar, _ = redgreen_tensors("dissimilar", 16)
    torch.manual_seed(0)
    model = RedGreenNet(conv_type)
    with torch.no_grad():
        gap = (model(similar) - model(dissimilar)).abs().max()
    assert (gap < 1e-5) == invariant


@pytest.mark.parametrize("kind", list(CONV_KINDS))
def test_every_method_fits_in_and_learns(kind):
    model = create_model("redgreen", conv=kind, conv_type="same")
    x = torch.rand(2, 3, 32, 32)
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    expected = nn.Conv2d if kind == "vanilla" else type(model.convs[0])
    assert all(type(c) is expected for c in model.convs)
    assert all(c.bias is None for c in model.convs)


def test_first_scope_changes_the_first_convolution_only():
    model = create_model("redgreen", conv="coordbias", conv_scope="first", conv_type="valid")
    assert [type(c).__name__ for c in model.convs] == ["CoordBiasConv2d"] + ["Conv2d"] * 3
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 2)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="conv_type"):
        create_model("redgreen", conv_type="reflect")
    with pytest.raises(ValueError, match="conv_scope"):
        create_model("redgreen", conv_scope="encoder")


def test_the_builder_keeps_its_name_over_the_module_of_that_name():
    # coordbias.models imports its networks on first use; loading the network's module must not
    # replace the registered builder ``redgreen`` in the package (nor hide it from the docs).
    import subprocess
    import sys

    code = (
        "import inspect, coordbias.models as m\n"
        "m.RedGreenNet\n"
        "assert inspect.isfunction(m.redgreen), m.redgreen\n"
        "from coordbias.models import redgreen\n"
        "assert inspect.isfunction(redgreen)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
