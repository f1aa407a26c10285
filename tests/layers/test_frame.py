"""coordbias.coordinate_frame: every coordinate layer sees where its input lies in a larger image.

A tile of an image run inside the frame must give what the whole image gives at the same
locations (the geometry of ``layers/_coords.framed_axes``); outside any frame nothing changes.
"""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

import coordbias as cb
from coordbias import coordinate_frame
from coordbias.layers import _coords, _term
from coordbias.layers import frame as frame_module
from tests.layers._device import on_test_device

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script:DeprecationWarning")

F64 = torch.float64


def _crop(x: torch.Tensor, origin, tile) -> torch.Tensor:
    index = [slice(None), slice(None)] + [slice(o, o + t) for o, t in zip(origin, tile)]
    return x[tuple(index)]


# ---- the frame reproduces the whole image's coordinates ----------------------------------------


@pytest.mark.parametrize("with_r", [False, True])
@pytest.mark.parametrize(
    ("size", "origin", "tile"),
    [((9,), (3,), (4,)), ((8, 12), (4, 6), (4, 5)), ((4, 6, 5), (1, 2, 0), (3, 2, 5))],
)
def test_addcoords_of_a_tile_are_the_whole_image_coordinates_bit_for_bit(
    with_r, size, origin, tile
):
    image = torch.zeros(2, 1, *size)
    whole = cb.AddCoords(with_r=with_r)(image)
    with coordinate_frame(origin=origin, size=size, tile=tile):
        framed = cb.AddCoords(with_r=with_r)(_crop(image, origin, tile))
    assert torch.equal(framed, _crop(whole, origin, tile))


# One layer at the model's input, each kind with stride and padding: tile origins and sizes are
# multiples of the stride, and the tile's output is compared away from its border.
LAYERS = {
    "conv1d": (lambda: cb.CoordBiasConv1d(2, 3, 3, padding=1, coord_init="uniform"), (32,)),
    "conv2d_s2": (lambda: cb.CoordBiasConv2d(2, 3, 3, stride=2, padding=1), (32, 40)),
    "conv2d_same_d2": (lambda: cb.CoordBiasConv2d(2, 3, 4, padding="same", dilation=2), (32, 40)),
    "conv2d_output": (lambda: cb.CoordBiasConv2d(2, 3, 3, padding=1, coords="output"), (32, 40)),
    "conv3d": (lambda: cb.CoordBiasConv3d(2, 3, 3, padding=1), (16, 16, 16)),
    "convT1d": (lambda: cb.CoordBiasConvTranspose1d(2, 3, 2, stride=2), (32,)),
    "convT2d": (
        lambda: cb.CoordBiasConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
        (32, 40),
    ),
    "convT3d": (
        lambda: cb.CoordBiasConvTranspose3d(2, 3, 2, stride=2, coords="output"),
        (12, 12, 12),
    ),
    "coordconv2d": (lambda: cb.CoordConv2d(2, 3, 3, stride=2, padding=1, with_r=True), (32, 40)),
    "coordconv3d": (lambda: cb.CoordConv3d(2, 3, 3, padding=1), (16, 16, 16)),
    "coordconvT2d": (
        lambda: cb.CoordConvTranspose2d(
            2, 3, 3, stride=2, padding=1, output_padding=1, with_r=True
        ),
        (32, 40),
    ),
    "coordconvT1d": (lambda: cb.CoordConvTranspose1d(2, 3, 2, stride=2), (32,)),
}


def _single_layer_case(name: str, batch: int = 2):
    factory, size = LAYERS[name]
    torch.manual_seed(0)
    layer = factory().to(F64)
    if hasattr(layer, "coord_weight") and isinstance(layer.coord_weight, nn.Parameter):
        with torch.no_grad():
            layer.coord_weight.uniform_(-2, 2)  # large, so that wrong coordinates show
    image = torch.randn(batch, 2, *size, dtype=F64)
    return layer, image, size


@pytest.mark.parametrize("batch", [1, 3], ids=["concat", "split"])  # CoordConv's two forwards
@pytest.mark.parametrize("name", list(LAYERS))
def test_one_layer_on_a_tile_equals_the_whole_image(name, batch):
    layer, image, size = _single_layer_case(name, batch)
    tile = tuple(n // 2 for n in size)
    origin = tuple(n // 4 for n in size)  # multiples of 2, the largest stride here
    whole = layer(image)
    scale = whole.shape[-1] / size[-1]  # output pixels per input pixel
    with coordinate_frame(origin=origin, size=size, tile=tile):
        out = layer(_crop(image, origin, tile))
    plain = layer(_crop(image, origin, tile))
    m = 3  # away from the tile's border by more than the kernels reach
    inner = tuple(slice(m, out.shape[2 + i] - m) for i in range(len(size)))
    expect = _crop(whole, [int(o * scale) for o in origin], out.shape[2:])
    torch.testing.assert_close(out[(..., *inner)], expect[(..., *inner)], rtol=0, atol=1e-12)
    assert (plain[(..., *inner)] - expect[(..., *inner)]).abs().max() > 1e-2  # the frame matters


def test_functional_form_honours_the_frame():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 8, 8, dtype=F64)
    w, cw = torch.randn(3, 2, 3, 3, dtype=F64), torch.randn(3, 2, dtype=F64)
    whole = cb.functional.coord_bias_conv2d(x, w, None, cw, padding=1)
    with coordinate_frame(origin=(4, 2), size=(8, 8), tile=(4, 4)):
        tile = cb.functional.coord_bias_conv2d(x[..., 4:, 2:6], w, None, cw, padding=1)
    torch.testing.assert_close(tile[..., 1:-1, 1:-1], whole[..., 5:7, 3:5], rtol=0, atol=1e-12)


# ---- per-sample frames ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["conv2d_s2", "convT2d", "coordconv2d", "coordconvT2d"])
def test_per_sample_origins_equal_one_frame_per_sample(name):
    layer, image, size = _single_layer_case(name, batch=3)
    origins = torch.tensor([[0, 0], [4, 10], [8, 6]])
    tile = (8, 10)
    crops = torch.stack(
        [_crop(image[i : i + 1], o, tile)[0] for i, o in enumerate(origins.tolist())]
    )
    with coordinate_frame(origin=origins, size=size, tile=tile):
        together = layer(crops)
    for i, origin in enumerate(origins.tolist()):
        with coordinate_frame(origin=origin, size=size, tile=tile):
            alone = layer(crops[i : i + 1])
        torch.testing.assert_close(together[i : i + 1], alone, rtol=0, atol=1e-12)


def test_per_sample_frame_and_batch_size_must_agree():
    with coordinate_frame(origin=torch.zeros(3, 2), size=(8, 8), tile=(4, 4)):
        for layer in (cb.CoordBiasConv2d(2, 3, 3), cb.CoordConv2d(2, 3, 3), cb.AddCoords()):
            with pytest.raises(ValueError, match=r"3 per-sample origins.*batch size 2"):
                layer(torch.randn(2, 2, 4, 4))
        with pytest.raises(ValueError, match=r"3 per-sample origins.*unbatched"):
            cb.CoordBiasConv2d(2, 3, 3)(torch.randn(2, 4, 4))


def test_unbatched_input_and_channels_last_inside_a_frame():
    layer, image, size = _single_layer_case("conv2d_s2", batch=1)
    with coordinate_frame(origin=(4, 4), size=size, tile=(8, 8)):
        batched = layer(image[..., 4:12, 4:12])
        unbatched = layer(image[0, :, 4:12, 4:12])
        cl = layer.to(memory_format=torch.channels_last)(
            image[..., 4:12, 4:12].contiguous(memory_format=torch.channels_last)
        )
    torch.testing.assert_close(unbatched, batched[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(cl, batched, rtol=0, atol=1e-12)


def test_gradients_inside_a_frame():
    layer, image, size = _single_layer_case("conv2d_s2", batch=2)
    x = image[..., :8, :10].clone().requires_grad_()
    w = layer.coord_weight.detach().clone().requires_grad_()

    def run(inp, coord_weight):
        with coordinate_frame(origin=torch.tensor([[0, 0], [8, 10]]), size=size, tile=(8, 10)):
            return torch.func.functional_call(layer, {"coord_weight": coord_weight}, (inp,))

    assert torch.autograd.gradcheck(run, (x, w), fast_mode=True)


# ---- outside any frame: exactly as before ------------------------------------------------------


def test_outside_a_frame_no_layer_reaches_the_frame_geometry(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("framed geometry used outside a frame")

    monkeypatch.setattr(_coords, "framed_axes", forbidden)
    for name in LAYERS:
        layer, image, _ = _single_layer_case(name)
        layer(image).sum().backward()
    cb.AddCoords(with_r=True)(torch.zeros(1, 1, 3, 4))


def test_leaving_a_frame_restores_everything_even_after_an_error():
    layer, image, size = _single_layer_case("coordconvT2d", batch=3)
    before = layer(image)
    hooks = dict(nn.modules.module._global_forward_pre_hooks)
    with (
        pytest.raises(RuntimeError, match="boom"),
        coordinate_frame(origin=(2, 2), size=(32, 32), tile=size),
    ):
        with coordinate_frame(origin=(4, 4), size=(64, 64), tile=size):
            inner = _coords.active
        assert _coords.active is not inner and _coords.active.size[0, 0] == 32  # nested: restored
        raise RuntimeError("boom")
    assert _coords.active is None
    assert dict(nn.modules.module._global_forward_pre_hooks) == hooks
    assert torch.equal(layer(image), before)


def test_outside_a_frame_the_eager_fast_path_still_runs(monkeypatch):
    calls = []
    original = _term._eager_add
    monkeypatch.setattr(_term, "_eager_add", lambda *a: calls.append(1) or original(*a))
    layer, image, _ = _single_layer_case("conv2d_s2")
    layer(image)
    with coordinate_frame(origin=(0, 0), size=(32, 40), tile=(16, 20)):
        layer(image)
    assert calls == [1]  # inside the frame the framed path ran instead


def test_a_frame_that_is_the_input_itself_changes_nothing():
    layer, image, size = _single_layer_case("coordconv2d", batch=3)
    with coordinate_frame(origin=(0, 0), size=size, tile=size):
        framed = layer(image)
        coords = cb.AddCoords(with_r=True)(image)
    torch.testing.assert_close(framed, layer(image), rtol=0, atol=1e-12)
    assert torch.equal(coords, cb.AddCoords(with_r=True)(image))


# ---- where the frame cannot go ----------------------------------------------------------------


def test_torchscript_module_inside_a_frame_raises_outside_it_works():
    layer = cb.CoordBiasConv2d(2, 3, 3)
    scripted = torch.jit.script(layer)
    x = torch.randn(1, 2, 6, 6)
    with coordinate_frame(origin=(0, 0), size=(12, 12), tile=(6, 6)):
        with pytest.raises(RuntimeError, match="TorchScript code cannot see the frame"):
            scripted(x)
        plain = torch.jit.script(nn.Conv2d(2, 3, 3))  # no coordinate layer: nothing to refuse
        assert plain(x).shape == (1, 3, 4, 4)
    torch.testing.assert_close(scripted(x), layer(x))


@pytest.mark.parametrize("how", ["trace", "export"])
def test_tracing_or_exporting_inside_a_frame_raises(how):
    for layer in (cb.CoordBiasConv2d(2, 3, 3), cb.CoordConv2d(2, 3, 3), cb.AddCoords()):
        x = torch.randn(1, 2, 6, 6)
        frame = coordinate_frame(origin=(0, 0), size=(12, 12), tile=(6, 6))
        with frame, pytest.raises(RuntimeError, match="bake one tile's coordinates"):
            if how == "trace":
                torch.jit.trace(layer, (x,))
            else:
                torch.export.export(layer, (x,))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
def test_onnx_export_inside_a_frame_raises():
    x = torch.randn(1, 2, 6, 6)
    frame = coordinate_frame(origin=(0, 0), size=(12, 12), tile=(6, 6))
    with frame, pytest.raises(Exception, match="bake one tile's coordinates"):
        torch.onnx.export(cb.CoordBiasConv2d(2, 3, 3), (x,), dynamo=True)


@pytest.mark.slow
def test_compiled_model_honours_the_frame_without_recompiling_per_tile():
    from torch._dynamo.testing import CompileCounterWithBackend

    torch._dynamo.reset()
    torch.manual_seed(0)
    model = nn.Sequential(
        cb.CoordConv2d(2, 4, 3, padding=1),
        nn.ReLU(),
        cb.CoordBiasConv2d(4, 4, 3, stride=2, padding=1),
        cb.CoordBiasConvTranspose2d(4, 2, 2, stride=2),
    ).eval()
    backend = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(model, backend=backend, fullgraph=True)
    image = torch.randn(2, 2, 32, 32)
    tiles = {origin: _crop(image, origin, (16, 16)) for origin in [(0, 0), (8, 16), (16, 4)]}

    def framed(net: nn.Module, origin) -> torch.Tensor:
        with coordinate_frame(origin=origin, size=(32, 32), tile=(16, 16)):
            return net(tiles[origin])

    compiles = []
    with torch.no_grad():
        for origin in tiles:
            torch.testing.assert_close(framed(compiled, origin), framed(model, origin))
            compiles.append(backend.frame_count)
        outside = compiled(tiles[(8, 16)])
        torch.testing.assert_close(outside, model(tiles[(8, 16)]))
        compiled_all = backend.frame_count
        # Two threads at once, one inside a frame and one outside: each runs its own graph.
        expect = {"in": framed(model, (16, 4)), "out": model(tiles[(16, 4)])}
        barrier, results = threading.Barrier(2), {"in": [], "out": []}

        def work(where: str) -> None:
            with torch.no_grad(), on_test_device():  # the default device is per thread
                for _ in range(10):
                    barrier.wait(timeout=60)
                    out = framed(compiled, (16, 4)) if where == "in" else compiled(tiles[(16, 4)])
                    results[where].append(out)

        threads = [threading.Thread(target=work, args=(w,)) for w in results]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert compiles[0] == compiles[-1]  # new tiles, new origins: no recompilation
    assert backend.frame_count == compiled_all  # the threads found their graphs compiled
    for where, outs in results.items():
        assert len(outs) == 10
        for out in outs:
            torch.testing.assert_close(out, expect[where])


# ---- bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tile": (0, 4)}, ValueError, "tile must be 1 to 3 positive ints"),
        ({"tile": 4}, ValueError, "tile must be"),
        ({"origin": (1, 2, 3)}, ValueError, "origin has 3 spatial dims, tile has 2"),
        ({"origin": "00"}, TypeError, "origin must be a sequence of numbers"),
        ({"origin": (0, None)}, TypeError, "origin must be numbers"),
        ({"origin": (0, float("nan"))}, ValueError, "origin must be finite"),
        ({"origin": torch.zeros(2, 2, 2)}, ValueError, r"origin must be a \(D,\) or \(B, D\)"),
        ({"size": (0, 8)}, ValueError, "size must be at least 1 pixel"),
        ({"origin": torch.zeros(3, 2), "size": torch.ones(2, 2) * 8}, ValueError, "3 rows"),
    ],
)
def test_bad_frames_raise_clear_errors(kwargs, error, match):
    args = {"origin": (0, 0), "size": (8, 8), "tile": (4, 4), **kwargs}
    with pytest.raises(error, match=match), coordinate_frame(**args):
        pass
    assert _coords.active is None


def test_a_frame_of_other_dimensions_than_the_layer_is_named():
    frame = coordinate_frame(origin=(0,), size=(8,), tile=(4,))
    with frame, pytest.raises(ValueError, match="coordinate_frame has 1 spatial dims"):
        cb.CoordBiasConv2d(2, 3, 3)(torch.randn(1, 2, 4, 4))


def test_frame_module_lists_every_layer_that_honours_it():
    # The classes of this module's tests; the position layers added beside them (Fourier,
    # position map, CoordGate, Fourier CoordConv) compute their own features and do not.
    families = ("CoordBiasConv", "CoordBiasConvTranspose", "CoordConv", "CoordConvTranspose")
    names = {f"{f}{d}d" for f in families for d in (1, 2, 3)} | {"AddCoords"}
    assert names <= set(cb.__all__)
    assert names == set(frame_module._FRAMED_LAYERS)


@pytest.mark.slow
def test_a_compiler_that_says_exporting_under_compile_still_runs_the_frame(monkeypatch):
    # Until torch 2.12 the compiler traced torch.compiler.is_exporting() as true under every
    # torch.compile (pytorch/pytorch#176347): the GPU check met it on torch 2.11. Here a Python
    # stand-in that the compiler traces gives the same answer.
    def is_exporting() -> bool:
        return torch.compiler.is_compiling()

    # The compiler answers torch's own state functions from a table it builds once per process:
    # build it before the stand-in replaces is_exporting, so that the stand-in is traced.
    torch.compile(torch.neg, backend="eager", fullgraph=True)(torch.ones(1))
    monkeypatch.setattr(torch.compiler, "is_exporting", is_exporting)
    torch._dynamo.reset()
    layer = cb.CoordConv2d(2, 4, 3, padding=1).eval()
    compiled = torch.compile(layer, backend="eager", fullgraph=True)
    tile = torch.randn(1, 2, 8, 8)
    with torch.no_grad(), coordinate_frame(origin=(4, 0), size=(16, 16), tile=(8, 8)):
        torch.testing.assert_close(compiled(tile), layer(tile))
    torch._dynamo.reset()
