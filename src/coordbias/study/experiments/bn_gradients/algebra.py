"""Open question 1, on one layer: BatchNorm cancels the conv bias but not the coordinate ramps.

:func:`derivation_check` verifies the algebra of :mod:`coordbias.study.experiments.bn_gradients`
numerically on one ``CoordBiasConv2d`` + ``BatchNorm2d``, in float64 and float32.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from coordbias.study.experiments._common import seeded

# A bias gradient this small relative to the gradient mass it sums counts as "cancelled".
ZERO_TOLERANCE = {"float64": 1e-12, "float32": 1e-5}


def coordinate_maps(layer: nn.Module, x: Tensor) -> Tensor:
    """The coordinate maps a coordinate-bias layer adds, read off the layer itself.

    A copy of the layer with its kernel and bias set to 0 and ``coord_weight`` set to a unit
    vector outputs exactly one coordinate map, whatever convention the layer uses.

    Args:
        layer: a ``CoordBiasConv2d`` with ``coord_weight`` of shape ``(C_out, 2)``.
        x: an input ``(B, C_in, H, W)`` of the size to probe.

    Returns:
        Tensor ``(2, H_out, W_out)``: the row map ``P0`` and the column map ``P1``.
    """
    probe = copy.deepcopy(layer)
    maps = []
    with torch.no_grad():
        probe.weight.zero_()
        if probe.bias is not None:
            probe.bias.zero_()
        for dim in range(probe.coord_weight.shape[1]):
            probe.coord_weight.zero_()
            probe.coord_weight[:, dim] = 1.0
            maps.append(probe(x[:1])[0, 0])
    return torch.stack(maps)


def derivation_check(dtype: torch.dtype = torch.float64, seed: int = 0) -> dict[str, Any]:
    """Check the BatchNorm algebra numerically on one ``CoordBiasConv2d`` + ``BatchNorm2d``.

    A random non-square input ``(4, 3, 12, 10)`` goes through the layer (3 x 3, padding 1, 6
    filters) and a ``BatchNorm2d`` in training mode with random affine parameters; the loss is
    ``sum(out * G)`` for a random ``G``. The gradient ``g`` at the layer's output is kept.

    Args:
        dtype: ``torch.float64`` or ``torch.float32``.
        seed: seeds the layer, the input and ``G``.

    Returns:
        A dict with, per filter maximised over filters:
        ``bias_grad_rel``: ``|dL/db| / sum|g|`` (0 up to rounding if the bias cancels);
        ``coord_grad_rel``: ``|dL/da| / sum|g|`` (in general far from 0);
        ``coord_grad_formula_err``: ``max |dL/da - sum(g * (P - mean P))|`` relative to
        ``max |dL/da|`` (the layer's autograd agrees with the derivation);
        ``shift_invariance_err``: largest output change when ``b`` and the constant part move;
        ``affine_coords_err``: largest output change when the coordinates are mapped to [0, 1]
        and ``a`` rescaled to match (BatchNorm absorbs the affine map);
        ``eval_bias_grad_rel``: the same as ``bias_grad_rel`` with BatchNorm in eval mode
        (running statistics: nothing cancels, the bias gets a gradient);
        ``coord_range``: the min and max of the layer's coordinate maps.
    """
    from coordbias import CoordBiasConv2d

    if dtype not in (torch.float64, torch.float32):
        raise ValueError(f"dtype must be torch.float64 or torch.float32, got {dtype}")
    gen = torch.Generator().manual_seed(seed)
    with seeded(seed):
        layer = CoordBiasConv2d(3, 6, 3, padding=1).to(dtype)
        bn = nn.BatchNorm2d(6).to(dtype)
    with torch.no_grad():
        # Random coordinate weights, bias and BatchNorm affine: nothing special about the init.
        layer.coord_weight.copy_(torch.randn(layer.coord_weight.shape, generator=gen))
        layer.bias.copy_(torch.randn(layer.bias.shape, generator=gen))
        bn.weight.copy_(torch.rand(6, generator=gen) + 0.5)
        bn.bias.copy_(torch.randn(6, generator=gen))
    x = torch.randn(4, 3, 12, 10, generator=gen).to(dtype)
    target = torch.randn(4, 6, 12, 10, generator=gen).to(dtype)

    def grads(train: bool) -> tuple[Tensor, Tensor, Tensor]:
        layer.zero_grad()
        bn.train(train)
        y = layer(x)
        y.retain_grad()
        (bn(y) * target).sum().backward()
        assert y.grad is not None
        return layer.bias.grad.clone(), layer.coord_weight.grad.clone(), y.grad.clone()

    bias_grad, coord_grad, g = grads(train=True)
    mass = g.abs().sum(dim=(0, 2, 3))  # (C,)
    maps = coordinate_maps(layer, x).detach()  # (2, H, W)
    centred = maps - maps.mean(dim=(1, 2), keepdim=True)
    formula = torch.einsum("nchw,dhw->cd", g, centred)  # (C, 2)
    formula_err = (coord_grad - formula).abs().max() / coord_grad.abs().max()

    eval_bias_grad, _, g_eval = grads(train=False)
    eval_mass = g_eval.abs().sum(dim=(0, 2, 3))

    bn.train(True)
    with torch.no_grad():
        base = bn(layer(x))
        shifted = copy.deepcopy(layer)
        shifted.bias.add_(3.0)
        shift_err = (bn(shifted(x)) - base).abs().max()
        # Coordinates mapped affinely to [0, 1]: P' = (P - lo) / (hi - lo); a' = a * (hi - lo)
        # gives the same ramp up to a constant, which BatchNorm removes.
        lo = maps.amin(dim=(1, 2), keepdim=True)
        hi = maps.amax(dim=(1, 2), keepdim=True)
        unit = (maps - lo) / (hi - lo)
        plain = copy.deepcopy(layer)
        plain.coord_weight.zero_()
        z = plain(x)  # (B, C, H, W): conv + bias, no coordinate term
        a_unit = layer.coord_weight * (hi - lo).flatten()  # (C, 2)
        affine = bn(z + torch.einsum("cd,dhw->chw", a_unit, unit))
        affine_err = (affine - base).abs().max()

    return {
        "dtype": str(dtype).removeprefix("torch."),
        "bias_grad_rel": float((bias_grad.abs() / mass).max()),
        "coord_grad_rel": float((coord_grad.abs().amax(dim=1) / mass).max()),
        "coord_grad_rel_min": float((coord_grad.abs().amax(dim=1) / mass).min()),
        "coord_grad_formula_err": float(formula_err),
        "shift_invariance_err": float(shift_err),
        "affine_coords_err": float(affine_err),
        "eval_bias_grad_rel": float((eval_bias_grad.abs() / eval_mass).min()),
        "coord_range": [float(maps.min()), float(maps.max())],
    }
