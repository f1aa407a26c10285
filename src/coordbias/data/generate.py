"""Vectorised generator of the circles data set: Perlin background, circles, labels.

Sample ``i`` of a split is a pure function of ``(config, seed, split, i)``: its random numbers
come from ``numpy.random.SeedSequence([seed, split_id, i])`` alone, and every later step treats
the samples of a batch independently, so batch size, order and DataLoader workers do not change a
single byte.

The Perlin field on a fixed lattice is linear in the gradient vectors. With ``W`` the
``(S, L+1)`` matrix of quintic-fade weights of each pixel towards each lattice line and ``D`` the
same weights times the pixel's offset from that line, a channel with gradients ``(Gx, Gy)``
(each ``(L+1, L+1)``, rows = y) is::

    noise = W @ Gx @ D.T + D @ Gy @ W.T

so a batch of N samples x 3 channels costs two small matrix products and one ``(S, 2(L+1))``
product, then a min-max per channel. Circles are drawn in order by one masked copy per circle
inside its bounding box (a cached disk stencil per radius), never a loop over pixels.

The work is numpy on one thread, in chunks of up to 16 samples that stay in cache, with work
arrays reused per thread: it runs inside DataLoader workers or beside a training step, where a
second intra-op thread only adds waiting.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from coordbias.data.config import CirclesConfig, split_id

__all__ = ["Circles", "generate_batch", "perlin_basis", "perlin_noise", "sample_uniforms"]

# Uniform draws per circle: colour, radius, side, centre x, centre y.
_PER_CIRCLE = 5
YELLOW, RED = 0, 1
# Samples generated together; small enough for the working set to stay in cache.
_CHUNK = 16
_CHUNK_PIXELS = 2**20  # at most 16 samples and about 2**20 pixels per chunk


@dataclass(frozen=True)
class Circles:
    """The circles of a batch, in drawing order (later ones cover earlier ones).

    Attributes:
        cx: centre column (x) of each circle, int64 ``(N, n)``.
        cy: centre row (y, growing downwards) of each circle, int64 ``(N, n)``.
        radius: radius in pixels, int64 ``(N, n)``.
        color: 0 yellow, 1 red, int64 ``(N, n)``.
        label: class index of the circle's pixels, int64 ``(N, n)``.
    """

    cx: np.ndarray
    cy: np.ndarray
    radius: np.ndarray
    color: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return int(self.cx.shape[0])

    def __getitem__(self, rows: slice) -> Circles:
        """The circles of batch entries ``rows`` (a slice)."""
        return Circles(
            self.cx[rows], self.cy[rows], self.radius[rows], self.color[rows], self.label[rows]
        )

    def sample(self, i: int) -> list[dict[str, object]]:
        """The circles of batch entry ``i`` as JSON-friendly dicts, in drawing order."""
        names = ("yellow", "red")
        return [
            {
                "center": [int(self.cx[i, k]), int(self.cy[i, k])],
                "radius": int(self.radius[i, k]),
                "color": names[int(self.color[i, k])],
                "class": int(self.label[i, k]),
            }
            for k in range(self.cx.shape[1])
        ]


def _fade(t: np.ndarray) -> np.ndarray:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


@functools.lru_cache(maxsize=16)
def perlin_basis(image_size: int, lattice_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Interpolation matrices of a Perlin field with ``lattice_cells`` cells per side.

    Pixel p sits at lattice coordinate ``t = p * L / S``, in cell ``c = floor(t)`` at offset
    ``f = t - c``; it takes weight ``1 - fade(f)`` from line c and ``fade(f)`` from line c + 1, with
    the quintic fade ``6f^5 - 15f^4 + 10f^3``.

    Args:
        image_size: side S in pixels.
        lattice_cells: cells per side L.

    Returns:
        ``(W, D)``, float32 ``(S, L+1)`` each (read-only): the fade weights, and the weights times
        the offset ``t - line`` of the pixel from each lattice line.

    Example:
        >>> w, d = perlin_basis(8, 2)
        >>> w.shape, bool(np.allclose(w.sum(1), 1.0))
        ((8, 3), True)
    """
    s, cells = image_size, lattice_cells
    t = np.arange(s, dtype=np.float64) * cells / s
    cell = np.minimum(np.floor(t).astype(np.int64), cells - 1)
    f = t - cell
    rows = np.arange(s)
    w = np.zeros((s, cells + 1))
    d = np.zeros((s, cells + 1))
    w[rows, cell] = 1.0 - _fade(f)
    w[rows, cell + 1] = _fade(f)
    d[rows, cell] = w[rows, cell] * f
    d[rows, cell + 1] = w[rows, cell + 1] * (f - 1.0)
    out = w.astype(np.float32), d.astype(np.float32)
    for array in out:
        array.flags.writeable = False
    return out


@functools.lru_cache(maxsize=16)
def _left_basis(image_size: int, lattice_cells: int) -> np.ndarray:
    w, d = perlin_basis(image_size, lattice_cells)
    left = np.ascontiguousarray(np.concatenate([w, d], axis=1))  # (S, 2(L+1))
    left.flags.writeable = False
    return left


def perlin_noise(
    angles: np.ndarray, image_size: int, intensity: float = 0.5, out: np.ndarray | None = None
) -> np.ndarray:
    """Perlin noise fields from gradient angles, each min-max scaled to ``[0, intensity]``.

    Args:
        angles: gradient angles in radians, ``(B, L+1, L+1)`` (rows = lattice y).
        image_size: side S of the output.
        intensity: the maximum of every field (its minimum is 0).
        out: optional float32 ``(B, S, S)`` C-contiguous array to write into.

    Returns:
        float32 ``(B, S, S)`` (``out`` when given); each field's minimum is exactly 0 and its
        maximum exactly ``intensity`` (a constant field is all 0).

    Example:
        >>> field = perlin_noise(np.random.default_rng(0).random((2, 5, 5)) * 6.28, 32)
        >>> field.shape, float(field[0].min()), float(field[0].max())
        ((2, 32, 32), 0.0, 0.5)
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim != 3 or angles.shape[1] != angles.shape[2] or angles.shape[1] < 2:
        raise ValueError(f"angles must have shape (B, L+1, L+1) with L >= 1, got {angles.shape}")
    cells = angles.shape[1] - 1
    w, d = perlin_basis(image_size, cells)
    gx = np.cos(angles).astype(np.float32)
    gy = np.sin(angles).astype(np.float32)
    # (B, L+1, S) each: the x-direction interpolation of every lattice row.
    right = np.concatenate([gx @ d.T, gy @ w.T], axis=1)  # (B, 2(L+1), S)
    field = np.matmul(_left_basis(image_size, cells), right, out=out)  # (B, S, S)
    flat = field.reshape(field.shape[0], -1)
    low = flat.min(axis=1).reshape(-1, 1, 1)
    span = flat.max(axis=1).reshape(-1, 1, 1) - low
    np.maximum(span, np.finfo(np.float32).tiny, out=span)
    field -= low
    field /= span
    field *= np.float32(intensity)
    return field


def sample_uniforms(seed: int, split: str, indices: Sequence[int], count: int) -> np.ndarray:
    """``count`` uniforms in [0, 1) for each sample, from ``SeedSequence([seed, split_id, i])``.

    Args:
        seed: non-negative int, the data set seed.
        split: ``"train"``, ``"val"`` or ``"test"``.
        indices: sample indices, non-negative ints.
        count: uniforms per sample.

    Returns:
        float64 ``(len(indices), count)``; row k depends on ``indices[k]`` alone.

    Example:
        >>> a = sample_uniforms(0, "train", [3, 5], 4)
        >>> bool((a[1] == sample_uniforms(0, "train", [5], 4)[0]).all())
        True
    """
    _check_seed(seed)
    sid = split_id(split)
    out = np.empty((len(indices), count), dtype=np.float64)
    for row, index in enumerate(indices):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, sid, index])))
        out[row] = rng.random(count)
    return out


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _check_indices(indices: Sequence[int]) -> list[int]:
    out = []
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(f"sample indices must be non-negative ints, got {index!r}")
        out.append(int(index))
    return out


def _circles_from_uniforms(config: CirclesConfig, u: np.ndarray) -> Circles:
    s = config.image_size
    n = config.num_circles
    shape = (u.shape[0], n)
    if n == 0:
        empty = np.zeros(shape, dtype=np.int64)
        return Circles(empty, empty, empty, empty, empty)
    u = u[:, : n * _PER_CIRCLE].reshape(u.shape[0], n, _PER_CIRCLE)
    yellow = u[..., 0] < config.p_yellow
    radius = np.floor(s * config.radius_min + s * config.radius_span * u[..., 1]).astype(np.int64)
    left = u[..., 2] < config.p_left
    half = s // 2
    offset = np.floor(radius + u[..., 3] * (half - 2 * radius)).astype(np.int64)
    cx = np.where(left, offset, (s - half) + offset)
    cy = np.floor(radius + u[..., 4] * (s - radius)).astype(np.int64)
    label = np.where(
        yellow,
        np.where(cx > s / 2, config.class_yellow_right, config.class_yellow_left),
        np.where(cy > s / 2, config.class_red_bottom, config.class_red_top),
    ).astype(np.int64)
    color = np.where(yellow, YELLOW, RED).astype(np.int64)
    return Circles(cx=cx, cy=cy, radius=radius, color=color, label=label)


def _color_array(rgb: tuple[float, float, float], quantize: bool) -> np.ndarray:
    value = np.asarray(rgb, dtype=np.float64)
    if quantize:
        return np.rint(value * 255).astype(np.uint8)
    return value.astype(np.float32)


@functools.lru_cache(maxsize=16)
def _colors(config: CirclesConfig) -> np.ndarray:
    """``(2, 3)`` colours of yellow and red circles: uint8 if quantised, else float32."""
    colors = np.stack(
        [_color_array(config.yellow, config.quantize), _color_array(config.red, config.quantize)]
    )
    colors.flags.writeable = False
    return colors


@functools.lru_cache(maxsize=64)
def _disk(radius: int) -> np.ndarray:
    """Boolean ``(2r+1, 2r+1)`` stencil: pixels within distance r (inclusive) of the centre."""
    offsets = np.arange(-radius, radius + 1)
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius * radius


def _paint(image: np.ndarray, mask: np.ndarray, circles: Circles, colors: np.ndarray) -> None:
    """Draw the circles in order into ``image`` ``(N, 3, S, S)`` and ``mask`` ``(N, S, S)``.

    One masked copy per circle inside its bounding box; later circles overwrite.
    """
    s = mask.shape[-1]
    batch, count = circles.cx.shape
    labels = circles.label.astype(mask.dtype)
    rgb = colors[circles.color][..., None, None]  # (N, n, 3, 1, 1)
    for i in range(batch):
        for k in range(count):
            cx, cy, r = int(circles.cx[i, k]), int(circles.cy[i, k]), int(circles.radius[i, k])
            stencil = _disk(r)
            y0, x0 = cy - r, cx - r
            y1, x1 = min(cy + r + 1, s), min(cx + r + 1, s)
            stencil = stencil[
                max(0, -y0) : stencil.shape[0] - (cy + r + 1 - y1),
                max(0, -x0) : stencil.shape[1] - (cx + r + 1 - x1),
            ]
            y0, x0 = max(y0, 0), max(x0, 0)
            np.copyto(mask[i, y0:y1, x0:x1], labels[i, k], where=stencil)
            np.copyto(image[i, :, y0:y1, x0:x1], rgb[i, k], where=stencil)


def generate_batch(
    config: CirclesConfig,
    seed: int,
    split: str,
    indices: Sequence[int],
    *,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor, Circles]:
    """Generate samples ``indices`` of ``split`` under ``seed``, all at once.

    Args:
        config: the data set settings.
        seed: non-negative int.
        split: ``"train"``, ``"val"`` or ``"test"``; splits never share a sample's random numbers.
        indices: sample indices (non-negative ints, any order, repeats allowed).
        dtype: ``torch.float32`` (default) for values in [0, 1], or ``torch.uint8`` for the 8-bit
            values 0..255 that an export writes (``round(255 x)``); ``uint8_to_float`` of the
            latter equals the former when ``config.quantize``.

    Returns:
        ``(images, masks, circles)``: images ``(N, 3, S, S)`` of ``dtype`` (float32: in [0, 1],
        multiples of 1/255 when ``config.quantize``), masks int64 ``(N, S, S)`` of class indices,
        and the :class:`Circles` in drawing order.

    Example:
        >>> config = CirclesConfig(image_size=32)
        >>> images, masks, circles = generate_batch(config, 0, "train", [0, 1])
        >>> tuple(images.shape), tuple(masks.shape), images.dtype, masks.dtype
        ((2, 3, 32, 32), (2, 32, 32), torch.float32, torch.int64)
    """
    if not isinstance(config, CirclesConfig):
        raise TypeError(f"config must be a CirclesConfig, got {type(config).__name__}")
    if dtype not in (torch.float32, torch.uint8):
        raise ValueError(f"dtype must be torch.float32 or torch.uint8, got {dtype}")
    indices = _check_indices(indices)
    s, n, batch = config.image_size, config.num_circles, len(indices)
    u = sample_uniforms(seed, split, indices, n * _PER_CIRCLE + 3 * (config.lattice_cells + 1) ** 2)
    circles = _circles_from_uniforms(config, u)
    images = np.empty((batch, 3, s, s), dtype=np.uint8 if dtype == torch.uint8 else np.float32)
    masks = np.zeros((batch, s, s), dtype=np.int64)
    # Chunks keep the working set in cache; every step treats samples independently.
    chunk = max(1, min(_CHUNK, _CHUNK_PIXELS // (s * s)))
    for lo in range(0, batch, chunk):
        hi = min(lo + chunk, batch)
        part = circles if chunk >= batch else circles[lo:hi]
        _generate_chunk(config, u[lo:hi], part, images[lo:hi], masks[lo:hi])
    return torch.from_numpy(images), torch.from_numpy(masks), circles


_local = threading.local()


def _scratch(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A per-thread work array, reused across calls (fresh large arrays cost page faults)."""
    pool = _local.__dict__.setdefault("pool", {})
    size = math.prod(shape)
    buffer = pool.get((name, dtype))
    if buffer is None or buffer.size < size:
        buffer = pool[(name, dtype)] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)


def _generate_chunk(
    config: CirclesConfig, u: np.ndarray, circles: Circles, out: np.ndarray, mask: np.ndarray
) -> None:
    """Fill ``out`` ``(n, 3, S, S)`` (uint8 or float32) and ``mask`` ``(n, S, S)`` in place."""
    s, cells, n = config.image_size, config.lattice_cells, config.num_circles
    batch = u.shape[0]
    shape = (batch * 3, s, s)
    angles = (u[:, n * _PER_CIRCLE :] * (2.0 * math.pi)).reshape(batch * 3, cells + 1, cells + 1)
    colors = _colors(config)
    if config.quantize:
        # round(255 * noise) with noise = unit * intensity, computed as unit * (255 * intensity).
        field = perlin_noise(angles, s, 255.0 * config.noise_intensity, _scratch("f", shape, "f4"))
        np.rint(field, out=field)
        direct = out.dtype == np.uint8
        image = out if direct else _scratch("u8", out.shape, "u1")
        np.copyto(image.reshape(shape), field, casting="unsafe")
        _paint(image, mask, circles, colors)
        if not direct:
            _uint8_to_float_np(image, out)
    elif out.dtype == np.float32:
        perlin_noise(angles, s, config.noise_intensity, out.reshape(shape))
        _paint(out, mask, circles, colors)
    else:
        image = perlin_noise(angles, s, config.noise_intensity, _scratch("f", shape, "f4"))
        image = image.reshape(out.shape)
        _paint(image, mask, circles, colors)
        np.rint(image * np.float32(255), out=image)
        np.copyto(out, image, casting="unsafe")


def _uint8_to_float_np(image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.divide(image, np.float32(255.0), out=out, dtype=np.float32)


def uint8_to_float(image: torch.Tensor) -> torch.Tensor:
    """8-bit values to float32 in [0, 1]; the one conversion used for generated and loaded images.

    Args:
        image: uint8 tensor of any shape (on the CPU).

    Returns:
        float32 tensor of the same shape, ``image / 255``.

    Example:
        >>> uint8_to_float(torch.tensor([0, 255], dtype=torch.uint8)).tolist()
        [0.0, 1.0]
    """
    if image.dtype != torch.uint8:
        raise TypeError(f"image must be a uint8 tensor, got {image.dtype}")
    return torch.from_numpy(_uint8_to_float_np(image.numpy()))
