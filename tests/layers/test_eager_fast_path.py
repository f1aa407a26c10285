"""The eager implementation of the coordinate term: when it runs, that it computes what the traced
one computes, and that its cached features follow the layer and stay out of pickles."""

import contextlib
import copy
import io

import pytest
import torch

import coordbias as cb
from coordbias.layers import _term
from tests.layers._device import autocast_bf16


@pytest.fixture
def general_calls(monkeypatch):
    """Count the calls that reach the traced implementation of the coordinate term."""
    calls = []
    original = _term.traced_add

    def spy(*args, **kwargs):
        calls.append("traced_add")
        return original(*args, **kwargs)

    monkeypatch.setattr(_term, "traced_add", spy)
    return calls


def _cached_grids():
    return [feats.grid for feats in _term._CACHE.values()]


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("grad", [True, False], ids=["train", "no_grad"])
def test_common_inputs_take_the_fast_path(spec, ref, general_calls, batch, grad):
    _term._CACHE.clear()
    layer = ref.make_layer(spec, padding=1)
    x = ref.random_input(spec, batch=batch)
    with torch.set_grad_enabled(grad):
        out = layer(x)
    if grad:
        out.sum().backward()
    assert general_calls == []
    assert [g.shape for g in _cached_grids()] == [(spec.dims, out[0, 0].numel())]


def _other_inputs(spec, ref):
    layer = ref.make_layer(spec, padding=1)
    x = ref.random_input(spec)
    yield "unbatched", layer, x[0], None
    yield "float16", copy.deepcopy(layer).half(), x.half(), None
    yield "bfloat16", copy.deepcopy(layer).bfloat16(), x.bfloat16(), None
    yield "non-contiguous", layer, x.transpose(-1, -2).contiguous().transpose(-1, -2), None
    yield "autocast", layer, x, autocast_bf16()
    if spec.dims > 1:
        fmt = torch.channels_last if spec.dims == 2 else torch.channels_last_3d
        yield (
            "channels_last",
            copy.deepcopy(layer).to(memory_format=fmt),
            x.to(memory_format=fmt),
            None,
        )


def test_every_dtype_layout_and_autocast_takes_the_fast_path(spec, ref, general_calls):
    # Issue 9: half precision, channels_last, autocast and unbatched inputs get the eager
    # implementation too (they took the traced one before), forward and backward.
    for label, layer, x, context in _other_inputs(spec, ref):
        general_calls.clear()
        with context or contextlib.nullcontext():
            out = layer(x)
        out.float().sum().backward()
        assert general_calls == [], f"{label} input should run the eager implementation"
        assert layer.coord_weight.grad is not None, label
        layer.zero_grad()


def test_meta_tensors_take_the_traced_implementation(ref, general_calls):
    spec = ref.SPECS[1]
    layer = ref.make_layer(spec, padding=1, device="meta")
    layer(ref.random_input(spec).to("meta"))
    assert general_calls


def test_functorch_transforms_take_the_general_path(ref, general_calls):
    spec = ref.SPECS[1]
    layer = ref.make_layer(spec, padding=1).double()
    x = ref.random_input(spec, batch=3, dtype=torch.float64)
    params = {k: v.detach() for k, v in layer.named_parameters()}

    def loss(p):
        return torch.func.functional_call(layer, p, (x,)).square().sum()

    grads = torch.func.grad(loss)(params)
    assert general_calls
    expected = torch.autograd.grad(layer(x).square().sum(), list(layer.parameters()))
    for name, g in zip(params, expected):
        torch.testing.assert_close(grads[name], g)
    per_sample = torch.func.vmap(layer)(x.unsqueeze(1))  # (3, 1, C, H, W), unbatched inside
    torch.testing.assert_close(per_sample.squeeze(1), layer(x))


@pytest.mark.parametrize("batch", [0, 1, 3])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("coords", ["center", "output"])
def test_fast_path_equals_general_path(spec, ref, batch, bias, coords):
    torch.manual_seed(5)
    config = {"stride": 2, "padding": 1, "bias": bias, "coords": coords}
    if spec.transposed:
        config["output_padding"] = 1
    layer = ref.make_layer(spec, dtype=torch.float64, **config)
    x = ref.random_input(spec, batch=batch, dtype=torch.float64).requires_grad_()
    params = [x, *layer.parameters()]
    results = {}
    for path in ref.PATHS:
        with ref.use_path(path):
            out = layer(x)
            grad = torch.ones_like(out).cumsum(-1)  # a non-uniform output gradient
            results[path] = (out, *torch.autograd.grad(out, params, grad))
    for fast, general in zip(results["fast"], results["general"]):
        torch.testing.assert_close(fast, general, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("grad", [True, False], ids=["train", "no_grad"])
def test_strided_coord_weight_gives_what_its_contiguous_copy_gives(batch, grad):
    # The functional form takes any coord_weight; the fast path reads it through its strides.
    torch.manual_seed(6)
    x = torch.randn(batch, 3, 9, 11)
    weight, bias = torch.randn(5, 3, 3, 3), torch.randn(5)
    strided = {
        "transposed": torch.randn(2, 5).t(),
        "offset": torch.randn(5, 4)[:, 1:3],
    }
    for name, coord_weight in strided.items():
        assert not coord_weight.is_contiguous(), name
        results = []
        for cw in (coord_weight, coord_weight.contiguous()):
            cw.requires_grad_(grad)
            with torch.set_grad_enabled(grad):
                out = cb.functional.coord_bias_conv2d(x, weight, bias, cw, padding=1)
            if grad:
                out.backward(torch.ones_like(out).cumsum(-1))  # a non-uniform gradient
            results.append((out, cw.grad))
        (out, cw_grad), (expected, expected_grad) = results
        assert torch.equal(out, expected), name
        assert (cw_grad is None) == (not grad), name
        if grad:
            assert torch.equal(cw_grad, expected_grad), name


def test_frozen_parts_get_no_gradient_and_the_rest_is_right(ref):
    spec = ref.SPECS[1]
    layer = ref.make_layer(spec, padding=1, dtype=torch.float64)
    twin = copy.deepcopy(layer)
    layer.coord_weight.requires_grad_(False)
    layer.weight.requires_grad_(False)
    x = ref.random_input(spec, batch=1, dtype=torch.float64)
    layer(x).square().sum().backward()
    assert layer.coord_weight.grad is None and layer.weight.grad is None
    with ref.use_path("general"):
        twin(x).square().sum().backward()
    torch.testing.assert_close(layer.bias.grad, twin.bias.grad)


def test_grid_cache_follows_sizes_and_geometry(ref):
    spec = ref.SPECS[1]
    layer = ref.make_layer(spec, padding=1, dtype=torch.float64)
    for size in (7, 9, 7):
        x = ref.random_input(spec, batch=1, size=size, dtype=torch.float64)
        torch.testing.assert_close(layer(x), ref.reference_forward(layer, spec, x))
    layer.stride = (2, 2)  # changed after construction: the cache must not serve stale coordinates
    x = ref.random_input(spec, batch=2, size=9, dtype=torch.float64)
    torch.testing.assert_close(layer(x), ref.reference_forward(layer, spec, x))
    layer.coords = "output"
    torch.testing.assert_close(layer(x), ref.reference_forward(layer, spec, x))


def test_inference_then_training_on_one_sample(ref):
    spec = ref.SPECS[1]
    layer = ref.make_layer(spec, padding=1)
    x = ref.random_input(spec, batch=1)
    with torch.inference_mode():
        first = layer(x)
    out = layer(x)
    out.sum().backward()  # the grid built under inference_mode must be usable by autograd
    assert torch.equal(out, first)
    assert layer.coord_weight.grad is not None


def test_cache_stays_out_of_pickles_and_copies(ref):
    spec = ref.SPECS[1]
    layer = ref.make_layer(spec, padding=1)
    x = ref.random_input(spec)

    def pickled() -> bytes:
        buffer = io.BytesIO()
        torch.save(layer, buffer)
        return buffer.getvalue()

    before = pickled()
    _term._CACHE.clear()
    out = layer(x)
    assert _cached_grids(), "the call should have cached its features"
    assert len(pickled()) == len(before), "the forward must not add to what is pickled"
    assert not [v for v in vars(copy.deepcopy(layer)).values() if isinstance(v, torch.Tensor)]
    loaded = torch.load(io.BytesIO(pickled()), weights_only=False)
    assert torch.equal(loaded(x), out)
    assert set(layer.state_dict()) == {"weight", "bias", "coord_weight"}


def test_wrong_channels_still_raise_the_clear_error(spec):
    layer = spec.cls(3, 4, 1)
    x = torch.randn(2, 5, *([4] * spec.dims))
    with pytest.raises(ValueError, match=r"input has 5 channels, expected 3"):
        layer(x)


def test_converted_model_uses_the_fast_path_and_matches(general_calls):
    torch.manual_seed(6)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU())
    x = torch.randn(1, 3, 8, 8)
    before = net(x)
    cb.convert(net, kind="coordbias", coord_init="zeros")
    assert torch.equal(net(x), before)
    assert general_calls == []


@pytest.mark.parametrize("batch", [1, 2])
def test_meta_tensors_give_shapes(spec, ref, batch):
    # Shape inference on the meta device (no data, no autocast there) must work on both paths.
    layer = ref.make_layer(spec, padding=1, device="meta")
    x = ref.random_input(spec, batch=batch).to("meta")
    with ref.use_path("general"):
        expected = layer(x).shape
    out = layer(x.requires_grad_())
    assert out.device.type == "meta" and out.shape == expected


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("dual", ["input", "coord_weight", "both"])
def test_forward_mode_ad_matches_the_general_path(ref, batch, dual):
    import torch.autograd.forward_ad as fwAD

    spec = ref.SPECS[1]
    torch.manual_seed(8)
    layer = ref.make_layer(spec, padding=1, dtype=torch.float64)
    x = ref.random_input(spec, batch=batch, dtype=torch.float64)
    x_dot = torch.randn_like(x)
    w_dot = torch.randn_like(layer.coord_weight)
    tangents = {}
    for path in ref.PATHS:
        with ref.use_path(path), fwAD.dual_level():
            inp = fwAD.make_dual(x, x_dot) if dual in ("input", "both") else x
            params = {}
            if dual in ("coord_weight", "both"):
                params["coord_weight"] = fwAD.make_dual(layer.coord_weight.detach(), w_dot)
            out = torch.func.functional_call(layer, params, (inp,))
            tangents[path] = fwAD.unpack_dual(out).tangent
    assert tangents["fast"] is not None
    torch.testing.assert_close(tangents["fast"], tangents["general"], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("reentrant", [False, True], ids=["non-reentrant", "reentrant"])
def test_activation_checkpointing_gives_the_same_gradients(batch, reentrant):
    from torch.utils.checkpoint import checkpoint

    torch.manual_seed(9)
    net = torch.nn.Sequential(
        cb.CoordBiasConv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        cb.CoordBiasConv2d(4, 2, 3, padding=1),
    ).double()
    x = torch.randn(batch, 3, 7, 6, dtype=torch.float64, requires_grad=True)

    def grads(forward):
        net.zero_grad()
        x.grad = None
        forward(x).square().sum().backward()
        return [x.grad.clone()] + [p.grad.clone() for p in net.parameters()]

    plain = grads(net)
    recomputed = grads(lambda t: checkpoint(net, t, use_reentrant=reentrant))
    for a, b in zip(plain, recomputed):
        assert torch.equal(a, b)


def test_a_default_device_keeps_the_fast_path(spec, ref, general_calls):
    # torch.set_default_device works through a torch-function mode; only other modes and tensor
    # subclasses need the traced implementation (every layer took it under any mode before).
    layer = ref.make_layer(spec, padding=1)
    x = ref.random_input(spec, batch=2).requires_grad_()
    expected = layer(x)
    torch.set_default_device(x.device)
    try:
        out = layer(x)
        out.sum().backward()
    finally:
        torch.set_default_device(None)
    assert general_calls == []
    assert torch.equal(out, expected)
