"""The coordinate term ``coord_weight @ features``, added to a convolution's fresh output.

The rule is written out in :mod:`coordbias.layers.functional`. :func:`add_coord_term` is the one
entry point: the functional convolutions and the modules call it on the output of their
convolution (torch's own, with the bias inside it, so that a zero ``coord_weight`` gives the torch
layer bit for bit, forward and backward). It has two implementations of one function:

**Eager** (plain eager mode; any dtype, contiguous or channels-last output, batched or not,
autocast, forward- and reverse-mode autograd). The layer's coordinate features, an ``(F, N)`` matrix
``G`` over the ``N`` output locations (``F = D``, the linear coordinates), are built once per
geometry, output size, dtype, device and memory format and kept in one module-level cache (never in
a module's state, so never pickled; shared by all threads, under a lock; never filled during a
CUDA-graph capture, whose calls take the traced implementation). The term is added into the output
in place, in the output's own layout:

* channels-last output, viewed ``(B, N, C)``: one sample is one fused ``addmm_`` of
  ``G^T (N, F) @ coord_weight^T (F, C)``; a batch gets the ``(N, C)`` term once, broadcast.
* contiguous output: BLAS is slow on the ``(C, N) += (C, F) @ (F, N)`` orientation, so the
  features are factored over the output's rows (all spatial axes but the last) and columns (the
  last axis), ``G[f, (r, s)] = rows[r, f] * cols[f, s]``, and one sample is one fused ``addmm_``
  of ``(coord_weight * rows) (C*R, F) @ cols (F, S)`` into the output viewed ``(C*R, S)``; a batch
  gets that product once, broadcast.
* float16 / bfloat16 output (a half model, or autocast): the term is computed in float32 and
  rounded once. On the CPU the product runs in the output's dtype on operands split as
  ``hi + lo`` (``a*b ~ a_hi*b_hi + a_hi*b_lo + a_lo*b_hi``: each partial product exact in float32,
  the matmul accumulating in float32, about 16 bits in all), fused into the output for one
  sample, rounded once into a term for a batch; a mixed-dtype add is slow there. On other
  devices the float32 term is added directly (the add rounds it once).

Without autograd (inference) what a call derives from ``coord_weight`` (the operand of the product,
and the term itself, ``(C, *spatial)`` in the output's layout, once a call formed it) is kept with
the features, per weight object (held weakly: it dies with the weight), and reused while the weight
keeps its version and its values (both checked each call: the values with ``torch.equal``, since a
change through ``weight.data`` leaves the version as it was; CPU only, where that costs no
synchronisation): a call then costs one add, as a learned map would. A call with autograd computes
the same parts the same way, so the two agree bit for bit. (One sample of a float32 / float64 output
takes the fused product both ways; in half precision inference adds the kept term, which rounds it
once more than the call with autograd.)

With autograd the addition is one node (:class:`_AddCoordTerm`): its backward passes the output
gradient through untouched and reduces it once for ``coord_weight``: a sum over the batch in the
gradient's dtype, then one small matmul with ``G`` in that dtype (accumulating in float32), cast
to the weights' dtype. Nothing output-sized is saved.

**Traced** (TorchScript, ``torch.compile``, ``torch.export`` and ONNX, ``torch.jit.trace``,
functorch transforms, tensor subclasses, meta tensors, odd strides, and every call inside
``forced(eager=False)``): the per-axis coordinate vectors, made with ``torch.arange``,
are scaled by ``coord_weight`` and broadcast into the output, which compilers fuse into one
pointwise kernel. It computes the same function (to rounding of the term) and caches nothing.

**Framed** (inside ``coordbias.coordinate_frame``, eager or compiled:
``coordbias.layers.frame.framed_add``): the per-axis vectors of the frame's geometry, ``(G, n_i)``
with one row per sample of a per-sample frame, broadcast as in the traced implementation. Outside
a frame the only cost is one read of the frame of the calling thread or async task
(:func:`coordbias.layers.frame.current_frame`).

Room for what comes next: a feature matrix with other rows (``F != D``, e.g. a Fourier basis) only
changes :func:`coordbias.layers._coords.features`.
"""

import contextlib
import threading
import weakref
from collections.abc import Iterator
from typing import NamedTuple

import torch
import torch.autograd.forward_ad as _forward_ad
from torch import Tensor

from coordbias.layers._broadcast import add_axes_term, add_broadcast_term, shape_axes
from coordbias.layers._coords import Geometry, _coord_dtype, features, layer_axes
from coordbias.layers.frame import current_frame, framed_add

__all__ = ["add_broadcast_term", "add_coord_term", "enabled", "forced", "shape_axes"]

#: ``False`` sends every call through the traced implementation; set it through :func:`forced`.
enabled = True

_FIRST, _LAST = 0, 1  # layouts of a dense output: channels first (contiguous), channels last
_HALF = (torch.float16, torch.bfloat16)
_CACHE: dict = {}  # key -> _Features (see _features)
_CACHE_SIZE = 256
# Calls from several threads share _CACHE and every _Features.weights. A lookup, a store and a
# dead weight's removal are single dict operations (atomic); an insert that may first clear the
# dict to bound its size is made under this lock.
_LOCK = threading.Lock()


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
    if not torch.jit.is_scripting():
        return _python_add(out, coord_weight, geometry)
    return traced_add(out, coord_weight, geometry)


def traced_add(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    """:func:`add_coord_term` from per-axis vectors broadcast, for compilers and exporters."""
    dims = len(geometry.kernel)
    size_out: list[int] = list(out.shape[out.dim() - dims :])
    axes = layer_axes(geometry, size_out, _coord_dtype(coord_weight.dtype), out.device)
    return add_axes_term(out, coord_weight, axes, True)


# --- the eager implementation ------------------------------------------------------------------


@torch.jit.unused
def _python_add(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    """:func:`add_coord_term` in Python: inside a coordinate frame, else eager when it applies."""
    frame = current_frame()  # the calling thread's or task's; the one check a call outside pays
    if frame is not None:
        return framed_add(out, coord_weight, geometry, frame)
    # Compilation, tracing and CUDA-graph capture first: they must see the traced implementation
    # (coordinates built inline, nothing kept: a tensor kept during a capture would live in the
    # graph's memory pool, overwritten by its replays).
    if (
        enabled
        and not torch.compiler.is_compiling()
        and not torch.jit.is_tracing()
        and type(out) is Tensor
        and not out.is_meta  # shape inference: nothing to cache
        and not torch.overrides.has_torch_function((out, coord_weight))
        # Private, for want of a public test: vmap / grad wrap tensors invisibly to Python.
        and not torch._C._are_functorch_transforms_active()
        and not (out.is_cuda and torch.cuda.is_current_stream_capturing())
    ):
        return _eager_add(out, coord_weight, geometry)
    return traced_add(out, coord_weight, geometry)


class _Features(NamedTuple):
    """The cached coordinate features of one geometry, size, dtype, device and layout."""

    grid: Tensor  # G (F, N), float32 / float64: backward, forward-mode AD, float32 terms
    rows: Tensor | None  # channels first, G factored: rows^T as (F, 1, R)
    cols: Tensor | None  # channels first, G factored: cols (F, S)
    grid_t: Tensor | None  # channels last: G^T (N, F)
    split: Tensor | None  # half outputs: [G_hi; G_lo; G_hi] (3F, N), or its transpose (N, 3F)
    grad_grid: Tensor  # G in the gradient's dtype (G_hi for half outputs)
    size: int  # N
    # id(coord_weight) -> _Parts of that weight, for calls without autograd on the CPU. An entry
    # names its weight by a weak reference (a lookup checks it is this very weight) and is
    # removed when the weight dies, so a later tensor given its id or its memory finds nothing.
    weights: dict


class _Parts(NamedTuple):
    """What a call derives from ``coord_weight``: the operand of the product, and the term
    itself, ``(C, *spatial)`` in the output's layout (``None`` until formed), both computed from
    ``values``, a copy of the weights taken at ``version``, for ``plan``. Kept for calls without
    autograd (see :func:`_reuse_parts`) while the weight is that version with those values."""

    weight: weakref.ref
    version: int
    values: Tensor
    plan: int  # the plan the operand was formed for (see _plan)
    operand: Tensor
    term: Tensor | None


@torch.jit.unused
def _eager_add(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    dims = len(geometry.kernel)
    channel_dim = out.dim() - dims - 1
    layout = _FIRST if out.is_contiguous() else _layout(out, channel_dim)
    if layout < 0 or out.dtype not in _DTYPES:
        return traced_add(out, coord_weight, geometry)
    feats = _features(geometry, out.shape[channel_dim + 1 :], out.dtype, out.device, layout)
    if (torch.is_grad_enabled() and (out.requires_grad or coord_weight.requires_grad)) or (
        # Dual tensors: the node's jvp carries the tangents. A private attribute of a public
        # module: the public forward_ad.unpack_dual(coord_weight) costs about 0.8 us per call.
        _forward_ad._current_level >= 0
    ):
        return _AddCoordTerm.apply(out, coord_weight, feats, layout, channel_dim)
    _add_(out, coord_weight, feats, layout, channel_dim, _reuse_parts(out.device))
    return out


_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _layout(out: Tensor, channel_dim: int) -> int:
    if out.is_contiguous():
        return _FIRST
    # torch's own test where it has one (a few us cheaper than building the moved view).
    if channel_dim == 1 and out.dim() in (4, 5):
        fmt = torch.channels_last if out.dim() == 4 else torch.channels_last_3d
        return _LAST if out.is_contiguous(memory_format=fmt) else -1
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
            built = _build_features(geometry, list(size_out), dtype, device, layout)
        with _LOCK:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.clear()
            hit = _CACHE.setdefault(key, built)  # a thread that built it first wins
    return hit


def _build_features(
    geometry: Geometry, size_out: list[int], dtype: torch.dtype, device, layout: int
) -> _Features:
    grid = features(geometry, size_out, _coord_dtype(dtype), device)
    size = grid.shape[1]
    rows = cols = grid_t = split = None
    grad_grid = grid
    if dtype in _HALF:
        hi = grid.to(dtype)
        split = torch.cat((hi, (grid - hi.to(grid.dtype)).to(dtype), hi))
        grad_grid = hi
    if layout == _LAST:
        grid_t = grid.t().contiguous()
        split = None if split is None else split.t().contiguous()
    elif size > 0:
        factors = _factor(grid, size // size_out[-1], size_out[-1])
        if factors is not None:
            rows, cols = factors
    return _Features(grid, rows, cols, grid_t, split, grad_grid, size, {})


def _factor(grid: Tensor, rows: int, cols: int) -> tuple[Tensor, Tensor] | None:
    # G[f, (r, s)] = rows[f, r] * cols[f, s] when every feature varies along the rows (all
    # spatial axes but the last) or along the columns (the last axis) only; else None.
    cube = grid.view(-1, rows, cols)
    first = grid.new_ones(cube.shape[0], 1, rows)
    second = grid.new_ones(cube.shape[0], cols)
    for f in range(cube.shape[0]):
        column, row = cube[f, :, :1], cube[f, :1, :]
        if torch.equal(cube[f], column.expand(rows, cols)):
            first[f, 0] = column[:, 0]
        elif torch.equal(cube[f], row.expand(rows, cols)):
            second[f] = row[0]
        else:
            return None
    return first, second


def _fused_half(device: torch.device) -> bool:
    # Where a mixed-dtype add is slow (the CPU), half precision takes the split product in the
    # output's dtype; elsewhere the float32 term is added directly (rounded once by the add).
    return device.type == "cpu" if fused_half is None else fused_half


def _reuse_parts(device: torch.device) -> bool:
    # Without autograd (inference) the weights rarely change between calls: what a call derives
    # from them is kept, checked against their values each call (torch.equal, which would
    # synchronise an accelerator: CPU only), so that a batch costs one add, as a learned map.
    return device.type == "cpu" if reuse_parts is None else reuse_parts


#: ``True`` / ``False`` force the choices the two functions above make per device (``None``: by
#: the device); set them through :func:`forced`.
fused_half: bool | None = None
reuse_parts: bool | None = None
#: ``False`` turns off a piece of machinery beyond the plain form, which then computes the same
#: function the plain way (to measure what the piece is worth); set them through :func:`forced`.
factored = True  # the factored product for contiguous outputs, else coord_weight @ G
strided_views = True  # single as_strided views, else view / t / reshape / movedim
fused_sample = True  # one sample: a fused addmm_ into the output, else a term formed and added

#: The choices of :func:`forced` that turn a piece of machinery off (``False``): all of them off
#: is the plain form (per-axis features, ``coord_weight @ G`` formed and added in the output's
#: layout, one reduction for the gradient).
PIECES = ("fused_half", "reuse_parts", "factored", "strided_views", "fused_sample")


@torch.jit.unused
@contextlib.contextmanager
def forced(**choices: bool | None) -> Iterator[None]:
    """Inside the block, force choices the eager implementation makes on its own: the tests run
    both implementations, and the other devices' choices on the CPU, through it.

    Args:
        **choices: any of ``eager`` (``False`` sends every call through the traced
            implementation), ``fused_half`` (half precision takes the split product, ``True``, or
            adds the float32 term, ``False``) and ``reuse_parts`` (inference keeps what it
            derives from the weights, or not), for both ``None`` meaning by the device; and
            ``factored``, ``strided_views`` and ``fused_sample`` (see :data:`PIECES`: ``False``
            computes the same function without that piece). A choice not given stays as it is.

    The choices are the module's, for every thread, and are restored on exit.
    """
    names = {"eager": "enabled", **{name: name for name in PIECES}}
    unknown = sorted(set(choices) - set(names))
    if unknown:
        raise TypeError(f"forced() takes {', '.join(names)}; got {', '.join(unknown)}")
    given = {names[key]: value for key, value in choices.items()}
    saved = {name: globals()[name] for name in given}
    globals().update(given)
    try:
        yield
    finally:
        globals().update(saved)


_PARTS_PER_ENTRY = 32


# How a call forms its product with the features.
_SPLIT = 0  # half precision where a mixed-dtype add is slow: split operands, the output's dtype
_FACTORED = 1  # contiguous float32 / float64: (coord_weight * rows) @ cols
_PLAIN = 2  # coord_weight @ G (channels last: G^T @ coord_weight^T), float32 / float64


def _plan(feats: _Features, layout: int, out: Tensor, weight: Tensor) -> int:
    if out.dtype in _HALF:
        return _SPLIT if _fused_half(out.device) else _PLAIN
    if factored and layout == _FIRST and feats.rows is not None and weight.dtype == out.dtype:
        return _FACTORED
    return _PLAIN


def _operand(weight: Tensor, feats: _Features, plan: int, dtype: torch.dtype) -> Tensor:
    """The weight-side operand of the product with the features (see the module docstring)."""
    if plan == _SPLIT:
        # [w_hi, w_hi, w_lo] (C, 3F), the partner of [G_hi; G_lo; G_hi]: the float32 product to
        # about 16 bits (partial products exact in float32, accumulated in float32). A weight
        # already in dtype is exact: [w, w] (C, 2F) pairs with the first 2F rows [G_hi; G_lo].
        if weight.dtype == dtype:
            return torch.cat((weight, weight), 1)
        hi = weight.to(dtype)
        return torch.cat((weight, weight, weight - hi.to(weight.dtype)), 1).to(dtype)
    w = weight if weight.dtype == feats.grid.dtype else weight.to(feats.grid.dtype)
    if plan == _PLAIN:
        return w
    # (w * rows) (C*R, F), built as (F, C, R) (a batched outer product, whose innermost
    # dimension is long) and used transposed. (Only float32 / float64 outputs of weights of
    # the same dtype come here, which autocast never produces: bmm needs no out=.) The views
    # are single as_strided calls: at batch 1 of a small layer every call into torch counts.
    channels, dims = w.shape
    if not strided_views:
        return torch.bmm(w.t().unsqueeze(-1), feats.rows).view(dims, -1).t()
    product = torch.bmm(
        w.as_strided((dims, channels, 1), (w.stride(1), w.stride(0), 1)), feats.rows
    )
    length = product.numel() // dims  # C*R, the operand's rows (feats.rows are R factors)
    return product.as_strided((length, dims), (1, length))


def _features_for(feats: _Features, layout: int, plan: int, k: int) -> Tensor:
    """The feature-side operand: G, G^T, cols, or the first k rows of [G_hi; G_lo; G_hi]."""
    if plan == _SPLIT:
        return feats.split[:, :k] if layout == _LAST else feats.split[:k]
    if plan == _FACTORED:
        return feats.cols
    return feats.grid_t if layout == _LAST else feats.grid


def _product(a: Tensor, b: Tensor) -> Tensor:
    # out= products: autocast leaves them alone, so a float32 term stays float32.
    return torch.mm(a, b, out=torch.empty((a.shape[0], b.shape[1]), dtype=a.dtype, device=a.device))


def _add_(
    out: Tensor, weight: Tensor, feats: _Features, layout: int, channel_dim: int, reuse: bool
) -> None:
    """``out += coord_weight @ G`` in place, in ``out``'s layout (see the module docstring).

    One sample takes one fused product into the output where its dtype allows; otherwise the
    term is formed once, as ``(C, *spatial)`` in the output's layout, and added (broadcast over a
    batch). Without autograd (``reuse``) the operand and the term are kept with the weights'
    values: a call whose weights are unchanged then adds the kept term (or, for one sample,
    takes the fused product with the kept operand). In-place and ``out=`` products only, which
    autocast leaves alone.
    """
    numel = out.numel()
    if numel == 0:
        return
    plan = _plan(feats, layout, out, weight)
    parts = _kept_parts(weight, feats, plan) if reuse else None
    channels, size = weight.shape[0], feats.size
    # One sample: fused into the output, but for a float32 term of a half-precision output, and
    # for half precision in inference, where adding the kept term is faster than the split
    # product (it rounds the term once more: within one unit in the last place of the call with
    # autograd). Whether a call fuses depends on the call alone, never on what an earlier call
    # kept, so that a result does not depend on the calls before it.
    fusable = not reuse if plan == _SPLIT else feats.grid.dtype == out.dtype
    fused = fused_sample and fusable and numel == channels * size
    if parts is not None and parts.term is not None and not fused:
        out.add_(parts.term)
        return
    if reuse and parts is None:
        parts = _keep_parts(weight, feats, plan, out.dtype)
    operand = parts.operand if parts is not None else _operand(weight, feats, plan, out.dtype)
    features_k = _features_for(feats, layout, plan, operand.shape[1])
    if fused:
        if layout == _LAST:
            if strided_views:
                target = out.as_strided((size, channels), (channels, 1))
            else:
                target = out.movedim(channel_dim, -1).view(size, channels)
            target.addmm_(features_k, operand.t())
        else:
            out.view(operand.shape[0], -1).addmm_(operand, features_k)
        return
    spatial = out.shape[channel_dim + 1 :]
    if layout == _LAST:
        term = _product(features_k, operand.t()).t().view(channels, *spatial)  # from (N, C)
    else:
        term = _product(operand, features_k).view(channels, *spatial)  # (C, N) or (C*R, S)
    if parts is not None:
        with _LOCK:
            feats.weights[id(weight)] = parts._replace(term=term)
    out.add_(term)


def _version(weight: Tensor) -> int:
    # The version counter counts in-place changes that autograd sees (inference tensors have
    # none; their values are compared all the same).
    return -1 if weight.is_inference() else weight._version


def _kept_parts(weight: Tensor, feats: _Features, plan: int) -> _Parts | None:
    """What an earlier call kept for this very ``weight``, if it is still of the same version
    and the same values, for the same ``plan`` (which :func:`forced` may change between calls):
    the values are compared too, because a change through ``weight.data`` (or another tensor
    sharing its memory) leaves the version unchanged."""
    kept = feats.weights.get(id(weight))
    if kept is None or kept.weight() is not weight or kept.version != _version(weight):
        return None
    if kept.plan != plan:
        return None
    values = kept.values
    same = values.shape == weight.shape and values.dtype == weight.dtype
    return kept if same and torch.equal(values, weight) else None


def _keep_parts(weight: Tensor, feats: _Features, plan: int, dtype: torch.dtype) -> _Parts:
    version = _version(weight)  # before the copy: a change during it makes the next call miss
    with torch.inference_mode(False), torch.no_grad():
        values = weight.detach().clone()
        operand = _operand(values, feats, plan, dtype)
    key, weights = id(weight), feats.weights
    # The weight's death removes its entry, before its id can be given to another object.
    parts = _Parts(
        weakref.ref(weight, lambda _: weights.pop(key, None)), version, values, plan, operand, None
    )
    with _LOCK:
        if len(weights) >= _PARTS_PER_ENTRY:
            weights.clear()
        weights[key] = parts
    return parts


def _grad_weight(grad: Tensor, feats: _Features, channel_dim: int, dtype: torch.dtype) -> Tensor:
    """The gradient of ``coord_weight``: ``sum_(b, n) grad[b, c, n] * G[f, n]``, ``(C, F)``.

    One reduction of ``grad``: over the batch in its own dtype, then one small matmul with ``G``
    (in the gradient's dtype, accumulating in float32). Differentiable (double backward works).
    """
    grid = feats.grad_grid
    channels, size = grad.shape[channel_dim], feats.size
    if grad.numel() == 0:
        return grad.new_zeros((channels, grid.shape[0]), dtype=dtype)
    batch = grad.numel() // (channels * size)
    contiguous = grad.is_contiguous()
    if not contiguous and _layout(grad, channel_dim) == _LAST:
        if strided_views:
            flat = grad.as_strided((batch, size, channels), (size * channels, channels, 1))
        else:
            flat = grad.movedim(channel_dim, -1).reshape(batch, size, channels)
        summed = flat[0] if batch == 1 else flat.sum(0)  # (N, C)
    elif strided_views and contiguous and batch == 1:
        summed = grad.as_strided((size, channels), (1, size))  # (N, C), a transposed view
    else:
        flat = grad.reshape(batch, channels, size)
        summed = (flat[0] if batch == 1 else flat.sum(0)).t()  # (N, C), a transposed view
    if summed.dtype != grid.dtype:
        grid = feats.grid if summed.dtype == feats.grid.dtype else grid.to(summed.dtype)
    grad_weight = torch.mm(grid, summed).t()
    return grad_weight if grad_weight.dtype == dtype else grad_weight.to(dtype)


class _AddCoordTerm(torch.autograd.Function):
    """``out += coord_weight @ G`` in place (:func:`_add_`), as one autograd node.

    The output gradient passes through untouched (so the convolution's gradients are torch's, bit
    for bit); the gradient of ``coord_weight`` is one reduction of it (:func:`_grad_weight`). Only
    the cached features are kept for backward.
    """

    @staticmethod
    def forward(ctx, out, coord_weight, feats, layout, channel_dim):  # type: ignore[override]
        _add_(out, coord_weight, feats, layout, channel_dim, False)
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
