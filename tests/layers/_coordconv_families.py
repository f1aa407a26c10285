"""CoordConv and CoordConvTranspose as two families of one test: what differs between them.

The shared tests (tests/layers/test_coordconv.py) are written once and parametrised over
``FAMILIES``; a family names its layers, the torch layers they extend, the input sizes and
configurations to check, and ``explicit``, the torch layer run over the input with the
coordinates concatenated by hand, which is what the family must equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import nn

import coordbias
from coordbias.layers import add_coords

TOL = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-10},
    torch.float32: {"rtol": 1e-5, "atol": 1e-5},
    torch.float16: {"rtol": 1e-2, "atol": 1e-2},
    torch.bfloat16: {"rtol": 5e-2, "atol": 5e-2},
}


def _copy_parameters(ref: nn.Module, layer: nn.Module) -> nn.Module:
    with torch.no_grad():
        ref.weight.copy_(layer.weight)
        if layer.bias is not None:
            ref.bias.copy_(layer.bias)
    return ref


def explicit_conv(layer: nn.Module, x: torch.Tensor, with_r: bool) -> torch.Tensor:
    """The torch layer's conv over the input with coordinates concatenated by hand."""
    d = x.dim() - 2
    groups = layer.groups
    parts = []
    coords = add_coords(torch.zeros(x.shape[0], 0, *x.shape[2:], dtype=x.dtype), with_r)
    for g in range(groups):
        size = x.shape[1] // groups
        parts += [x[:, g * size : (g + 1) * size], coords]
    inp = torch.cat(parts, 1)
    ref = CONV.torch_layers[d](
        inp.shape[1], layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
        layer.dilation, groups, layer.bias is not None, layer.padding_mode, dtype=x.dtype,
    )  # fmt: skip
    return _copy_parameters(ref, layer)(inp)


def explicit_transpose(
    layer: nn.Module, x: torch.Tensor, with_r: bool, output_size=None
) -> torch.Tensor:
    """The torch transposed layer over the input with the coordinates concatenated by hand."""
    d = x.dim() - 2
    inp = add_coords(x, with_r, groups=layer.groups)  # the coordinates after every group
    ref = TRANSPOSE.torch_layers[d](
        inp.shape[1], layer.out_channels, layer.kernel_size, stride=layer.stride,
        padding=layer.padding, output_padding=layer.output_padding, groups=layer.groups,
        bias=layer.bias is not None, dilation=layer.dilation, dtype=x.dtype,
    )  # fmt: skip
    return _copy_parameters(ref, layer)(inp, output_size)


@dataclass(frozen=True)
class Family:
    """``Coord{kind}{d}d`` of coordbias extends torch's ``nn.{kind}{d}d``, d = 1 to 3."""

    name: str
    kind: str  # "Conv" or "ConvTranspose"
    cases: list[dict]  # constructor keywords that explicit() must agree with
    explicit: Callable[..., torch.Tensor]
    shapes: dict[int, tuple[int, ...]]  # an input's spatial size per dimension, non-square

    @property
    def layers(self) -> dict[int, type[nn.Module]]:
        return {d: getattr(coordbias, f"Coord{self.kind}{d}d") for d in (1, 2, 3)}

    @property
    def torch_layers(self) -> dict[int, type[nn.Module]]:
        return {d: getattr(nn, f"{self.kind}{d}d") for d in (1, 2, 3)}

    @property
    def transposed(self) -> bool:
        return self.kind == "ConvTranspose"

    def weight_index(self, out_channel: int, in_channel: int) -> tuple[int, int]:
        """The index of ``weight`` that couples an input channel to an output channel."""
        # torch stores a transposed weight as (in, out / groups, *kernel).
        return (in_channel, out_channel) if self.transposed else (out_channel, in_channel)

    def __repr__(self) -> str:  # the test ids
        return self.name


CONV_CASES = [
    {},
    {"stride": 2},
    {"dilation": 2, "padding": 2},
    {"padding": "same"},
    {"padding": "same", "dilation": 2},
    {"padding": 1, "padding_mode": "reflect"},
    {"padding": 1, "padding_mode": "replicate"},
    {"padding": 1, "padding_mode": "circular"},
    {"groups": 2, "padding": 1},
    {"groups": 4, "padding": 1, "bias": False},
]
TRANSPOSE_CASES = [
    {},
    {"stride": 2},
    {"stride": 2, "padding": 1, "output_padding": 1},
    {"stride": 3, "padding": 2, "dilation": 2, "output_padding": 1},
    {"groups": 2, "stride": 2},
    {"groups": 4, "padding": 1, "bias": False},
]
CONV = Family("conv", "Conv", CONV_CASES, explicit_conv, {1: (11,), 2: (7, 10), 3: (4, 5, 6)})
TRANSPOSE = Family(
    "transpose", "ConvTranspose", TRANSPOSE_CASES, explicit_transpose,
    {1: (11,), 2: (7, 10), 3: (4, 5, 3)},
)  # fmt: skip
FAMILIES = [CONV, TRANSPOSE]


def per_family(conv, transpose) -> list:
    """A shared test's parameters: the tuple ``conv`` for CoordConv, ``transpose`` for its twin."""
    return [
        pytest.param(CONV, *conv, id="conv"),
        pytest.param(TRANSPOSE, *transpose, id="transpose"),
    ]
