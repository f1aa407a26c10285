"""The coordinate term ``coord_weight @ features``, added to a convolution's fresh output.

The rule is written out in :mod:`coordbias.layers.functional`. :func:`add_coord_term` is the one
entry point: the functional convolutions and the modules call it on the output of their
convolution (torch's own, with the bias inside it, so that a zero ``coord_weight`` gives the torch
layer bit for bit, forward and backward). It has two implementations of one function:

**Eager** (plain eager mode; any dtype, contiguous or channels-last output, batched or not,
autocast, forward- and reverse-mode autograd). The layer's coordinate features, an ``(F, N)``
matrix ``G`` over the ``N`` output locations (``F = D``, the linear coordinates), are built once
per geometry, output size, dtype, device and memory format and kept in one module-level cache
(never in a module's state, so never pickled). The term is added into the output in place, in
the output's own layout:

* channels-last output, viewed ``(B, N, C)``: one sample is one fused ``addmm_`` of
  ``G^T (N, F) @ coord_weight^T (F, C)``; a batch gets the ``(N, C)`` term once, broadcast.
* contiguous output: BLAS is slow on the ``(C, N) += (C, F) @ (F, N)`` orientation, so the
  features are factored over the output's rows (all spatial axes but the last) and columns (the
  last axis), ``G[f, (r, s)] = rows[r, f] * cols[f, s]``, and one sample is one fused ``addmm_``
  of ``(coord_weight * rows) (C*R, F) @ cols (F, S)`` into the output viewed ``(C*R, S)``; a batch
  gets that product once, broadcast.
* float16 / bfloat16 output (a half model, or autocast): the term is computed in float32 and
  rounded once. For one sample on the CPU the fused product runs in the output's dtype on
  float32 operands split as ``hi + lo`` (``a*b ~ a_hi*b_hi + a_hi*b_lo + a_lo*b_hi``, products
  exact, float32 accumulation), so the output is rounded once; otherwise the float32 term is
  rounded once to the output's dtype and added (a mixed-dtype add is slow on the CPU; on other
  devices the float32 term is added directly).

With autograd the addition is one node (:class:`_AddCoordTerm`): its backward passes the output
gradient through untouched and reduces it once for ``coord_weight``: a sum over the batch in the
gradient's dtype, then one small matmul with ``G`` in float32 (float64 for float64). Nothing
output-sized is saved.

**Traced** (TorchScript, ``torch.compile``, ``torch.export`` and ONNX, ``torch.jit.trace``,
functorch transforms, tensor subclasses, odd strides, and every call while :data:`enabled` is
``False``):
the per-axis coordinate vectors, made with ``torch.arange``, are scaled by ``coord_weight`` and
broadcast into the output, which compilers fuse into one pointwise kernel. It computes the same
function (to rounding of the term) and caches nothing.

Room for what comes next: a feature matrix with other rows (``F != D``, e.g. a Fourier basis) only
changes :func:`coordbias.layers._coords.features`; a coordinate frame that is the same for the
whole batch belongs in the cache key, and a per-sample one would make ``G`` a ``(B, F, N)``
tensor with a batched product in place of the broadcast.
"""

from typing import NamedTuple

import torch
import torch.autograd.forward_ad as _forward_ad
from torch import Tensor

from coordbias.layers._coords import Geometry, _coord_dtype, features, layer_axes

__all__ = ["add_broadcast_term", "add_coord_term", "enabled", "shape_axes"]

#: ``False`` sends every call through the traced implementation (the tests compare the two).
enabled = True

_FIRST, _LAST = 0, 1  # layouts of a dense output: channels first (contiguous), channels last
_HALF = (torch.float16, torch.bfloat16)
_CACHE: dict = {}
_CACHE_SIZE = 256


def add_coord_term(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    """Add the coordinate term of ``geometry`` to a convolution's fresh output, in place.

    Args:
        out: ``(B, C, *spatial)`` or unbatched ``(C, *spatial)``; a tensor no other autograd node
            needs (a convolution's output), modified in place.
        coord_weight: ``(C, F)``.
        geometry: Where the output locations lie (:class:`coordbias.layers._coords.Geometry`).

    Returns:
        ``out``, of unchanged shape, dtype and memory layout.
    """
    if not torch.jit.is_scripting() and _eager_applies(out, coord_weight):
        return _eager_add(out, coord_weight, geometry)
    return traced_add(out, coord_weight, geometry)


def traced_add(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    """:func:`add_coord_term` from per-axis vectors broadcast, for compilers and exporters."""
    dims = len(geometry.kernel)
    size_out: list[int] = list(out.shape[out.dim() - dims :])
    axes = layer_axes(geometry, size_out, _coord_dtype(coord_weight.dtype), out.device)
    batched = out.dim() == dims + 2
    channels_last = batched and out.shape[1] > 1 and out.stride(1) == 1
    shaped = shape_axes(axes, 1 if batched else 0, channels_last)
    return add_broadcast_term(out, coord_weight, shaped, channels_last, True)


def shape_axes(axes: list[Tensor], lead: int, channels_last: bool) -> list[Tensor]:
    """Axis ``i`` as ``(lead, 1, .., n_i, .., 1)`` with the channel slot first, or, channels
    last, ``(lead, .., n_i, .., 1)`` with the channel slot last, ready to broadcast."""
    dims = len(axes)
    shaped: list[Tensor] = []
    for i, axis in enumerate(axes):
        shape = [1] * (lead + dims + 1)
        shape[lead + i if channels_last else lead + 1 + i] = axis.shape[0]
        shaped.append(axis.reshape(shape))
    return shaped


def add_broadcast_term(
    out: Tensor, coord_weight: Tensor, shaped: list[Tensor], channels_last: bool, inplace: bool
) -> Tensor:
    """``out + sum_i coord_weight[:, i] * shaped[i]``, the term a ``(C, *spatial)`` map.

    An outer sum of per-axis terms broadcast elementwise (a K = D matmul is slower on the CPU),
    with a batch dimension of size 1 so that for one sample the backward needs no reduction. For
    a channels-last output the map is built as ``(1, *spatial, C)``, so that the add streams both
    tensors. The term is computed in the coordinates' dtype and rounded once to ``out``'s.
    """
    dims = len(shaped)
    lead = shaped[0].dim() - dims - 1
    wshape = [1] * (lead + dims + 1)
    wshape[lead + dims if channels_last else lead] = coord_weight.shape[0]
    weight = coord_weight
    if weight.dtype != shaped[0].dtype:
        weight = weight.to(shaped[0].dtype)
    columns = weight.unbind(1)
    term = columns[0].reshape(wshape) * shaped[0]
    for i in range(1, dims):
        # mul then add: addcmul with three broadcast operands is ~4x slower on CPU.
        term = term + columns[i].reshape(wshape) * shaped[i]
    if channels_last:
        term = term.movedim(-1, lead)
    if term.dtype != out.dtype:
        term = term.to(out.dtype)
    if inplace:
        return out.add_(term)
    return out + term


# --- the eager implementation ------------------------------------------------------------------


@torch.jit.unused
def _eager_applies(out: Tensor, coord_weight: Tensor) -> bool:
    # Compilation and tracing first: they must see the traced implementation and nothing else.
    return (
        enabled
        and not torch.compiler.is_compiling()
        and not torch.jit.is_tracing()
        and type(out) is Tensor
        and not out.is_meta  # shape inference: nothing to cache
        and not torch.overrides.has_torch_function((out, coord_weight))
        and not torch._C._are_functorch_transforms_active()
    )


class _Features(NamedTuple):
    """The cached coordinate features of one geometry, size, dtype, device and layout."""

    grid: Tensor  # (F, N) in the compute dtype: the backward, forward-mode AD, other layouts
    first: Tensor | None  # channels first: rows (R, F), compute dtype
    second: Tensor | None  # channels first: cols (F, S); channels last: grid^T (N, F)
    split: Tensor | None  # half outputs: ``second`` split hi/lo/hi along F, in the output dtype
    size: int  # N


@torch.jit.unused
def _eager_add(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    dims = len(geometry.kernel)
    channel_dim = out.dim() - dims - 1
    layout = _layout(out, channel_dim)
    if layout < 0 or out.dtype not in _DTYPES:
        return traced_add(out, coord_weight, geometry)
    feats = _features(geometry, out.shape[channel_dim + 1 :], out.dtype, out.device, layout)
    if (torch.is_grad_enabled() and (out.requires_grad or coord_weight.requires_grad)) or (
        _forward_ad._current_level >= 0  # dual tensors: the node's jvp carries the tangents
    ):
        return _AddCoordTerm.apply(out, coord_weight, feats, layout, channel_dim)
    _add_(out, coord_weight, feats, layout, channel_dim)
    return out


_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _layout(out: Tensor, channel_dim: int) -> int:
    if out.is_contiguous():
        return _FIRST
    if out.stride(channel_dim) == 1 and out.movedim(channel_dim, -1).is_contiguous():
        return _LAST
    return -1


def _features(geometry: Geometry, size_out, dtype: torch.dtype, device, layout: int) -> _Features:
    g = geometry
    key = (
        g.transposed,
        g.coords,
        tuple(g.size_in),
        tuple(g.kernel),
        tuple(g.stride),
        tuple(g.pad_left),
        tuple(g.dilation),
        tuple(size_out),
        dtype,
        device,
        layout,
    )
    hit = _CACHE.get(key)
    if hit is None:
        # Normal tensors even under inference_mode, so that later autograd calls may use them.
        with torch.inference_mode(False), torch.no_grad():
            hit = _build_features(geometry, list(size_out), dtype, device, layout)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = hit
    return hit


def _build_features(
    geometry: Geometry, size_out: list[int], dtype: torch.dtype, device, layout: int
) -> _Features:
    grid = features(geometry, size_out, _coord_dtype(dtype), device)
    size = grid.shape[1]
    first = second = split = None
    if layout == _LAST:
        second = grid.t().contiguous()
        if dtype in _HALF:
            split = _hi_lo_hi(second, 1, dtype)
    elif size > 0:
        factors = _factor(grid, size // size_out[-1], size_out[-1])
        if factors is not None:
            first, second = factors
            if dtype in _HALF:
                split = _hi_lo_hi(second, 0, dtype)
    return _Features(grid, first, second, split, size)


def _factor(grid: Tensor, rows: int, cols: int) -> tuple[Tensor, Tensor] | None:
    # G[f, (r, s)] = first[r, f] * second[f, s] when every feature varies along the rows (all
    # spatial axes but the last) or along the columns (the last axis) only; else None.
    cube = grid.view(-1, rows, cols)
    first = grid.new_ones(rows, cube.shape[0])
    second = grid.new_ones(cube.shape[0], cols)
    for f in range(cube.shape[0]):
        column, row = cube[f, :, :1], cube[f, :1, :]
        if torch.equal(cube[f], column.expand(rows, cols)):
            first[:, f] = column[:, 0]
        elif torch.equal(cube[f], row.expand(rows, cols)):
            second[f] = row[0]
        else:
            return None
    return first, second


def _hi_lo_hi(values: Tensor, dim: int, dtype: torch.dtype) -> Tensor:
    # [hi, lo, hi] along dim, in dtype. Paired with [w_hi, w_hi, w_lo] (_hi_hi_lo) a product
    # gives the float32 one to about 16 bits: each partial product is exact in float32, and the
    # matmul accumulates them in float32.
    hi = values.to(dtype)
    lo = (values - hi.to(values.dtype)).to(dtype)
    return torch.cat((hi, lo, hi), dim)


def _hi_hi_lo(values: Tensor, dim: int, dtype: torch.dtype) -> Tensor:
    hi = values.to(dtype)
    lo = (values - hi.to(values.dtype)).to(dtype)
    return torch.cat((hi, hi, lo), dim)


def _fused_half(device: torch.device) -> bool:
    # Where a mixed-dtype add is slow (the CPU), one half-precision sample is one fused product
    # on split operands; elsewhere the float32 term is added directly (rounded once by the add).
    return fused_half if fused_half is not None else device.type == "cpu"


#: Test hook: ``True`` / ``False`` forces the choice :func:`_fused_half` makes per device.
fused_half: bool | None = None


def _rounded(term: Tensor, out: Tensor) -> Tensor:
    # The float32 term rounded once to a half-precision output's dtype, where a mixed-dtype add
    # would be slow; elsewhere the add itself rounds it once.
    if term.dtype != out.dtype and _fused_half(out.device):
        return term.to(out.dtype)
    return term


def _add_(out: Tensor, weight: Tensor, feats: _Features, layout: int, channel_dim: int) -> None:
    """``out += coord_weight @ G`` in place, in ``out``'s layout (see the module docstring).

    In-place and ``out=`` products only, which autocast leaves alone: the term stays float32.
    """
    if out.numel() == 0:
        return
    channels, size = weight.shape[0], feats.size
    batch = out.numel() // (channels * size)
    fused = batch == 1 and (out.dtype not in _HALF or _fused_half(out.device))
    w = weight if weight.dtype == feats.grid.dtype else weight.to(feats.grid.dtype)
    if layout == _LAST:
        flat = out.movedim(channel_dim, -1).view(batch, size, channels)
        if fused and feats.split is not None:
            flat[0].addmm_(feats.split, _hi_hi_lo(w, 1, out.dtype).t())
        elif fused:
            flat[0].addmm_(feats.second, w.t())
        else:
            term = torch.mm(feats.second, w.t(), out=_empty(size, channels, w))
            flat.add_(_rounded(term, out))
        return
    if feats.first is None:  # features that do not factor: the plain product, broadcast
        term = torch.mm(w, feats.grid, out=_empty(channels, size, w))
        out.view(batch, channels * size).add_(_rounded(term, out).view(-1))
        return
    rows, cols = feats.first.shape[0], feats.second.shape[1]
    scaled = (w.unsqueeze(1) * feats.first).view(channels * rows, -1)
    if fused and feats.split is not None:
        out.view(channels * rows, cols).addmm_(_hi_hi_lo(scaled, 1, out.dtype), feats.split)
    elif fused:
        out.view(channels * rows, cols).addmm_(scaled, feats.second)
    else:
        term = torch.mm(scaled, feats.second, out=_empty(channels * rows, cols, w))
        out.view(batch, channels * size).add_(_rounded(term, out).view(-1))


def _empty(rows: int, cols: int, like: Tensor) -> Tensor:
    return torch.empty((rows, cols), dtype=like.dtype, device=like.device)


def _grad_weight(grad: Tensor, feats: _Features, channel_dim: int, dtype: torch.dtype) -> Tensor:
    """The gradient of ``coord_weight``: ``sum_(b, n) grad[b, c, n] * G[f, n]``, ``(C, F)``.

    One reduction of ``grad``: over the batch in its own dtype, then one small matmul with ``G``
    in the compute dtype. Differentiable (double backward works).
    """
    grid = feats.grid
    channels = grad.shape[channel_dim]
    if grad.numel() == 0:
        return grad.new_zeros((channels, grid.shape[0]), dtype=dtype)
    batch = grad.numel() // (channels * feats.size)
    if not grad.is_contiguous() and _layout(grad, channel_dim) == _LAST:
        summed = grad.movedim(channel_dim, -1).reshape(batch, feats.size, channels)
        summed = summed.sum(0) if batch > 1 else summed[0]  # (N, C)
    else:
        summed = grad.reshape(batch, channels, feats.size)
        summed = (summed.sum(0) if batch > 1 else summed[0]).t()  # (N, C), a transposed view
    if summed.dtype != grid.dtype:
        summed = summed.to(grid.dtype)
    return torch.mm(grid, summed).t().to(dtype)


class _AddCoordTerm(torch.autograd.Function):
    """``out += coord_weight @ G`` in place (:func:`_add_`), as one autograd node.

    The output gradient passes through untouched (so the convolution's gradients are torch's, bit
    for bit); the gradient of ``coord_weight`` is one reduction of it (:func:`_grad_weight`). Only
    the cached features are kept for backward.
    """

    @staticmethod
    def forward(ctx, out, coord_weight, feats, layout, channel_dim):  # type: ignore[override]
        _add_(out, coord_weight, feats, layout, channel_dim)
        ctx.mark_dirty(out)
        ctx.feats = feats  # a cached constant of the geometry, not a per-call tensor
        ctx.channel_dim = channel_dim
        ctx.weight_dtype = coord_weight.dtype
        ctx.out_shape, ctx.out_dtype = out.shape, out.dtype
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        grad_weight = None
        if ctx.needs_input_grad[1]:
            grad_weight = _grad_weight(grad, ctx.feats, ctx.channel_dim, ctx.weight_dtype)
        return grad, grad_weight, None, None, None

    @staticmethod
    def jvp(ctx, out_dot, weight_dot, *_):  # type: ignore[override]
        # Forward-mode AD: the output's tangent gets the term of the weight's tangent, in place
        # (out was modified in place). Tangents may have any strides and dtype.
        if weight_dot is None:
            return out_dot
        grid = ctx.feats.grid
        term = torch.mm(weight_dot.to(grid.dtype), grid)  # (C, N)
        if out_dot is None:
            out_dot = weight_dot.new_zeros(ctx.out_shape, dtype=ctx.out_dtype)
        shape = [term.shape[0]] + list(out_dot.shape[ctx.channel_dim + 1 :])  # noqa: RUF005
        return out_dot.add_(term.view(shape).to(out_dot.dtype))
