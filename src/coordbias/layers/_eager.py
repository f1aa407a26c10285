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
* The term is added into the convolution's output in place, in one pass: for one sample
  ``out.view(C, N).addmm_(coord_weight, G)``, for a batch one ``(C, N)`` product broadcast over
  it. With autograd this is one node, :class:`_AddCoordTerm`, whose backward passes the output
  gradient through untouched (the bias stays inside the convolution, so the convolution's
  gradients are torch's, bit for bit) and finds the gradient of ``coord_weight`` in one pass over
  it, as ``G (D, N) @ grad^T (N, B * C)`` summed over the batch. Nothing output-sized is saved.

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


def _add_term_(out: Tensor, coord_weight: Tensor, grid: Tensor) -> Tensor:
    # out (B, C, *spatial) += (coord_weight @ grid) reshaped to (C, *spatial), in place.
    batch, channels, size = out.shape[0], out.shape[1], grid.shape[1]
    if batch == 1:  # one fused pass: the product is accumulated straight into the output
        out.view(channels, size).addmm_(coord_weight, grid)
    else:  # the (C, N) term once, broadcast over the batch
        out.view(batch, channels, size).add_(torch.mm(coord_weight, grid))
    return out


class _AddCoordTerm(torch.autograd.Function):
    """``out += coord_weight @ grid`` in place, as one autograd node.

    Inputs: ``out`` ``(B, C, *spatial)`` (contiguous, the convolution's own fresh output),
    ``coord_weight`` ``(C, D)`` and ``grid`` ``(D, N)`` with ``N = prod(spatial)``. The output
    gradient passes through untouched (so the convolution's gradients are torch's, bit for bit);
    the gradient of ``coord_weight`` is one pass over it. Nothing output-sized is saved.
    """

    @staticmethod
    def forward(ctx, out, coord_weight, grid):  # type: ignore[override]
        _add_term_(out, coord_weight, grid)
        ctx.mark_dirty(out)
        ctx.grid = grid  # a cached constant of the geometry, not a per-call tensor
        ctx.out_shape = out.shape
        return out

    @staticmethod
    def jvp(ctx, out_dot, weight_dot, grid_dot):  # type: ignore[override]
        # Forward-mode AD: the output's tangent gets the same term built from the weight's
        # tangent, in place (out was modified in place). Tangents may have any strides.
        if weight_dot is None:
            return out_dot
        if out_dot is None:
            out_dot = weight_dot.new_zeros(ctx.out_shape)
        term = torch.mm(weight_dot, ctx.grid).view(1, ctx.out_shape[1], *ctx.out_shape[2:])
        return out_dot.add_(term)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        grad_weight = None
        if ctx.needs_input_grad[1]:
            batch, channels = grad.shape[0], grad.shape[1]
            grid = ctx.grid
            # (D, N) @ (N, B * C): on CPU BLAS this orientation is several times faster than
            # (B * C, N) @ (N, D) and as fast as a plain reduction over grad. The sum over the
            # batch is then over (D, B, C), small. Differentiable ops: double backward works.
            per_sample = torch.mm(grid, grad.reshape(batch * channels, grid.shape[1]).t())
            if batch != 1:
                per_sample = per_sample.view(grid.shape[0], batch, channels).sum(1)
            grad_weight = per_sample.t()
        return grad, grad_weight, None


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
        and not _autocast_on(input.device.type)
    )


def _autocast_on(device_type: str) -> bool:
    # Devices without autocast (meta, for shape inference) cannot have it switched on.
    return torch.amp.is_autocast_available(device_type) and torch.is_autocast_enabled(device_type)


def _grid(layer, input: Tensor, out: Tensor, transposed: bool) -> Tensor:
    """The flattened coordinate grid ``(D, N)`` of this geometry, cached on the module."""
    size_in = input.shape[2:]
    size_out = out.shape[2:]
    key = (
        size_in, size_out, layer.coords, layer.stride, layer.padding, layer.dilation,
        layer.kernel_size, out.dtype, out.device,
    )  # fmt: skip
    cached = layer.__dict__.get("_coord_grid_cache")
    if cached is not None and cached[0] == key:
        return cached[1]
    pad_left = layer.padding
    if pad_left == "same":
        pad_left = CF._same_padding(list(layer.kernel_size), list(layer.dilation))[0]
    elif pad_left == "valid":
        pad_left = [0] * len(size_out)
    # Normal tensors even under inference_mode, so that later autograd calls may use them.
    with torch.inference_mode(False), torch.no_grad():
        axes = CF._layer_coords(
            transposed, layer.coords, list(size_in), list(size_out), list(layer.kernel_size),
            list(layer.stride), list(pad_left), list(layer.dilation), out.dtype, out.device,
        )  # fmt: skip
        grid = CF.coordinate_grid(axes).reshape(len(axes), -1).contiguous()
    layer.__dict__["_coord_grid_cache"] = (key, grid)
    return grid


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
    grid = _grid(layer, input, out, transposed)
    if tracked:
        return _AddCoordTerm.apply(out, coord_weight, grid)
    return _add_term_(out, coord_weight, grid)


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
