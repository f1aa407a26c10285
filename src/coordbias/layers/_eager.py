"""Eager fast path of the coordinate-bias modules.

The modules' general path (:mod:`coordbias.layers.functional`) handles every input and is what
TorchScript, ``torch.compile`` and the exporters see. In plain eager mode, for the common case
(batched, contiguous float32 / float64 tensors, no autocast, no functorch transform, no tensor
subclass), the modules take this shorter path instead. It computes the same function with fewer
eager operations, which matters because the coordinate term's cost is a fixed per-call overhead
plus memory traffic over the output, large next to a small convolution:

* The coordinate grid of the layer's geometry is built once and kept on the module, flattened to
  ``G`` of shape ``(D, N)`` with ``N = prod(spatial_out)``; the term is ``coord_weight @ G``.
* The convolution is torch's own (``_conv_forward``, or ``conv_transposeNd``), with the bias
  inside it, so that a zero ``coord_weight`` gives the torch layer bit for bit.
* Inference adds the term into the convolution's output in place: for one sample
  ``out.view(C, N).addmm_(coord_weight, G)``, one pass over the output.
* Training with one sample uses :class:`_AddCoordTerm`, one autograd node: the same in-place
  ``addmm_`` forward, and a backward that passes the output gradient through untouched and
  finds the gradient of ``coord_weight`` as one product ``grad (C, N) @ G^T (N, D)``. Nothing
  output-sized is saved, and the bias stays inside the convolution (so its gradient is torch's,
  bit for bit).
* Training with a batch adds the ``(1, C, *spatial)`` term in place with ordinary autograd ops;
  its backward is one reduction over the batch and a small product.

The result equals the general path's up to float rounding of the coordinate term (the product
``coord_weight @ G`` may round differently from the general path's broadcast multiply-add).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from coordbias.layers import functional as CF

__all__ = ["eager_forward"]

_FAST_DTYPES = (torch.float32, torch.float64)

#: ``False`` sends every call through the general path (the tests compare the two paths).
enabled = True


class _AddCoordTerm(torch.autograd.Function):
    """``out.view(C, N) += coord_weight @ grid`` in place, for a single-sample output.

    Inputs: ``out`` ``(1, C, *spatial)`` (contiguous, the convolution's own fresh output),
    ``coord_weight`` ``(C, D)``, ``grid`` ``(D, N)`` and its transpose ``grid_t`` ``(N, D)``.
    """

    @staticmethod
    def forward(ctx, out, coord_weight, grid, grid_t):  # type: ignore[override]
        out.view(out.shape[1], -1).addmm_(coord_weight, grid)
        ctx.mark_dirty(out)
        ctx.grid_t = grid_t  # a cached constant of the geometry, not a per-call tensor
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        # Linear in grad, with differentiable ops: double backward works as well.
        grad_weight = None
        if ctx.needs_input_grad[1]:
            grad_weight = torch.mm(grad.reshape(grad.shape[1], -1), ctx.grid_t)
        return grad, grad_weight, None, None


def _fast_path_applies(layer, input: Tensor) -> bool:
    # Compilation and tracing first: they must see the general path and nothing else.
    if not enabled or torch.compiler.is_compiling() or torch.jit.is_tracing():
        return False
    weight = layer.weight
    return (
        type(input) is torch.Tensor
        and input.dim() == weight.dim()
        and input.shape[1] == layer.in_channels
        and layer.coords in CF.COORDS
        and (not layer.transposed or layer.padding_mode == "zeros")
        and input.dtype in _FAST_DTYPES
        and weight.dtype == input.dtype
        and layer.coord_weight.dtype == input.dtype
        and input.is_contiguous()
        and weight.is_contiguous()
        and not torch.overrides.has_torch_function((input, weight, layer.coord_weight))
        and not torch._C._are_functorch_transforms_active()
        and not torch.is_autocast_enabled(input.device.type)
    )


def _grids(layer, input: Tensor, out: Tensor, transposed: bool) -> tuple:
    """``(key, grid (D, N), grid_t (N, D), term shape (1, C, *spatial_out))``, cached."""
    size_in = input.shape[2:]
    size_out = out.shape[2:]
    key = (
        size_in, size_out, layer.coords, layer.stride, layer.padding, layer.dilation,
        layer.kernel_size, out.dtype, out.device,
    )  # fmt: skip
    cached = layer.__dict__.get("_coord_grid_cache")
    if cached is not None and cached[0] == key:
        return cached
    dims = len(size_out)
    dtype, device = out.dtype, out.device
    if transposed or layer.coords == "output":
        centered = layer.coords == "center"
        axes = [CF.output_coords(n, centered, dtype, device) for n in size_out]
    else:
        pad_left = layer.padding
        if isinstance(pad_left, str):  # "same" (torch pads the extra pixel at the end) or "valid"
            same = pad_left == "same"
            pad_left = [
                d * (k - 1) // 2 if same else 0 for d, k in zip(layer.dilation, layer.kernel_size)
            ]
        geometry = zip(size_in, size_out, layer.kernel_size, layer.stride, pad_left, layer.dilation)
        axes = [CF.center_coords(*g, dtype, device) for g in geometry]
    with torch.inference_mode(False), torch.no_grad():
        grid = CF.coordinate_grid(axes).reshape(dims, -1).contiguous()
        grid_t = grid.t().contiguous()
    cached = (key, grid, grid_t, (1, out.shape[1], *size_out))
    layer.__dict__["_coord_grid_cache"] = cached
    return cached


def eager_forward(layer, input: Tensor, output_size: list[int] | None = None) -> Tensor | None:
    """The module's output by the fast path, or ``None`` where the general path must run.

    Args:
        layer: a coordinate-bias module (convolution or transposed convolution).
        input: ``(B, C_in, *spatial)``.
        output_size: transposed layers only, as in torch.

    Returns:
        ``(B, C_out, *spatial_out)``, or ``None`` (unbatched, channels-last or half-precision
        input, autocast, compilation, tracing, tensor subclasses, functorch transforms, or a
        wrong channel count, which the general path reports).
    """
    if not _fast_path_applies(layer, input):
        return None
    weight, bias, coord_weight = layer.weight, layer.bias, layer.coord_weight
    batch = input.shape[0]
    tracked = torch.is_grad_enabled() and (
        input.requires_grad
        or weight.requires_grad
        or coord_weight.requires_grad
        or (bias is not None and bias.requires_grad)
    )
    transposed = layer.transposed
    if transposed:
        out = _conv_transpose(layer, input, weight, bias, output_size)
    else:
        out = layer._conv_forward(input, weight, bias)
    if not out.is_contiguous():
        return None  # an unexpected layout from the backend: let the general path decide
    _, grid, grid_t, term_shape = _grids(layer, input, out, transposed)
    if batch == 1:
        if tracked:
            return _AddCoordTerm.apply(out, coord_weight, grid, grid_t)
        out.view(out.shape[1], -1).addmm_(coord_weight, grid)
        return out
    # A batch: the term is computed once and broadcast; its backward sums over the batch.
    return out.add_(torch.mm(coord_weight, grid).view(term_shape))


def _conv_transpose(
    layer, input: Tensor, weight: Tensor, bias: Tensor | None, output_size: list[int] | None
) -> Tensor:
    dims = weight.dim() - 2
    output_padding = layer._output_padding(
        input, output_size, list(layer.stride), list(layer.padding), list(layer.kernel_size),
        dims, list(layer.dilation),
    )  # fmt: skip
    conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[dims - 1]
    return conv(
        input,
        weight,
        bias,
        layer.stride,
        layer.padding,
        output_padding,
        layer.groups,
        layer.dilation,
    )
