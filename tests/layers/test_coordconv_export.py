"""CoordConv and CoordConvTranspose (1-D to 3-D) and AddCoords: compile, TorchScript, export, ONNX.

The exported programs are checked against eager at a second input size, different from the one
used for export, so that a size baked in as a constant would fail. ONNX uses torch 2.13's dynamo
exporter (``torch.onnx.export(..., dynamo=True, dynamic_shapes=...)``), run in onnxruntime.
"""

from __future__ import annotations

import pytest
import torch

from coordbias import (
    AddCoords,
    CoordConv1d,
    CoordConv2d,
    CoordConv3d,
    CoordConvTranspose1d,
    CoordConvTranspose2d,
    CoordConvTranspose3d,
)
from tests.layers._export_checks import assert_export_matches_eager, assert_onnx_matches_eager

# torch 2.13 deprecates TorchScript (script and script_method) but still ships it.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script:DeprecationWarning")

# (module factory, export input, second input): the second size differs in every spatial dim
# and, where the convolution allows it, includes a side of length 1 (coordinate 0, not 0 / 0).
# The conv2d cases take CoordConv's split forward, conv1d and conv3d its concatenating one.
CASES = {
    "conv1d": (lambda: CoordConv1d(3, 4, 3, padding=1, with_r=True), (2, 3, 12), (2, 3, 1)),
    "conv2d": (
        lambda: CoordConv2d(8, 4, 3, padding=1, padding_mode="reflect", with_r=True),
        (2, 8, 10, 14),
        (2, 8, 7, 5),
    ),
    "conv2d_groups": (
        lambda: CoordConv2d(8, 6, 3, stride=2, padding="valid", groups=2),
        (2, 8, 9, 11),
        (2, 8, 16, 5),
    ),
    "conv3d": (lambda: CoordConv3d(2, 3, 3, padding=1), (1, 2, 4, 5, 6), (1, 2, 3, 1, 7)),
    "addcoords": (lambda: AddCoords(with_r=True), (2, 3, 6, 8), (2, 3, 1, 9)),
    "conv_transpose1d": (lambda: CoordConvTranspose1d(3, 4, 2, stride=2), (2, 3, 12), (2, 3, 1)),
    "conv_transpose2d": (
        lambda: CoordConvTranspose2d(
            8, 6, 3, stride=2, padding=1, output_padding=1, groups=2, with_r=True
        ),
        (2, 8, 5, 7),
        (2, 8, 3, 1),
    ),
    "conv_transpose3d": (
        lambda: CoordConvTranspose3d(2, 3, 3, padding=1),
        (1, 2, 4, 5, 6),
        (1, 2, 3, 1, 7),
    ),
}


def _case(name: str):
    factory, shape, other = CASES[name]
    torch.manual_seed(0)
    return factory().eval(), torch.randn(shape), torch.randn(other)


@pytest.mark.parametrize("name", list(CASES))
def test_torchscript_equals_eager(name):
    module, x, y = _case(name)
    scripted = torch.jit.script(module)
    for inp in (x, y):
        torch.testing.assert_close(scripted(inp), module(inp), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_torch_export_with_dynamic_spatial_sizes(name):
    assert_export_matches_eager(*_case(name), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "backend"),
    # fullgraph=True is the property under test (no graph break); inductor's C++ build costs
    # seconds per layer on a CPU, so it runs once and the other layers use aot_eager.
    [
        ("conv2d", "inductor"),
        ("conv1d", "aot_eager"),
        ("conv3d", "aot_eager"),
        ("addcoords", "aot_eager"),
        ("conv_transpose2d", "aot_eager"),
        ("conv_transpose3d", "aot_eager"),
    ],
)
def test_compile_fullgraph_equals_eager(name, backend):
    torch._dynamo.reset()
    module, x, _ = _case(name)
    compiled = torch.compile(module, fullgraph=True, backend=backend)
    torch.testing.assert_close(compiled(x), module(x), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("name", list(CASES))
def test_onnx_with_dynamic_spatial_sizes_in_onnxruntime(name, tmp_path):
    assert_onnx_matches_eager(*_case(name), tmp_path / f"{name}.onnx")
