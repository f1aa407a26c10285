"""The four position layers under torch.export and ONNX with dynamic spatial sizes.

As for CoordConv (test_coordconv_export.py): the exported programs are checked against eager at
a second input size, so that a size baked in as a constant would fail. The learned position
map is interpolated at that second size, so the interpolation is exported too.
"""

from __future__ import annotations

import pytest
import torch

from coordbias import (
    CoordGateConv2d,
    FourierCoordBiasConv2d,
    FourierCoordConv2d,
    PositionMapConv2d,
)
from tests.layers._export_checks import assert_export_matches_eager, assert_onnx_matches_eager

# (module factory, export input shape, second input shape)
CASES = {
    "fourier": (
        lambda: FourierCoordBiasConv2d(4, 6, 3, padding=1, frequencies=3),
        (2, 4, 10, 14),
        (2, 4, 7, 5),
    ),
    "fourier_strided": (
        lambda: FourierCoordBiasConv2d(4, 6, 3, stride=2, padding="valid", coords="output"),
        (2, 4, 9, 11),
        (2, 4, 16, 5),
    ),
    "position_map": (
        lambda: PositionMapConv2d(4, 6, 3, padding=1, map_size=(10, 14)),
        (2, 4, 10, 14),
        (2, 4, 7, 5),
    ),
    "coordgate": (
        lambda: CoordGateConv2d(4, 6, 3, padding=1, padding_mode="reflect"),
        (2, 4, 10, 14),
        (2, 4, 7, 5),
    ),
    "fourier_coordconv": (
        lambda: FourierCoordConv2d(4, 6, 3, padding=1, groups=2),
        (2, 4, 10, 14),
        (2, 4, 7, 5),
    ),
}


def _case(name: str):
    factory, shape, other = CASES[name]
    torch.manual_seed(0)
    module = factory().eval()
    with torch.no_grad():  # every position parameter non-zero
        for p in module.parameters():
            if not p.any():
                p.normal_()
    return module, torch.randn(shape), torch.randn(other)


@pytest.mark.parametrize("name", list(CASES))
def test_torch_export_with_dynamic_spatial_sizes(name):
    assert_export_matches_eager(*_case(name))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("name", [n for n in CASES if n != "fourier_strided"])
def test_onnx_with_dynamic_spatial_sizes_in_onnxruntime(name, tmp_path):
    assert_onnx_matches_eager(*_case(name), tmp_path / f"{name}.onnx")
