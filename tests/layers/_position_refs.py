"""Naive float64 references of the four position layers, written from their documented formulas
with Python loops and ``math`` (no code shared with the layers)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def conv_twin(layer, x: torch.Tensor, weight=None) -> torch.Tensor:
    """The plain torch convolution of ``layer``'s settings in float64 (``weight`` overrides)."""
    w = (layer.weight if weight is None else weight).detach().double()
    b = None if layer.bias is None else layer.bias.detach().double()
    x = x.double()
    padding = layer.padding
    if layer.padding_mode != "zeros":
        x = F.pad(x, layer._reversed_padding_repeated_twice, mode=layer.padding_mode)
        padding = 0
    return F.conv2d(x, w, b, layer.stride, padding, layer.dilation, layer.groups)


def centre_positions(n_in: int, n_out: int, k: int, stride: int, pad: int, dil: int) -> list:
    """Kernel-centre coordinates: the first input pixel -1, the last +1."""
    return [
        (o * stride - pad + dil * (k - 1) / 2 - (n_in - 1) / 2) * 2 / max(n_in - 1, 1)
        for o in range(n_out)
    ]


def output_positions(n_out: int) -> list:
    return [o / max(n_out - 1, 1) for o in range(n_out)]


def grid_positions(n: int) -> list:
    """CoordConv's input-grid coordinates: -1 at the first index, +1 at the last."""
    return [-1 + 2 * i / max(n - 1, 1) for i in range(n)]


def layer_positions(layer, size_in: list, size_out: list) -> list:
    axes = []
    for i in range(2):
        if layer.coords == "output":
            axes.append(output_positions(size_out[i]))
            continue
        if layer.padding == "same":
            pad = layer.dilation[i] * (layer.kernel_size[i] - 1) // 2
        elif layer.padding == "valid":
            pad = 0
        else:
            pad = layer.padding[i]
        axes.append(
            centre_positions(
                size_in[i], size_out[i], layer.kernel_size[i], layer.stride[i], pad,
                layer.dilation[i],
            )
        )  # fmt: skip
    return axes


def basis(c: float, k: int) -> list:
    out = [c]
    for j in range(1, k + 1):
        out += [math.sin(j * math.pi * c), math.cos(j * math.pi * c)]
    return out


def _batched(x):
    return (x, False) if x.dim() == 4 else (x.unsqueeze(0), True)


def fourier(layer, x: torch.Tensor) -> torch.Tensor:
    x, unbatched = _batched(x)
    out = conv_twin(layer, x).clone()
    ys, xs = layer_positions(layer, list(x.shape[2:]), list(out.shape[2:]))
    w = layer.fourier_weight.detach().double().tolist()
    for h, yv in enumerate(ys):
        for c, xv in enumerate(xs):
            phi = basis(yv, layer.frequencies) + basis(xv, layer.frequencies)
            for f in range(out.shape[1]):
                out[:, f, h, c] += sum(a * b for a, b in zip(w[f], phi))
    return out.squeeze(0) if unbatched else out


def _interp(values: list, n: int) -> list:
    m = len(values)
    if n == 1 or m == 1:
        return [values[0]] * n if m == 1 else [values[0]]
    out = []
    for i in range(n):
        src = i * (m - 1) / (n - 1)
        lo = min(math.floor(src), m - 2)
        t = src - lo
        out.append(values[lo] * (1 - t) + values[lo + 1] * t)
    return out


def position_map(layer, x: torch.Tensor) -> torch.Tensor:
    x, unbatched = _batched(x)
    out = conv_twin(layer, x).clone()
    height, width = out.shape[2:]
    for f in range(out.shape[1]):
        rows = _interp(layer.row_map[f].detach().double().tolist(), height)
        cols = _interp(layer.col_map[f].detach().double().tolist(), width)
        for h in range(height):
            for c in range(width):
                out[:, f, h, c] += rows[h] + cols[c]
    return out.squeeze(0) if unbatched else out


def coordgate(layer, x: torch.Tensor) -> torch.Tensor:
    x, unbatched = _batched(x)
    out = conv_twin(layer, x).clone()
    ys, xs = layer_positions(layer, list(x.shape[2:]), list(out.shape[2:]))
    w1 = layer.gate[0].weight.detach().double().tolist()
    b1 = layer.gate[0].bias.detach().double().tolist()
    w2 = layer.gate[2].weight.detach().double().tolist()
    b2 = layer.gate[2].bias.detach().double().tolist()
    for h, yv in enumerate(ys):
        for c, xv in enumerate(xs):
            hidden = [max(0.0, w[0] * yv + w[1] * xv + b) for w, b in zip(w1, b1)]
            for f in range(out.shape[1]):
                z = sum(a * b for a, b in zip(w2[f], hidden)) + b2[f]
                out[:, f, h, c] *= 2 / (1 + math.exp(-z))
    return out.squeeze(0) if unbatched else out


def fourier_coordconv(layer, x: torch.Tensor) -> torch.Tensor:
    """The convolution of the explicitly concatenated input (coordinates after every group)."""
    x, unbatched = _batched(x)
    x = x.double()
    b, _, height, width = x.shape
    k = layer.frequencies
    channels = []
    ys, xs = grid_positions(height), grid_positions(width)
    per_axis = 1 + 2 * k
    for j in range(per_axis):
        channels.append(torch.tensor([[basis(yv, k)[j]] * width for yv in ys], dtype=torch.float64))
    for j in range(per_axis):
        channels.append(
            torch.tensor([[basis(xv, k)[j] for xv in xs]] * height, dtype=torch.float64)
        )
    phi = torch.stack(channels).double().unsqueeze(0).expand(b, -1, -1, -1)
    groups = x.chunk(layer.groups, 1)
    full = torch.cat([torch.cat((g, phi), 1) for g in groups], 1)
    out = conv_twin(layer, full)
    return out.squeeze(0) if unbatched else out
