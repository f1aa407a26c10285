"""The U-Net of the registry: shapes, its parts, every convolution kind it takes, training."""

import pytest
import torch
from torch import nn

import coordbias
from coordbias.models import UNET_CONV_KINDS, UNet, create_model, list_models


def test_registered_and_maps_images_to_logits_at_any_multiple_of_8():
    assert "unet" in list_models()
    model = create_model("unet", width=4, num_classes=3)
    assert isinstance(model, UNet)
    for h, w in ((16, 16), (24, 40)):
        assert model(torch.randn(2, 3, h, w)).shape == (2, 3, h, w)
    with pytest.raises(ValueError, match="divisible by 8"):
        model(torch.randn(1, 3, 20, 16))


def test_it_has_residual_units_instance_norm_and_transposed_convolutions():
    model = UNet(width=4)
    kinds = {type(m) for m in model.modules()}
    assert {nn.InstanceNorm2d, nn.ConvTranspose2d, nn.Conv2d} <= kinds
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in model.modules()) == 3
    # a downsampling unit adds a strided shortcut to its body
    unit = model.enc1
    assert unit.conv1.stride == (2, 2) and unit.shortcut.stride == (2, 2)
    x = torch.randn(1, 4, 16, 16)
    body = unit.norm2(unit.conv2(unit.act(unit.norm1(unit.conv1(x)))))
    torch.testing.assert_close(unit(x), unit.act(body + unit.shortcut(x)))


@pytest.mark.parametrize("conv", UNET_CONV_KINDS)
def test_every_kind_builds_every_convolution(conv):
    model = create_model("unet", width=4, conv=conv)
    expected = {
        "vanilla": nn.Conv2d,
        "coordbias": coordbias.CoordBiasConv2d,
        "coordconv": coordbias.CoordConv2d,
    }.get(conv)
    if expected is not None:
        convs = [m for n, m in model.named_modules() if n.endswith(("conv1", "conv2", "head"))]
        assert convs and all(type(m) is expected for m in convs)
    assert model(torch.randn(1, 3, 16, 16)).shape == (1, 4, 16, 16)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="conv"):
        create_model("unet", conv="fourier")  # no transposed form
    with pytest.raises(ValueError, match="width"):
        create_model("unet", width=0)
    with pytest.raises(TypeError, match="unexpected"):
        create_model("unet", depth=4)


def test_converted_unet_trains_and_its_coordinate_weights_learn():
    torch.manual_seed(0)
    model = coordbias.convert(create_model("unet", width=4), "coordbias", coord_init="uniform")
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    x, y = torch.randn(2, 3, 16, 16), torch.randint(0, 4, (2, 16, 16))
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert torch.isfinite(loss)
    coord = [p for n, p in model.named_parameters() if n.endswith("coord_weight")]
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert len(coord) == len(convs)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in coord)
    opt.step()
