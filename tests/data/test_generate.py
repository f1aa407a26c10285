"""The generator follows the original's rules, and sample i depends on (config, seed, split, i)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coordbias.data import CirclesConfig, generate_batch, uint8_to_float
from coordbias.data.generate import perlin_basis, perlin_noise, sample_uniforms

SMALL = CirclesConfig(image_size=64)


def _perlin_reference(angles: np.ndarray, size: int) -> np.ndarray:
    """Textbook float64 Perlin noise, pixel by pixel, written from the formula."""
    cells = angles.shape[0] - 1
    out = np.zeros((size, size))

    def fade(t):
        return 6 * t**5 - 15 * t**4 + 10 * t**3

    for i in range(size):
        for j in range(size):
            ty, tx = i * cells / size, j * cells / size
            cy, cx = min(int(ty), cells - 1), min(int(tx), cells - 1)
            fy, fx = ty - cy, tx - cx
            total = 0.0
            for dy in (0, 1):
                for dx in (0, 1):
                    theta = angles[cy + dy, cx + dx]
                    dot = math.cos(theta) * (fx - dx) + math.sin(theta) * (fy - dy)
                    wy = fade(fy) if dy else 1 - fade(fy)
                    wx = fade(fx) if dx else 1 - fade(fx)
                    total += wy * wx * dot
            out[i, j] = total
    return out


def test_perlin_field_matches_a_pixel_by_pixel_reference():
    rng = np.random.default_rng(3)
    angles = rng.random((5, 5)) * 2 * math.pi
    ref = _perlin_reference(angles, 32)
    ref = (ref - ref.min()) / (ref.max() - ref.min()) * 0.5
    got = perlin_noise(angles[None], 32, 0.5)[0]
    np.testing.assert_allclose(got, ref, atol=2e-6)


def test_perlin_basis_is_the_quintic_fade_on_a_lattice():
    w, d = perlin_basis(128, 4)
    # Pixel 16 sits half-way in cell 0: fade(0.5) = 0.5 to both lattice lines 0 and 1.
    np.testing.assert_allclose(w[16, :2], [0.5, 0.5], atol=1e-7)
    np.testing.assert_allclose(d[16, :2], [0.25, -0.25], atol=1e-7)
    # Pixels on a lattice line take all weight from that line and have zero offset.
    assert w[32, 1] == 1 and np.all(d[32] == 0)
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-6)


@pytest.mark.parametrize("quantize", [False, True])
def test_background_is_within_zero_and_intensity_and_hits_both(quantize):
    config = CirclesConfig(image_size=64, num_circles=0, quantize=quantize)
    images, masks, _ = generate_batch(config, 0, "train", range(8))
    top = 0.5 if not quantize else 128 / 255  # 0.5 * 255 = 127.5 rounds to 128
    flat = images.reshape(8, 3, -1)
    assert torch.all(flat.amin(-1) == 0)
    assert torch.all(flat.amax(-1) == torch.tensor(top, dtype=torch.float32))
    assert torch.all(masks == 0)


def test_quantised_images_are_multiples_of_one_255th():
    images, _, _ = generate_batch(SMALL, 1, "val", range(4))
    scaled = images * 255
    assert torch.equal(scaled, scaled.round())


def test_uint8_output_converts_to_the_float_output_exactly():
    floats, masks, _ = generate_batch(SMALL, 2, "train", [5, 9])
    bytes_, masks8, _ = generate_batch(SMALL, 2, "train", [5, 9], dtype=torch.uint8)
    assert bytes_.dtype == torch.uint8
    assert torch.equal(uint8_to_float(bytes_), floats)
    assert torch.equal(masks, masks8)


def _check_circle_rules(config, circles, masks):
    s = config.image_size
    lo, hi = config.radius_bounds
    yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    for i in range(len(circles)):
        for k, circle in enumerate(circles.sample(i)):
            (cx, cy), r = circle["center"], circle["radius"]
            assert lo <= r <= hi
            assert r <= cy <= s - 1  # may run past the bottom edge only
            # The whole circle lies inside one half.
            assert cx + r < s // 2 or cx - r >= s - s // 2
            if circle["color"] == "yellow":
                expected = 1 if cx > s / 2 else 2
            else:
                expected = 3 if cy > s / 2 else 0
            assert circle["class"] == expected
            # Pixels where this circle is the topmost one carry its class in the mask.
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            for later in circles.sample(i)[k + 1 :]:
                (lx, ly), lr = later["center"], later["radius"]
                inside &= (xx - lx) ** 2 + (yy - ly) ** 2 > lr * lr
            assert torch.all(masks[i][inside] == expected)
        # Nothing outside every circle is labelled.
        covered = torch.zeros(s, s, dtype=torch.bool)
        for circle in circles.sample(i):
            (cx, cy), r = circle["center"], circle["radius"]
            covered |= (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        assert torch.all(masks[i][~covered] == 0)


def test_class_rules_hold_for_every_circle_of_many_samples():
    config = CirclesConfig()
    _, masks, circles = generate_batch(config, 0, "train", range(150))
    _check_circle_rules(config, circles, masks)
    # Every class occurs, and yellow/red, left/right both occur about half the time.
    colors = circles.color.ravel()
    assert 0.4 < (colors == 0).mean() < 0.6
    assert 0.4 < (circles.cx.ravel() < 64).mean() < 0.6
    assert set(masks.unique().tolist()) == {0, 1, 2, 3}
    radii = circles.radius.ravel()
    assert radii.min() == 10 and radii.max() in (25, 26)


def test_circle_pixels_have_the_circle_colour():
    config = CirclesConfig()
    images, masks, _ = generate_batch(config, 4, "train", range(20))
    yellow = torch.tensor([1.0, 1.0, 0.0]).view(3, 1)
    red = torch.tensor([1.0, 0.0, 0.0]).view(3, 1)
    for i in range(20):
        pixels = images[i].reshape(3, -1)
        flat = masks[i].reshape(-1)
        assert torch.all(pixels[:, (flat == 1) | (flat == 2)] == yellow)
        assert torch.all(pixels[:, flat == 3] == red)


@settings(max_examples=15, deadline=None)
@given(
    size=st.sampled_from([16, 24, 40, 64, 97, 128]),
    seed=st.integers(0, 2**32),
    num_circles=st.integers(0, 5),
)
def test_rules_scale_to_other_sizes(size, seed, num_circles):
    config = CirclesConfig(image_size=size, num_circles=num_circles)
    images, masks, circles = generate_batch(config, seed, "val", range(3))
    assert images.shape == (3, 3, size, size) and masks.shape == (3, size, size)
    assert float(images.min()) >= 0 and float(images.max()) <= 1
    _check_circle_rules(config, circles, masks)


def test_same_bytes_whatever_the_batch_split_and_order():
    whole, masks, _ = generate_batch(SMALL, 7, "train", range(40))
    for size in (1, 3, 16, 17):
        for lo in range(0, 40, size):
            idx = list(range(lo, min(lo + size, 40)))
            part, part_masks, _ = generate_batch(SMALL, 7, "train", idx)
            assert torch.equal(part, whole[idx]) and torch.equal(part_masks, masks[idx])
    order = [31, 2, 2, 17, 0]
    shuffled, _, _ = generate_batch(SMALL, 7, "train", order)
    assert torch.equal(shuffled, whole[order])


def test_float_mode_is_also_independent_of_batching():
    config = CirclesConfig(image_size=64, quantize=False)
    whole, _, _ = generate_batch(config, 0, "val", range(20))
    for i in (0, 7, 19):
        single, _, _ = generate_batch(config, 0, "val", [i])
        assert torch.equal(single[0], whole[i])


def test_splits_and_seeds_never_share_a_sample():
    train, _, _ = generate_batch(SMALL, 0, "train", range(30))
    val, _, _ = generate_batch(SMALL, 0, "val", range(30))
    other, _, _ = generate_batch(SMALL, 1, "train", range(30))
    flat = [t.reshape(30, -1) for t in (train, val, other)]
    for a, b in ((0, 1), (0, 2), (1, 2)):
        # No sample of one set equals any sample of the other.
        same = (flat[a][:, None, :] == flat[b][None, :, :]).all(-1)
        assert not same.any()


def test_uniforms_come_from_the_seed_sequence_of_seed_split_index():
    got = sample_uniforms(5, "val", [11], 7)[0]
    expected = np.random.Generator(np.random.PCG64(np.random.SeedSequence([5, 1, 11]))).random(7)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"split": "test2"}, "split"),
        ({"indices": [-1]}, "indices"),
        ({"indices": [0.5]}, "indices"),
        ({"dtype": torch.float64}, "dtype"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    args = {"config": SMALL, "seed": 0, "split": "train", "indices": [0]} | kwargs
    with pytest.raises(ValueError, match=message):
        generate_batch(**args)


def test_config_must_be_a_circles_config():
    with pytest.raises(TypeError, match="CirclesConfig"):
        generate_batch({"image_size": 64}, 0, "train", [0])
