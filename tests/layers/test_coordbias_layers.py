"""CoordBiasConv{1,2,3}d and CoordBiasConvTranspose{1,2,3}d: equivalence, reference, edge cases."""

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

import coordbias as cb
from coordbias.layers import _term
from coordbias.layers import functional as CF
from tests.layers._device import autocast_bf16, exact_here

# torch warns that padding="same" with an even kernel copies the input; that case is tested here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

# --- equivalence with the torch layer when the coordinate weights are zero -------------------

ZERO_CONFIGS = [
    {},
    {"stride": 2, "padding": 1},
    {"padding": 2, "dilation": 2, "bias": False},
    {"groups": 2, "stride": (1, 2, 3)},
]
CONV_ONLY_CONFIGS = [
    {"padding": "same", "kernel_size": 4},
    {"padding": 1, "padding_mode": "reflect"},
    {"padding": 2, "padding_mode": "circular", "stride": 2},
    {"padding": "valid"},
]
TRANSPOSED_ONLY_CONFIGS = [{"stride": 2, "padding": 1, "output_padding": 1}]


def _fit(spec, config):
    """Trim per-axis tuples in a config to the layer's number of dims."""
    return {k: v[: spec.dims] if isinstance(v, tuple) else v for k, v in config.items()}


def _configs(spec):
    extra = TRANSPOSED_ONLY_CONFIGS if spec.transposed else CONV_ONLY_CONFIGS
    return [_fit(spec, c) for c in ZERO_CONFIGS + extra]


@pytest.mark.parametrize("batch", [1, 2])
def test_zero_coord_weight_equals_torch_layer_bitwise(path, spec, ref, batch):
    torch.manual_seed(0)
    for config in _configs(spec):
        layer = ref.make_layer(spec, coord_init="zeros", **config)
        twin = ref.torch_twin(layer, spec)
        x = ref.random_input(spec, batch=batch, size=9).requires_grad_()
        x_twin = x.detach().clone().requires_grad_()
        out, expected = layer(x), twin(x_twin)
        assert torch.equal(out, expected), config
        grad = torch.randn_like(out)
        out.backward(grad)
        expected.backward(grad)
        # The coordinate term passes grad_out through unchanged, so conv's gradients are exact;
        # but for the input gradient of a padded 3-d convolution on a GPU, whose padding's
        # backward adds with atomics in any order (torch.use_deterministic_algorithms lists it).
        if exact_here() or spec.dims < 3 or config.get("padding_mode", "zeros") == "zeros":
            assert torch.equal(x.grad, x_twin.grad), config
        else:
            torch.testing.assert_close(x.grad, x_twin.grad, msg=str(config))
        assert torch.equal(layer.weight.grad, twin.weight.grad), config
        if layer.bias is not None:
            assert torch.equal(layer.bias.grad, twin.bias.grad), config
        # And coord_weight still learns: its gradient is the coordinate-weighted sum of grad.
        assert layer.coord_weight.grad.abs().sum() > 0


def test_coord_weight_changes_the_output(spec, ref):
    layer = ref.make_layer(spec, padding=1)
    x = ref.random_input(spec)
    base = ref.torch_twin(layer, spec)(x)
    assert not torch.allclose(layer(x), base)


# --- against a naive float64 reference ---------------------------------------------------------


@pytest.mark.parametrize("coords", ["center", "output"])
@pytest.mark.parametrize("batch", [1, 2])
def test_matches_reference_on_fixed_configs(path, spec, ref, coords, batch):
    torch.manual_seed(1)
    for config in _configs(spec):
        layer = ref.make_layer(spec, coords=coords, **config).double()
        size = 6 if spec.dims < 3 else 4
        x = ref.random_input(spec, batch=batch, size=size, dtype=torch.float64)
        torch.testing.assert_close(layer(x), ref.reference_forward(layer, spec, x))


@st.composite
def conv2d_cases(draw):
    groups = draw(st.integers(1, 2))
    config = {
        "in_channels": groups * draw(st.integers(1, 2)),
        "out_channels": groups * draw(st.integers(1, 2)),
        "kernel_size": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "dilation": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        "groups": groups,
        "padding_mode": draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"])),
    }
    if draw(st.booleans()):
        config["padding"] = "same"
        config["stride"] = 1
    else:
        config["padding"] = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        config["stride"] = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = []
    for i in range(2):
        k, d = config["kernel_size"][i], config["dilation"][i]
        pad = 0 if config["padding"] == "same" else config["padding"][i]
        # Large enough for one output and, for reflect / circular, for the padding.
        low = max(1, d * (k - 1) + 1 - 2 * pad, pad + 1, d * (k - 1))
        size.append(draw(st.integers(low, low + 4)))
    return config, size, draw(st.sampled_from(["center", "output"]))


def _both_paths_match_reference(ref, layer, spec, in_channels, size):
    # One sample and a batch (the fast path treats them differently), on both module paths.
    for batch in (1, 2):
        x = torch.randn(batch, in_channels, *size, dtype=torch.float64)
        expected = ref.reference_forward(layer, spec, x)
        for path in ref.PATHS:
            with ref.use_path(path):
                torch.testing.assert_close(layer(x), expected, msg=lambda m, p=path: f"{p}: {m}")


@settings(max_examples=25, deadline=None)
@given(case=conv2d_cases())
def test_conv2d_matches_reference_on_random_configs(ref, case):
    config, size, coords = case
    spec = ref.SPECS[1]
    layer = cb.CoordBiasConv2d(**config, coords=coords, dtype=torch.float64)
    _both_paths_match_reference(ref, layer, spec, config["in_channels"], size)


@st.composite
def transpose2d_cases(draw):
    groups = draw(st.integers(1, 2))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    config = {
        "in_channels": groups * draw(st.integers(1, 2)),
        "out_channels": groups * draw(st.integers(1, 2)),
        "kernel_size": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "stride": stride,
        "padding": (draw(st.integers(0, 1)), draw(st.integers(0, 1))),
        "output_padding": tuple(
            draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)
        ),
        "dilation": dilation,
        "groups": groups,
    }
    size = [draw(st.integers(1, 5)), draw(st.integers(1, 5))]
    return config, size, draw(st.sampled_from(["center", "output"]))


@settings(max_examples=20, deadline=None)
@given(case=transpose2d_cases())
def test_conv_transpose2d_matches_reference_on_random_configs(ref, case):
    config, size, coords = case
    spec = ref.SPECS[4]
    layer = cb.CoordBiasConvTranspose2d(**config, coords=coords, dtype=torch.float64)
    out_size = [
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, s, p, d, k, op in zip(
            size,
            config["stride"],
            config["padding"],
            config["dilation"],
            config["kernel_size"],
            config["output_padding"],
        )
    ]
    assume(min(out_size) >= 1)  # torch rejects it as well; hypothesis draws another
    _both_paths_match_reference(ref, layer, spec, config["in_channels"], size)


def test_gradcheck_float64(spec, ref):
    torch.manual_seed(2)
    config = {"stride": 2, "padding": 1}
    if spec.transposed:
        config["output_padding"] = 1
    layer = ref.make_layer(spec, 1, 2, 2, dtype=torch.float64, **config)
    x = ref.random_input(spec, batch=2, channels=1, size=3 - (spec.dims == 3), dtype=torch.float64)
    fn = getattr(CF, f"coord_bias_conv{'_transpose' if spec.transposed else ''}{spec.dims}d")
    extra = (2, 1, 1) if spec.transposed else (2, 1)  # stride, padding[, output_padding]

    def f(inp, weight, bias, coord_weight):
        return fn(inp, weight, bias, coord_weight, *extra)

    inputs = tuple(
        t.detach().clone().requires_grad_()
        for t in (x, layer.weight, layer.bias, layer.coord_weight)
    )
    assert torch.autograd.gradcheck(f, inputs, fast_mode=spec.dims == 3)


@pytest.mark.parametrize("batch", [1, 2])
def test_module_gradcheck_float64(path, spec, ref, batch):
    # The module's own backward on each path (the fast path has a hand-written one for B = 1).
    torch.manual_seed(4)
    config = {"stride": 2, "padding": 1}
    if spec.transposed:
        config["output_padding"] = 1
    layer = ref.make_layer(spec, 1, 2, 2, dtype=torch.float64, **config)
    size = 3 - (spec.dims == 3)
    x = ref.random_input(spec, batch=batch, channels=1, size=size, dtype=torch.float64)
    names = ("weight", "bias", "coord_weight")

    def f(inp, *values):
        # functional_call swaps the parameters in; no functorch transform is active.
        return torch.func.functional_call(layer, dict(zip(names, values)), (inp,))

    params = [getattr(layer, n).detach().clone().requires_grad_() for n in names]
    inputs = (x.requires_grad_(), *params)
    assert torch.autograd.gradcheck(f, inputs, fast_mode=spec.dims == 3)
    assert torch.autograd.gradgradcheck(f, inputs, fast_mode=True)


# --- dtypes, layouts and odd shapes ------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16], ids=str
)
@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels_last"])
def test_dtypes_and_channels_last(path, spec, ref, dtype, channels_last):
    torch.manual_seed(3)
    layer = ref.make_layer(spec, padding=1, stride=2)
    with torch.no_grad():
        layer.coord_weight.mul_(10)  # make the coordinate term dominate, so errors show
    x = ref.random_input(spec, size=8 if spec.dims < 3 else 4)  # the 3-D reference is a slow loop
    expected = ref.reference_forward(layer, spec, x)
    layer = layer.to(dtype)
    x = x.to(dtype)
    if channels_last and spec.dims == 1:
        # torch has no channels_last format for (B, C, L); the same channels-innermost strides
        # come from a transposed copy, which exercises the layer's channels-last path too.
        x = x.transpose(1, 2).contiguous().transpose(1, 2)
        assert x.stride(1) == 1
    elif channels_last:
        fmt = torch.channels_last if spec.dims == 2 else torch.channels_last_3d
        layer = layer.to(memory_format=fmt)
        x = x.contiguous(memory_format=fmt)
    out = layer(x)
    assert out.dtype == dtype
    if channels_last and spec.dims > 1:
        # The in-place add keeps whatever layout torch's conv chose for this dtype.
        twin_out = ref.torch_twin(layer, spec).to(memory_format=fmt)(x)
        assert out.stride() == twin_out.stride()
    torch.testing.assert_close(out.double(), expected, **ref.TOLERANCES[dtype])


def test_autocast_casts_the_coordinate_term(ref):
    spec = ref.SPECS[1]
    layer = ref.make_layer(spec, padding=1)
    x = ref.random_input(spec)
    with autocast_bf16():
        out = layer(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(
        out.double(), ref.reference_forward(layer, spec, x), **ref.TOLERANCES[torch.bfloat16]
    )
    out.float().sum().backward()
    assert layer.coord_weight.grad.dtype == torch.float32


@pytest.mark.parametrize("coords", ["center", "output"])
def test_size_one_sides_give_coordinate_zero(path, spec, coords):
    layer = spec.cls(1, 2, 1, coords=coords)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
        layer.coord_weight.fill_(1.0)
    x = torch.randn(3, 1, *([1] * spec.dims))
    out = layer(x)
    assert not out.isnan().any()
    assert torch.equal(out, torch.zeros_like(out))


def test_non_square_keeps_height_in_column_zero(path):
    layer = cb.CoordBiasConv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
        layer.coord_weight.copy_(torch.tensor([[1.0, 0.0]]))  # height only
    out = layer(torch.zeros(1, 1, 3, 5))[0, 0]
    expected_rows = torch.tensor([-1.0, 0.0, 1.0])
    torch.testing.assert_close(out, expected_rows[:, None].expand(3, 5))
    with torch.no_grad():
        layer.coord_weight.copy_(torch.tensor([[0.0, 1.0]]))  # width only
    out = layer(torch.zeros(1, 1, 3, 5))[0, 0]
    torch.testing.assert_close(out, torch.linspace(-1, 1, 5)[None, :].expand(3, 5))


def test_batch_zero(path, spec, ref):
    layer = ref.make_layer(spec, padding=1)
    x = ref.random_input(spec, batch=0).requires_grad_()
    out = layer(x)
    assert out.shape[0] == 0
    out.sum().backward()
    assert torch.equal(layer.coord_weight.grad, torch.zeros_like(layer.coord_weight))


def test_non_contiguous_and_view_inputs(spec, ref):
    layer = ref.make_layer(spec, padding=1)
    base = torch.randn(2, 8, *([9] * spec.dims), requires_grad=True)
    view = base[:, ::2, ..., 1:]  # strided channel and spatial view of a tensor with grad
    assert not view.is_contiguous()
    out = layer(view)
    copy = view.detach().contiguous().requires_grad_()
    torch.testing.assert_close(out, layer(copy))
    out.sum().backward()
    layer(copy).sum().backward()
    torch.testing.assert_close(base.grad[:, ::2, ..., 1:], copy.grad)


def test_unbatched_input(spec, ref):
    layer = ref.make_layer(spec, padding=1)
    x = ref.random_input(spec, batch=1)
    torch.testing.assert_close(layer(x[0]), layer(x)[0])
    torch.testing.assert_close(
        layer(x[0]).double(),
        ref.reference_forward(layer, spec, x[0]),
        **ref.TOLERANCES[torch.float32],
    )


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, "same"], ids=["pad1", "same"])
@pytest.mark.parametrize("kernel_size", [2, 3, 4])
def test_padding_modes_and_same_with_even_kernels(path, ref, padding_mode, padding, kernel_size):
    spec = ref.SPECS[1]
    layer = cb.CoordBiasConv2d(
        3, 4, kernel_size, padding=padding, padding_mode=padding_mode, dtype=torch.float64
    )
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    out = layer(x)
    if padding == "same":
        assert out.shape[-2:] == x.shape[-2:]
    torch.testing.assert_close(out, ref.reference_forward(layer, spec, x))


def test_same_padding_with_even_kernel_puts_the_extra_pad_on_the_right():
    # k = 2: torch pads total 1, left 0; the kernel centre of output o sits at o + 0.5.
    layer = cb.CoordBiasConv1d(1, 1, 2, padding="same", bias=False)
    with torch.no_grad():
        layer.weight.zero_()
        layer.coord_weight.fill_(1.0)
    out = layer(torch.zeros(1, 1, 5))[0, 0]
    expected = torch.tensor([(o + 0.5 - 2) / 2 for o in range(5)])
    torch.testing.assert_close(out, expected)


def test_output_convention_reproduces_the_original_formula():
    # The original: out = conv + bias + xy[f, 0] * X + xy[f, 1] * Y on the output grid, with
    # X[i, j] = j / (W_out - 1), Y[i, j] = i / (H_out - 1); coord_weight is xy with columns swapped.
    torch.manual_seed(4)
    layer = cb.CoordBiasConv2d(3, 5, 3, stride=2, padding=1, coords="output")
    xy = torch.randn(5, 2)
    with torch.no_grad():
        layer.coord_weight.copy_(xy.flip(1))
    x = torch.randn(2, 3, 11, 8)
    base = nn.functional.conv2d(x, layer.weight, layer.bias, 2, 1)
    h_out, w_out = base.shape[-2:]
    rows = torch.arange(h_out, dtype=torch.float32)[:, None].expand(h_out, w_out) / (h_out - 1)
    cols = torch.arange(w_out, dtype=torch.float32)[None, :].expand(h_out, w_out) / (w_out - 1)
    expected = base + xy[:, 0, None, None] * cols + xy[:, 1, None, None] * rows
    torch.testing.assert_close(layer(x), expected)


# --- initialisation ----------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_uniform_init_is_bounded_like_the_bias(spec, bias):
    torch.manual_seed(5)
    layer = spec.cls(8, 64, 3, bias=bias, groups=2)
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(layer.weight)
    bound = 1 / math.sqrt(fan_in)
    cw = layer.coord_weight
    assert cw.shape == (64, spec.dims)
    assert cw.abs().max() <= bound
    # 64 * dims draws from U(-b, b): spread over most of the range, never all zero.
    assert cw.abs().max() > 0.5 * bound
    assert cw.std() > 0.3 * bound


def test_zeros_init_and_reset_parameters(spec):
    layer = spec.cls(2, 3, 3, coord_init="zeros")
    assert torch.equal(layer.coord_weight, torch.zeros(3, spec.dims))
    uniform = spec.cls(2, 3, 3)
    before = uniform.coord_weight.detach().clone()
    uniform.reset_parameters()
    assert not torch.equal(uniform.coord_weight, before)


def test_init_is_reproducible_under_a_seed(spec):
    torch.manual_seed(6)
    a = spec.cls(2, 3, 3)
    torch.manual_seed(6)
    b = spec.cls(2, 3, 3)
    for name, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[name]), name


def test_repr_and_arguments_match_torch(spec):
    layer = spec.cls(2, 4, 3, coords="output", coord_init="zeros")
    text = repr(layer)
    assert "coords='output'" in text and "coord_init='zeros'" in text
    assert isinstance(layer, spec.torch_cls)
    meta = spec.cls(2, 4, 3, device="meta", dtype=torch.float64)
    assert meta.coord_weight.device.type == "meta"
    assert meta.coord_weight.dtype == torch.float64


# --- module equals functional, memory ---------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 3])
def test_module_equals_functional(spec, ref, path, batch):
    config = {"stride": 2, "padding": 1, "groups": 2}
    layer = ref.make_layer(spec, **config)
    x = ref.random_input(spec, batch=batch)
    if spec.transposed:
        fn = getattr(CF, f"coord_bias_conv_transpose{spec.dims}d")
        out = fn(x, layer.weight, layer.bias, layer.coord_weight, 2, 1, 0, 2, 1, "center")
    else:
        fn = getattr(CF, f"coord_bias_conv{spec.dims}d")
        out = fn(x, layer.weight, layer.bias, layer.coord_weight, 2, 1, 1, 2, "center")
    if path == "general":  # the module's general path is the functional itself
        assert torch.equal(layer(x), out)
    else:  # the fast path rounds the coordinate term its own way (one product)
        torch.testing.assert_close(layer(x), out, rtol=1e-6, atol=1e-6)


def test_transposed_output_size_argument(path, ref):
    layer = cb.CoordBiasConvTranspose2d(2, 3, 3, stride=2, padding=1, dtype=torch.float64)
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64)
    out = layer(x, output_size=[8, 10])
    assert out.shape[-2:] == (8, 10)
    twin = ref.torch_twin(layer, ref.SPECS[4])
    coords = [CF.output_coords(8, dtype=torch.float64), CF.output_coords(10, dtype=torch.float64)]
    expected = CF.coord_bias(twin(x, output_size=[8, 10]), layer.coord_weight, coords)
    torch.testing.assert_close(out, expected)


def _saved_numel(fn):
    saved = []

    def pack(t):
        saved.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return sum(saved), out


@pytest.mark.parametrize("batch", [1, 8])
def test_no_output_sized_tensor_saved_for_backward(ref, path, batch):
    torch.manual_seed(7)
    layer = cb.CoordBiasConv2d(16, 16, 3, padding=1)
    twin = ref.torch_twin(layer, ref.SPECS[1])
    x = torch.randn(batch, 16, 16, 16, requires_grad=True)
    ours, _ = _saved_numel(lambda: layer(x))
    theirs, _ = _saved_numel(lambda: twin(x))
    # The general path keeps per-axis vectors (H + W values), the fast path at most the
    # (2, H * W) grid; one (C, H, W) map would be out.numel() / batch.
    assert ours - theirs <= 2 * 16 * 16 + layer.coord_weight.numel()


# --- bad input ---------------------------------------------------------------------------------


def test_unknown_options_raise_clear_errors(spec):
    with pytest.raises(ValueError, match=r"coords must be one of .*got 'centre'"):
        spec.cls(2, 2, 3, coords="centre")
    with pytest.raises(ValueError, match=r"coord_init must be one of .*got 'normal'"):
        spec.cls(2, 2, 3, coord_init="normal")


def test_channels_not_divisible_by_groups(spec):
    with pytest.raises(ValueError, match=r"in_channels=3 is not divisible by groups=2"):
        spec.cls(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"out_channels=5 is not divisible by groups=2"):
        spec.cls(4, 5, 3, groups=2)


def test_wrong_rank_and_channels_raise_clear_errors(spec):
    layer = spec.cls(3, 4, 1)
    with pytest.raises(ValueError, match=rf"input must be {spec.dims + 2}-D .* got {spec.dims}-D"):
        layer(torch.zeros(*([4] * spec.dims)))
    with pytest.raises(ValueError, match=r"input has 5 channels, expected 3"):
        layer(torch.zeros(2, 5, *([4] * spec.dims)))


def test_functional_rejects_bad_arguments():
    x = torch.zeros(1, 2, 5, 5)
    w = torch.zeros(3, 2, 3, 3)
    with pytest.raises(ValueError, match=r"coords must be 'center' or 'output', got 'middle'"):
        CF.coord_bias_conv2d(x, w, None, torch.zeros(3, 2), coords="middle")
    with pytest.raises(ValueError, match=r"coord_weight must have shape \(out_channels, 2\)"):
        CF.coord_bias_conv2d(x, w, None, torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"stride must be an int or 2 ints, got \[1, 1, 1\]"):
        CF.coord_bias_conv2d(x, w, None, torch.zeros(3, 2), stride=[1, 1, 1])
    with pytest.raises(ValueError, match=r"padding_mode must be .* got 'mirror'"):
        CF.coord_bias_conv2d(x, w, None, torch.zeros(3, 2), padding_mode="mirror")
    with pytest.raises(ValueError, match=r"padding must be 'same', 'valid' or ints, got 'full'"):
        CF.coord_bias_conv2d(x, w, None, torch.zeros(3, 2), padding="full")


@pytest.mark.parametrize("batch", [1, 2])
def test_cached_coordinates_work_across_modes(ref, path, batch):
    # Eager calls reuse the features of a geometry from the one cache (coordbias.layers._term);
    # they must stay ordinary tensors that autograd may save, whatever mode first built them, and
    # tracing must not leave fakes. The traced implementation caches nothing.
    _term._CACHE.clear()
    layer = cb.CoordBiasConv2d(3, 4, 3, padding=1)
    x = torch.randn(batch, 3, 11, 13)
    with torch.inference_mode():
        first = layer(x)
    torch.export.export(layer, (x,))  # fake tensors, static sizes
    out = layer(x)
    out.sum().backward()  # fails if an inference or fake tensor was cached and saved
    assert torch.equal(out, first)
    cached = [t for feats in _term._CACHE.values() for t in feats if isinstance(t, torch.Tensor)]
    if path == "general":
        assert not cached, "the traced implementation must not cache"
    else:
        assert cached, "eager calls should fill the cache"
        assert all(type(t) is torch.Tensor and not t.is_inference() for t in cached)
    expected = ref.reference_forward(layer, ref.SPECS[1], x)
    torch.testing.assert_close(out.double(), expected, **ref.TOLERANCES[torch.float32])
