"""Export paths of the six coordinate-bias classes: torch.compile, TorchScript, torch.export, ONNX.

ONNX uses torch 2.13's dynamo exporter, ``torch.onnx.export(..., dynamo=True, dynamic_shapes=...)``,
with the spatial sizes dynamic, and is checked in onnxruntime at a size other than the export's.
"""

import io
import subprocess
import sys
import warnings

import pytest
import torch

import coordbias as cb

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def _layer_and_inputs(spec):
    torch.manual_seed(0)
    config = {"stride": 2, "padding": 1}
    if spec.transposed:
        config["output_padding"] = 1
    layer = spec.cls(3, 4, 3, **config).eval()
    x = torch.randn(2, 3, *[6 + i for i in range(spec.dims)])
    other = torch.randn(1, 3, *[9 - i for i in range(spec.dims)])  # another size and batch
    return layer, x, other


def test_compile_fullgraph_captures_forward_and_backward(spec):
    layer, x, _ = _layer_and_inputs(spec)
    compiled = torch.compile(layer, fullgraph=True, backend="aot_eager")
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    torch.testing.assert_close(compiled(x1), layer(x2))
    compiled(x1).square().sum().backward()
    eager_grads = torch.autograd.grad(layer(x2).square().sum(), [x2, layer.coord_weight])
    torch.testing.assert_close(x1.grad, eager_grads[0])
    torch.testing.assert_close(layer.coord_weight.grad, eager_grads[1])
    torch._dynamo.reset()


@pytest.mark.slow
def test_compile_inductor_equals_eager():
    torch.manual_seed(1)
    layer = cb.CoordBiasConv2d(3, 8, 3, padding=1)
    x = torch.randn(2, 3, 12, 10, requires_grad=True)
    compiled = torch.compile(layer, fullgraph=True)
    out = compiled(x)
    torch.testing.assert_close(out, layer(x))
    (grad,) = torch.autograd.grad(out.sum(), [layer.coord_weight])
    (expected,) = torch.autograd.grad(layer(x).sum(), [layer.coord_weight])
    torch.testing.assert_close(grad, expected)
    torch._dynamo.reset()


def test_torchscript_equals_eager_and_round_trips(spec, ref):
    # TorchScript runs the general path: bit for bit that path in eager; to rounding of the
    # coordinate term the eager fast path.
    layer, x, other = _layer_and_inputs(spec)
    scripted = torch.jit.script(layer)
    with ref.use_path("general"):
        assert torch.equal(scripted(x), layer(x))
    torch.testing.assert_close(scripted(x), layer(x), rtol=1e-6, atol=1e-6)
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    with ref.use_path("general"):
        assert torch.equal(loaded(other), layer(other))
    torch.testing.assert_close(loaded(other), layer(other), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "config",
    [{"padding": "same", "kernel_size": 4}, {"padding": 1, "padding_mode": "reflect"}],
    ids=["same", "reflect"],
)
def test_torchscript_conv_padding_variants(config, ref):
    layer = cb.CoordBiasConv2d(3, 4, **{"kernel_size": 3, **config})
    x = torch.randn(2, 3, 7, 9)
    with ref.use_path("general"):
        assert torch.equal(torch.jit.script(layer)(x), layer(x))
    torch.testing.assert_close(torch.jit.script(layer)(x), layer(x), rtol=1e-6, atol=1e-6)


def _dynamic_shapes(spec):
    names = ["D", "H", "W"][3 - spec.dims :]
    return {"input": {i + 2: torch.export.Dim(n, min=4, max=64) for i, n in enumerate(names)}}


def test_torch_export_with_dynamic_sizes_equals_eager(spec):
    layer, x, other = _layer_and_inputs(spec)
    program = torch.export.export(layer, (x,), dynamic_shapes=_dynamic_shapes(spec))
    module = program.module()
    torch.testing.assert_close(module(x), layer(x))
    bigger = torch.randn(2, 3, *other.shape[2:])  # the batch stays static
    torch.testing.assert_close(module(bigger), layer(bigger))


def _onnx_output_at(layer, x, dynamic_shapes, bigger):
    """Export ``layer`` at ``x`` with dynamic sizes, run it in onnxruntime on ``bigger``."""
    import onnxruntime as ort

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            layer,
            (x,),
            dynamo=True,
            dynamic_shapes=dynamic_shapes,
            input_names=["input"],
            verbose=False,
        )
    session = ort.InferenceSession(
        program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (got,) = session.run(None, {"input": bigger.numpy()})
    return torch.from_numpy(got)


@pytest.mark.slow
def test_onnx_export_runs_in_onnxruntime_at_another_size(spec):
    layer, x, other = _layer_and_inputs(spec)
    bigger = torch.randn(2, 3, *other.shape[2:])
    got = _onnx_output_at(layer, x, _dynamic_shapes(spec), bigger)
    with torch.no_grad():
        expected = layer(bigger)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [
        {"kernel_size": 4, "padding": "same"},
        {"padding": 1, "padding_mode": "reflect", "stride": 2},
        {"padding": 2, "padding_mode": "circular", "dilation": 2, "groups": 3},
    ],
    ids=["same-even-kernel", "reflect-stride2", "circular-dilation-groups"],
)
def test_onnx_export_of_padding_variants_and_groups(config):
    # The coordinates depend on the padding and stride; the exported graph must recompute them
    # for the new size rather than bake in the export size's.
    torch.manual_seed(3)
    layer = cb.CoordBiasConv2d(3, 6, **{"kernel_size": 3, **config}).eval()
    with torch.no_grad():
        layer.coord_weight.mul_(10)  # let the coordinate term dominate, so errors show
    x = torch.randn(2, 3, 9, 11)
    dims = {
        "input": {2: torch.export.Dim("H", min=5, max=64), 3: torch.export.Dim("W", min=5, max=64)}
    }
    bigger = torch.randn(2, 3, 14, 8)
    got = _onnx_output_at(layer, x, dims, bigger)
    with torch.no_grad():
        expected = layer(bigger)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_import_coordbias_pulls_in_torch_and_numpy_only():
    heavy = ["lightning", "matplotlib", "torchmetrics", "yaml", "scipy", "PIL"]
    code = (
        "import sys, coordbias, coordbias.functional, coordbias.layers\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stdout
