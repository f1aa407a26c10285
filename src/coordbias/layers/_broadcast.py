"""The coordinate term as per-axis vectors broadcast into a convolution's output.

What compilers and exporters see (the traced implementation of
:func:`coordbias.layers._term.add_coord_term`), what :func:`coordbias.layers.functional.coord_bias`
computes, and what a coordinate frame adds. TorchScript-compatible.
"""

from torch import Tensor

__all__ = ["add_axes_term", "add_broadcast_term", "shape_axes"]


def shape_axes(axes: list[Tensor], lead: int, channels_last: bool) -> list[Tensor]:
    """Axis ``i`` as ``(lead, 1, .., n_i, .., 1)`` with the channel slot first, or, channels
    last, ``(lead, .., n_i, .., 1)`` with the channel slot last, ready to broadcast; an axis of
    shape ``(B, n_i)`` (with ``lead == 1``) puts its ``B`` in the lead slot."""
    dims = len(axes)
    shaped: list[Tensor] = []
    for i, axis in enumerate(axes):
        shape = [1] * (lead + dims + 1)
        shape[lead + i if channels_last else lead + 1 + i] = axis.shape[-1]
        if axis.dim() == 2:  # per-sample vectors (B, n_i) of a coordinate frame: B leads
            shape[0] = axis.shape[0]
        shaped.append(axis.reshape(shape))
    return shaped


def add_broadcast_term(
    out: Tensor, coord_weight: Tensor, shaped: list[Tensor], channels_last: bool, inplace: bool
) -> Tensor:
    """``out + sum_i coord_weight[:, i] * shaped[i]``, the term a ``(C, *spatial)`` map.

    An outer sum of per-axis terms broadcast elementwise (a K = D matmul is slower on the CPU),
    with a batch dimension of size 1 so that for one sample the backward needs no reduction. For
    a channels-last output the map is built as ``(1, *spatial, C)``, so that the add streams both
    tensors. The term is computed in the coordinates' dtype and added in it: the sum is rounded
    once to ``out``'s dtype (a term rounded before the add would round twice).
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
    if inplace:
        return out.add_(term)
    total = out + term
    return total if total.dtype == out.dtype else total.to(out.dtype)


def add_axes_term(out: Tensor, coord_weight: Tensor, axes: list[Tensor], inplace: bool) -> Tensor:
    """:func:`add_broadcast_term` of per-axis vectors ``axes`` (``(n_i,)``, or ``(B, n_i)`` per
    sample), shaped for ``out``'s batch and memory layout (:func:`shape_axes`)."""
    batched = out.dim() == len(axes) + 2
    channels_last = batched and out.shape[1] > 1 and out.stride(1) == 1
    shaped = shape_axes(axes, 1 if batched else 0, channels_last)
    return add_broadcast_term(out, coord_weight, shaped, channels_last, inplace)
