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
CUDA-graph capture, whose calls take the traced implementation). The term ``coord_weight @ G`` is
formed in the features' dtype (float32, or float64 for a float64 output) and added into the
output in place, in the output's layout (``out.add_(term)``, broadcast over a batch; the add
rounds a float32 term once into a float16 / bfloat16 output; that is what a half-precision
output on CUDA gets). Three pieces go beyond that form:

* **the factored product** (channels-first outputs): ``G[f, (r, s)] = rows[f, r] * cols[f, s]``
  over the output's rows (all spatial axes but the last) and columns (the last), so the product
  is ``(coord_weight * rows) (C*R, F) @ cols (F, S)``: BLAS is slow on the ``(C, F) @ (F, N)``
  orientation with ``F = 2``;
* **the fused product**: the product accumulated straight into each sample of the output, viewed
  ``(C*R, S)`` or, channels last, ``(N, C)`` (``addmm_`` for one sample, ``baddbmm_`` over a
  batch), one pass over the output and no term tensor. For batches it was measured against the
  term added (the same command on both codes, one after the other, ``OMP_NUM_THREADS=1 taskset
  -c 1 coordbias speed layers --paths fp32,channels_last --rounds 5``): fp32 training /
  inference medians 1.062 / 1.085 -> 1.055 / 1.058, channels last 1.058 / 1.081 -> 1.059 /
  1.067; the add alone, ``(8, 64, 128, 128)`` float32, 2.6 ms -> 1.4 ms;
* **the split product for half precision on the CPU** (:func:`_split_product`): the float32 factors
  split into half-precision ``hi + lo`` parts, the product fused into each sample (``addmm_`` /
  ``baddbmm_``, accumulating in float32, rounding once). Against the plain form (the float32 term
  added into the output, torch's slow mixed-dtype add on the CPU), the same command on both codes
  20 minutes apart (``OMP_NUM_THREADS=1 taskset -c 1 coordbias speed layers --paths autocast,half
  --rounds 5``): training / inference medians under bfloat16 autocast 1.268 / 1.513 -> 1.225 /
  1.199, bfloat16 layers 1.334 / 1.650 -> 1.231 / 1.169 (autocast, B16 3->64 at 64 px, inference:
  2.17 -> 1.20); whole networks under bfloat16 autocast (``coordbias speed networks --paths
  autocast_bf16 --rounds 11``) FCN 1.159 -> 1.061, U-Net 1.161 -> 1.096.

The first two were kept because each moves a shape by more than 0.10, measured side by side with
the plain form and with the same code timed twice, 1 thread, 7 interleaved rounds, ratios to
``nn.Conv2d`` on the batch-1 shapes of ``coordbias speed layers`` (the commit before the
simplification, with a ``--variants`` option naming each piece off: ``OMP_NUM_THREADS=1 taskset -c
1 coordbias speed layers --grid b1 --paths fp32,channels_last --rounds 7 --variants
same,plain,no_keep,no_fused,no_strided,no_factored``). Without the factored product, fp32 inference
of B1 3->64 at 32 / 64 px went from 1.92 / 1.45 to 2.60 / 1.94; without the fused product,
channels-last training of B1 3->64 at 32 / 64 / 128 px went from 1.43 / 1.21 / 1.20 to 1.56 / 1.46
/ 1.73. Terms kept per weight for inference and single-call strided views moved no shape by more
than the two timings of the same code differed (up to 0.12) and were dropped, as was, then, a hi/lo
split product for half precision that formed the term apart from the output (its medians moved by
+0.007 / +0.021 in training / inference under bfloat16 autocast, inside the 0.03 the same code
moved, over the 13 shapes of ``--paths fp32,channels_last,autocast,half``, on a day when this CPU's
bfloat16 convolutions were slow; they now run on its AMX units, and the add decides). The traced
implementation is slower than this one by 0.09 / 0.04 (fp32 training / inference medians) and 0.05
/ 0.13 (channels last).

With autograd the addition is one node (:class:`_AddCoordTerm`): its backward passes the output
gradient through untouched and reduces it once for ``coord_weight``: a sum over the batch in the
gradient's dtype (none for one sample: :func:`batch_sum`), then one small matmul with ``G`` in
that dtype (accumulating in float32), cast to the weights' dtype. Nothing output-sized is saved.
The node was measured against the same term by torch's own differentiable operations (commit
5d30df8, ``--variants native``, 1 thread, 5 rounds): fp32 training median 1.065 against 1.080,
inference 1.070 / 1.054; channels-last training 1.308 / 1.913 over 6 shapes (B16 3->64 128 px:
1.062 / 1.975), where torch reduces a channels-last gradient to the term's shape slowly. Not yet
measured on a GPU, where a Python node's fixed cost weighs more: ``coordbias speed networks
--alternatives traced,reduce,native`` (:mod:`coordbias.speed.alternatives`) times it there.

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
from collections.abc import Iterator
from typing import NamedTuple

import torch
import torch.autograd.forward_ad as _forward_ad
from torch import Tensor
from torch.utils._device import DeviceContext

from coordbias.layers._broadcast import add_axes_term, add_broadcast_term, shape_axes
from coordbias.layers._coords import Geometry, _coord_dtype, features, layer_axes
from coordbias.layers.frame import current_frame, framed_add

__all__ = ["add_broadcast_term", "add_coord_term", "enabled", "forced", "shape_axes"]

#: ``False`` sends every call through the traced implementation; set it through :func:`forced`.
enabled = True

_FIRST, _LAST = 0, 1  # layouts of a dense output: channels first (contiguous), channels last
_CACHE: dict = {}  # key -> _Features (see _features)
_CACHE_SIZE = 256
# Calls from several threads share _CACHE. A lookup is a single dict operation (atomic); an
# insert that may first clear the dict to bound its size is made under this lock.
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
        and _no_torch_function(out, coord_weight)
        # Private, for want of a public test: vmap / grad wrap tensors invisibly to Python.
        and not torch._C._are_functorch_transforms_active()
        and not (out.is_cuda and torch.cuda.is_current_stream_capturing())
    ):
        return _eager_add(out, coord_weight, geometry)
    return traced_add(out, coord_weight, geometry)


def _no_torch_function(out: Tensor, coord_weight: Tensor) -> bool:
    """Whether no tensor subclass or torch-function mode would see the eager implementation's calls.

    ``torch.set_default_device`` is itself such a mode, one that only places factory calls made
    without a device (the eager implementation names its device): under it the eager
    implementation runs as without it. Any other mode (FakeTensorMode, FlopCounterMode, ...) gets
    the traced implementation, which its own tracing understands. (The mode stack has no public
    view in torch: ``_get_current_function_mode_stack`` is read only when some mode is active.)
    """
    if not torch.overrides.has_torch_function((out, coord_weight)):
        return True
    return type(coord_weight) in (Tensor, torch.nn.Parameter) and all(
        type(mode) is DeviceContext for mode in torch.overrides._get_current_function_mode_stack()
    )


class _Features(NamedTuple):
    """The cached coordinate features of one geometry, size, dtype, device and layout."""

    grid: Tensor  # G (F, N), float32 / float64 (the feature dtype of the output's dtype)
    grid_t: Tensor | None  # channels last: G^T (N, F), contiguous
    rows: Tensor | None  # channels first, G factored: G[f, (r, s)] = rows[0, r, f] * cols[f, s]
    cols: Tensor | None
    grad_grid: Tensor  # G in the gradient's dtype (the output's)
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
        # Dual tensors: the node's jvp carries the tangents. A private attribute of a public
        # module: the public forward_ad.unpack_dual(coord_weight) costs about 0.8 us per call.
        _forward_ad._current_level >= 0
    ):
        return _AddCoordTerm.apply(out, coord_weight, feats, layout, channel_dim)
    _add_(out, coord_weight, feats, layout, channel_dim)
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
            grid = features(geometry, list(size_out), _coord_dtype(dtype), device)
            size = grid.shape[1]
            grid_t = grid.t().contiguous() if layout == _LAST else None
            factors = None
            if layout == _FIRST and size > 0:
                factors = _factor(grid, size // size_out[-1], size_out[-1])
            rows, cols = factors or (None, None)
            built = _Features(grid, grid_t, rows, cols, grid.to(dtype), size)
        with _LOCK:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.clear()
            hit = _CACHE.setdefault(key, built)  # a thread that built it first wins
    return hit


def _factor(grid: Tensor, rows: int, cols: int) -> tuple[Tensor, Tensor] | None:
    # G[f, (r, s)] = rows[0, r, f] * cols[f, s] when every feature varies along the rows (all
    # spatial axes but the last) or along the columns (the last axis) only; else None. The
    # rows are kept (1, R, F), so that coord_weight (C, 1, F) * rows is (C*R, F) as it lies.
    cube = grid.view(-1, rows, cols)
    first = grid.new_ones(1, rows, cube.shape[0])
    second = grid.new_ones(cube.shape[0], cols)
    for f in range(cube.shape[0]):
        column, row = cube[f, :, :1], cube[f, :1, :]
        if torch.equal(cube[f], column.expand(rows, cols)):
            first[0, :, f] = column[:, 0]
        elif torch.equal(cube[f], row.expand(rows, cols)):
            second[f] = row[0]
        else:
            return None
    return first, second


@torch.jit.unused
@contextlib.contextmanager
def forced(*, eager: bool | None = None) -> Iterator[None]:
    """Inside the block, send every call through the eager implementation where it applies
    (``eager=True``) or through the traced one (``eager=False``); ``None`` leaves the choice as it
    is. The tests run both implementations through it.

    The choice is the module's, for every thread, and is restored on exit.
    """
    global enabled
    saved = enabled
    if eager is not None:
        enabled = eager
    try:
        yield
    finally:
        enabled = saved


def _add_(out: Tensor, weight: Tensor, feats: _Features, layout: int, channel_dim: int) -> None:
    """``out += coord_weight @ G`` in place, in ``out``'s layout (see the module docstring).

    The product is formed in the feature dtype: channels last as ``G^T @ coord_weight^T``
    ``(N, C)``; channels first factored, ``(coord_weight * rows) (C*R, F) @ cols (F, S)``, where
    ``G`` factors (else ``coord_weight @ G``), accumulated into each sample of the output
    (``addmm_`` / ``baddbmm_``); for a half-precision output on the CPU, of the split factors
    (:func:`_split_product`). A half-precision output on CUDA gets the term formed
    (``(C, *spatial)``) and added, broadcast over the batch (the add rounds it once). In-place
    and ``out=`` products, which autocast leaves alone.
    """
    if out.numel() == 0:
        return
    grid = feats.grid
    w = weight if weight.dtype == grid.dtype else weight.to(grid.dtype)
    channels = w.shape[0]
    if layout == _LAST:
        a, b = feats.grid_t, w.t()
    elif feats.rows is not None:
        a, b = (w.unsqueeze(1) * feats.rows).reshape(-1, grid.shape[0]), feats.cols
    else:
        a, b = w, grid
    samples = out.numel() // (channels * feats.size)
    if out.dtype != grid.dtype and out.device.type == "cpu":  # half precision on the CPU: split
        a, b = _split_product(a, b, out.dtype)
    elif out.dtype != grid.dtype:  # half precision on CUDA: its add rounds the term once
        term = torch.mm(
            a, b, out=torch.empty((a.shape[0], b.shape[1]), dtype=a.dtype, device=a.device)
        )
        if layout == _LAST:
            term = term.t()
        out.add_(term.view(channels, *out.shape[channel_dim + 1 :]))
        return
    target = out.movedim(channel_dim, -1) if layout == _LAST else out
    if samples == 1:
        target.view(a.shape[0], b.shape[1]).addmm_(a, b)
    else:
        view = target.view(samples, a.shape[0], b.shape[1])
        view.baddbmm_(a.expand(samples, -1, -1), b.expand(samples, -1, -1))


def _split_product(a: Tensor, b: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Factors of ``dtype`` whose product is the float32 ``a @ b`` to about float32 precision.

    Each factor is split as ``hi + lo`` (``hi`` rounded to ``dtype``, ``lo`` the rest rounded),
    and ``a @ b ~ a_hi @ b_hi + a_hi @ b_lo + a_lo @ b_hi``, one product of inner size ``3 F``. A
    half-precision matrix product into the output accumulates in float32 and rounds once, so the
    output gets the float32 term rounded once, in one pass. On the CPU a float32 term added into a
    bfloat16 output takes torch's slow mixed-dtype path, and a term rounded first rounds twice
    (26 % of the values 1 ulp off the correctly rounded sum, against 0.1 % here).
    """
    a_hi = a.to(dtype)
    a_lo = (a - a_hi).to(dtype)
    b_hi = b.to(dtype)
    b_lo = (b - b_hi).to(dtype)
    return torch.cat([a_hi, a_hi, a_lo], 1), torch.cat([b_hi, b_lo, b_hi], 0)


def _grad_weight(grad: Tensor, feats: _Features, channel_dim: int, dtype: torch.dtype) -> Tensor:
    """The gradient of ``coord_weight``: ``sum_(b, n) grad[b, c, n] * G[f, n]``, ``(C, F)``.

    One reduction of ``grad``: over the batch in its own dtype, then one small matmul with ``G``
    (in the gradient's dtype, accumulating in float32). Differentiable (double backward works).
    """
    grid = feats.grad_grid
    if grad.numel() == 0:
        return grad.new_zeros((grad.shape[channel_dim], grid.shape[0]), dtype=dtype)
    summed = batch_sum(grad, feats.size, channel_dim)
    if summed.dtype != grid.dtype:
        grid = feats.grid if summed.dtype == feats.grid.dtype else grid.to(summed.dtype)
    grad_weight = torch.mm(grid, summed).t()
    return grad_weight if grad_weight.dtype == dtype else grad_weight.to(dtype)


def batch_sum(grad: Tensor, size: int, channel_dim: int) -> Tensor:
    """``grad`` (``(B, C, *spatial)`` or unbatched, ``size`` locations) summed over the batch,
    ``(N, C)``: read in ``grad``'s own layout (a contiguous sum for channels last, a transposed
    view of one for channels first); for one sample, a view of ``grad``. Summing over a batch of
    one copies the gradient: measured side by side, training of B1 3->64 at 32 / 64 / 128 px
    costs 1.90 / 1.43 / 1.35 of ``nn.Conv2d`` with the view and 2.37 / 1.86 / 1.81 with the sum
    (channels last 1.59 / 1.28 / 1.34 against 1.86 / 1.60 / 1.76; B1 64->64 at 128 px 1.06
    against 1.19; B16 unchanged), ``OMP_NUM_THREADS=1 taskset -c 1 python
    scripts/batch_sum_view.py``."""
    channels = grad.shape[channel_dim]
    batch = grad.numel() // (channels * size)
    if _layout(grad, channel_dim) == _LAST and not grad.is_contiguous():
        flat = grad.movedim(channel_dim, -1).reshape(batch, size, channels)
        return flat[0] if batch == 1 else flat.sum(0)
    flat = grad.reshape(batch, channels, size)
    return (flat[0] if batch == 1 else flat.sum(0)).t()


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
