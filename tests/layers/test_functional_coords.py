"""The functional API: per-axis coordinates, the grid and the coordinate term."""

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import coordbias.functional as public
from coordbias.layers import functional as CF


def test_public_module_re_exports_the_layers_functional():
    for name in CF.__all__:
        assert getattr(public, name) is getattr(CF, name)
        assert name in public.__all__


@settings(max_examples=60, deadline=None)
@given(
    size_in=st.integers(1, 40),
    k=st.integers(1, 5),
    stride=st.integers(1, 4),
    pad=st.integers(0, 3),
    dilation=st.integers(1, 3),
)
def test_center_coords_match_the_formula(ref, size_in, k, stride, pad, dilation):
    size_out = (size_in + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    assume(size_out >= 1)
    got = CF.center_coords(size_in, size_out, k, stride, pad, dilation, dtype=torch.float64)
    expected = ref.conv_positions(size_in, size_out, k, stride, pad, dilation)
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))


def test_center_coords_follow_the_conv_geometry():
    # k=3, padding=1, stride=1: the kernel centres are the input pixels themselves.
    torch.testing.assert_close(CF.center_coords(5, 5, 3, 1, 1, 1), torch.linspace(-1, 1, 5))
    # No padding, k=3: the first centre is pixel 1 of 5, the last pixel 3.
    torch.testing.assert_close(CF.center_coords(5, 3, 3), torch.tensor([-0.5, 0.0, 0.5]))
    # Padding puts centres outside [-1, 1]: k=1 with padding 1 starts in the padding.
    got = CF.center_coords(3, 5, 1, 1, 1, 1)
    torch.testing.assert_close(got, torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0]))
    # Stride 2, k=2, no padding: centres at 0.5, 2.5 of 4 pixels (0..3).
    torch.testing.assert_close(CF.center_coords(4, 2, 2, 2), torch.tensor([-2 / 3, 2 / 3]))
    # Dilation widens the kernel: k=2, d=3 covers pixels 0 and 3, centre 1.5 of 0..3.
    torch.testing.assert_close(CF.center_coords(4, 1, 2, 1, 0, 3), torch.tensor([0.0]))


def test_side_of_one_is_zero_not_nan():
    assert torch.equal(CF.center_coords(1, 1, 1), torch.zeros(1))
    assert torch.equal(CF.output_coords(1), torch.zeros(1))
    assert torch.equal(CF.output_coords(1, centered=False), torch.zeros(1))


@pytest.mark.parametrize("n", [2, 3, 7, 128])
def test_output_coords_end_points(n):
    centered = CF.output_coords(n)
    assert centered[0] == -1 and centered[-1] == 1
    torch.testing.assert_close(centered, torch.linspace(-1, 1, n))
    plain = CF.output_coords(n, centered=False)
    assert plain[0] == 0 and plain[-1] == 1
    torch.testing.assert_close(plain, torch.arange(n) / (n - 1))


def test_coordinates_dtype_and_exact_integers():
    assert CF.center_coords(9, 9, 3, 1, 1, 1, dtype=torch.float64).dtype == torch.float64
    # Half-precision requests still compute in float32: 4097 pixels are exact there.
    coords = CF.output_coords(4097, dtype=torch.float16)
    assert coords.dtype == torch.float32
    assert coords[2048] == 0


def test_coordinate_grid_varies_along_its_own_axis_only():
    axes = [torch.arange(2.0), torch.arange(3.0) * 10, torch.arange(4.0) * 100]
    grid = CF.coordinate_grid(axes)
    assert grid.shape == (3, 2, 3, 4)
    for i, axis in enumerate(axes):
        shape = [1, 1, 1]
        shape[i] = -1
        torch.testing.assert_close(grid[i], axis.reshape(shape).expand(2, 3, 4))


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("channels_last", [False, True])
def test_coord_bias_adds_the_plane(batched, channels_last):
    torch.manual_seed(0)
    out = torch.randn(3, 4, 5, 6)
    if channels_last:
        out = out.contiguous(memory_format=torch.channels_last)
    if not batched:
        out = out[0]
    w = torch.randn(4, 2)
    ys, xs = CF.output_coords(5), CF.output_coords(6)
    expected = out.clone()
    for f in range(4):
        for h in range(5):
            for x in range(6):
                expected[..., f, h, x] += w[f, 0] * ys[h] + w[f, 1] * xs[x]
    got = CF.coord_bias(out, w, [ys, xs])
    torch.testing.assert_close(got, expected)
    assert got.stride() == out.stride()
    assert not torch.equal(got, out), "inplace=False must leave the input alone"
    same = CF.coord_bias(out, w, [ys, xs], inplace=True)
    assert same is out
    torch.testing.assert_close(out, expected)


def test_coord_bias_gradient_is_the_coordinate_weighted_sum():
    torch.manual_seed(1)
    out = torch.randn(2, 3, 4, 5)
    w = torch.zeros(3, 2, requires_grad=True)
    ys, xs = CF.output_coords(4), CF.output_coords(5)
    grad = torch.randn(2, 3, 4, 5)
    CF.coord_bias(out, w, [ys, xs]).backward(grad)
    expected = torch.stack(
        [(grad * ys[:, None]).sum((0, 2, 3)), (grad * xs[None, :]).sum((0, 2, 3))], dim=1
    )
    torch.testing.assert_close(w.grad, expected)


def test_coord_bias_rejects_mismatched_shapes():
    out = torch.zeros(2, 3, 4, 5)
    axes = [CF.output_coords(4), CF.output_coords(5)]
    with pytest.raises(ValueError, match=r"coord_weight must have shape \(out_channels, 2\)"):
        CF.coord_bias(out, torch.zeros(3, 1), axes)
    with pytest.raises(ValueError, match=r"out must have shape \(B, 4, \*spatial\)"):
        CF.coord_bias(out, torch.zeros(4, 2), axes)
    with pytest.raises(ValueError, match=r"axes\[1\] must have shape \(5,\), got \[6\]"):
        CF.coord_bias(out, torch.zeros(3, 2), [axes[0], CF.output_coords(6)])


def test_functional_convs_match_torch_at_zero():
    torch.manual_seed(2)
    x = torch.randn(2, 4, 9, 8)
    w = torch.randn(6, 2, 3, 3)
    b = torch.randn(6)
    zero = torch.zeros(6, 2)
    got = CF.coord_bias_conv2d(x, w, b, zero, (2, 1), "valid", 2, 2)
    assert torch.equal(got, torch.nn.functional.conv2d(x, w, b, (2, 1), "valid", 2, 2))
    wt = torch.randn(4, 3, 3, 3)
    got = CF.coord_bias_conv_transpose2d(x, wt, b, zero, 2, 1, 1, 2, 1)
    assert torch.equal(got, torch.nn.functional.conv_transpose2d(x, wt, b, 2, 1, 1, 2, 1))
