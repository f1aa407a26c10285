"""The device axis of the layer tests: ``$COORDBIAS_TEST_DEVICE`` chooses it (the CPU by default),
and what a test makes without naming a device lands on it."""

import os

import torch

import coordbias as cb


def test_the_device_is_the_one_the_environment_names(device):
    assert device == torch.device(os.environ.get("COORDBIAS_TEST_DEVICE", "cpu"))


def test_tensors_and_layers_made_without_a_device_land_on_it(device):
    layer = cb.CoordBiasConv2d(2, 3, 3, padding=1)
    x = torch.randn(1, 2, 5, 5)
    assert x.device.type == device.type
    assert layer.coord_weight.device.type == device.type
    assert layer(x).device.type == device.type
