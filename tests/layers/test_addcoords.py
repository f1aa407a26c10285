"""AddCoords and add_coords against a naive float64 reference written from the formula."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coordbias import AddCoords
from coordbias.layers import add_coords
from tests.layers._device import exact_here


def naive_add_coords(x: torch.Tensor, with_r: bool) -> torch.Tensor:
    """Loops over every position: c_i = (2 * p_i - (n_i - 1)) / (n_i - 1), or 0 when n_i = 1."""
    b, _, *spatial = x.shape
    d = len(spatial)
    extra = torch.zeros((b, d + int(with_r), *spatial), dtype=torch.float64)
    for pos in itertools.product(*(range(n) for n in spatial)):
        cs = [0.0 if n == 1 else (2 * p - (n - 1)) / (n - 1) for p, n in zip(pos, spatial)]
        if with_r:
            cs.append(math.sqrt(sum(c * c for c in cs)) / math.sqrt(d))
        for k, c in enumerate(cs):
            extra[(slice(None), k, *pos)] = c
    return torch.cat([x.double(), extra], 1)


@settings(max_examples=40, deadline=None)
@given(
    spatial=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    batch=st.integers(1, 3),
    channels=st.integers(0, 2),
    with_r=st.booleans(),
)
def test_matches_naive_reference(spatial, batch, channels, with_r):
    x = torch.randn(batch, channels, *spatial, dtype=torch.float64)
    out = add_coords(x, with_r)
    ref = naive_add_coords(x, with_r)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)


def test_non_square_orientation():
    # 3 rows, 5 columns: the first coordinate channel runs down the rows, the second along columns.
    out = add_coords(torch.zeros(1, 1, 3, 5))
    rows, cols = out[0, 1], out[0, 2]
    assert rows[:, 0].tolist() == [-1.0, 0.0, 1.0]
    assert torch.equal(rows, rows[:, :1].expand(3, 5))
    assert cols[0].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert torch.equal(cols, cols[:1].expand(3, 5))


def test_side_of_length_one_is_zero_not_nan():
    out = add_coords(torch.zeros(2, 1, 1, 4, 1), with_r=True)
    assert torch.isfinite(out).all()
    assert torch.equal(out[:, 1], torch.zeros(2, 1, 4, 1))
    assert torch.equal(out[:, 3], torch.zeros(2, 1, 4, 1))
    assert out[0, 2, 0, :, 0].tolist() == pytest.approx([-1, -1 / 3, 1 / 3, 1])


@pytest.mark.parametrize("spatial", [(7,), (5, 9), (3, 5, 7)])
def test_radius_zero_at_centre_and_one_in_corners(spatial):
    out = add_coords(torch.zeros(1, 0, *spatial), with_r=True)
    r = out[0, -1]
    assert r[tuple(n // 2 for n in spatial)].item() == 0.0
    for corner in itertools.product(*((0, n - 1) for n in spatial)):
        assert r[corner].item() == pytest.approx(1.0, abs=1e-6)
    assert r.min().item() == 0.0
    assert r.max().item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_dtype_follows_input_and_stays_exact(dtype):
    # 1000 indices do not fit bfloat16's 8-bit mantissa: the ramp must be computed wider.
    x = torch.zeros(1, 1, 3, 1000, dtype=dtype)
    out = add_coords(x)
    assert out.dtype == dtype
    ref = naive_add_coords(x.double(), False)[:, 1:].to(dtype)
    assert torch.equal(out[:, 1:], ref)


def test_coordinates_are_created_on_the_input_device():
    out = add_coords(torch.empty(2, 3, 4, 5, device="meta"), with_r=True)
    assert out.device.type == "meta"
    assert out.shape == (2, 6, 4, 5)


def test_groups_append_coordinates_after_every_group():
    x = torch.randn(2, 6, 4, 5)
    out = add_coords(x, True, groups=3)
    coords = add_coords(torch.zeros(2, 0, 4, 5), True)
    assert out.shape == (2, 6 + 3 * 3, 4, 5)
    for g in range(3):
        block = out[:, g * 5 : (g + 1) * 5]
        assert torch.equal(block[:, :2], x[:, 2 * g : 2 * g + 2])
        assert torch.equal(block[:, 2:], coords)


def test_unbatched_needs_spatial_dims_and_equals_batched():
    x = torch.randn(3, 4, 6)
    out = add_coords(x, True, spatial_dims=2)
    assert torch.equal(out, add_coords(x.unsqueeze(0), True)[0])
    # Without spatial_dims the same tensor reads as a batched 1-D input.
    assert add_coords(x).shape == (3, 5, 6)


def test_batch_zero_and_non_contiguous():
    assert add_coords(torch.zeros(0, 2, 3, 4)).shape == (0, 4, 3, 4)
    x = torch.randn(2, 3, 6, 4).transpose(2, 3)  # (2, 3, 4, 6), not contiguous
    assert not x.is_contiguous()
    torch.testing.assert_close(add_coords(x), add_coords(x.contiguous()), rtol=0, atol=0)


def test_channels_last_input():
    x = torch.randn(2, 3, 5, 6).to(memory_format=torch.channels_last)
    torch.testing.assert_close(add_coords(x, True), add_coords(x.contiguous(), True))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_module_equals_function_and_script():
    module = AddCoords(with_r=True, spatial_dims=2)
    x = torch.randn(2, 3, 5, 7)
    assert torch.equal(module(x), add_coords(x, True))
    scripted = torch.jit.script(module)
    # On a GPU, TorchScript's fuser may round the radius differently (see exact_here).
    same = torch.equal if exact_here() else torch.allclose
    assert same(scripted(x), module(x))
    assert same(scripted(x[0]), module(x[0]))
    assert "with_r=True" in repr(module)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: add_coords(torch.zeros(2, 3)), ValueError, r"1 to 3 spatial dims.*\[2, 3\]"),
        (lambda: add_coords(torch.zeros(1, 1, 2, 2, 2, 2)), ValueError, "1 to 3 spatial dims"),
        (
            lambda: add_coords(torch.zeros(2, 3, 4, 5), spatial_dims=1),
            ValueError,
            "with 1 spatial dims, i.e. 3 or 2 dims",
        ),
        (lambda: add_coords(torch.zeros(1, 3, 4, dtype=torch.int64)), TypeError, "floating"),
        (lambda: add_coords([[1.0]]), TypeError, "torch.Tensor, got list"),
        (lambda: add_coords(torch.zeros(1, 3, 4), with_r=1), TypeError, "with_r must be a bool"),
        (lambda: add_coords(torch.zeros(1, 3, 4), groups=2), ValueError, "3 channels.*groups=2"),
        (lambda: add_coords(torch.zeros(1, 3, 4), groups=0), ValueError, "groups must be"),
        (lambda: AddCoords(spatial_dims=4), ValueError, "spatial_dims must be 1, 2 or 3, got 4"),
        (lambda: AddCoords(spatial_dims="2"), TypeError, "spatial_dims must be an int"),
        (lambda: AddCoords(with_r="yes"), TypeError, "with_r must be a bool"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
