"""The coordinate figure shows what the layers add: its maps are the layers' own outputs."""

from __future__ import annotations

import coord_figure
import numpy as np
import torch

import coordbias


def _coord_terms(ex, coords):
    # A layer that adds only its coordinate term: zero kernel, no bias, coord_weight = identity.
    conv = coordbias.CoordBiasConv2d(
        1, 2, ex.kernel, stride=ex.stride, padding=ex.padding, bias=False, coords=coords
    )
    with torch.no_grad():
        conv.weight.zero_()
        conv.coord_weight.copy_(torch.eye(2))
        return conv(torch.zeros(1, 1, ex.height, ex.width))[0].numpy()


def test_the_maps_are_what_the_layers_add():
    ex = coord_figure.Example()
    maps = coord_figure.coordinate_maps(ex)
    center = _coord_terms(ex, "center")
    output = _coord_terms(ex, "output")
    assert center.shape == (2, ex.out_size(ex.height), ex.out_size(ex.width)) == (2, 3, 4)
    np.testing.assert_array_equal(maps["center_y"], center[0])
    np.testing.assert_array_equal(maps["center_x"], center[1])
    np.testing.assert_array_equal(maps["output_y"], output[0])
    np.testing.assert_array_equal(maps["output_x"], output[1])
    channels = coordbias.AddCoords(with_r=True)(torch.zeros(1, 1, ex.height, ex.width))[0, 1:]
    for name, channel in zip(("input_y", "input_x", "input_r"), channels):
        np.testing.assert_array_equal(maps[name], channel.numpy())
    # Stride and padding show: the last kernel centre is not the last pixel.
    assert maps["center_x"][0, -1] < 1.0 == maps["input_x"][0, -1]


def test_the_figure_is_a_png():
    png = coord_figure.png_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
