"""Other eager implementations of the coordinate term, timed beside the library's own.

``coordbias speed networks --alternatives traced,reduce,native`` times ``coordbias`` once more per
name, with :func:`coordbias.layers._term.add_coord_term`'s eager implementation swapped for one of
these for the length of each step (:func:`using`). They exist to answer, on a device, one question
the CPU cannot: what the eager path should be where it is furthest from the floor. On the one GPU
run so far (an H200) whole networks in eager mode were 0.6 to 0.9 above the floor, and whether
that is the host (a Python autograd node and the operators it issues) or the device (for example
the backward's matmul ``G (F, N) @ grad (N, C)``, with ``F = 2`` and ``N = H*W``, which cuBLAS may
run on few blocks) was not measured. Each alternative removes one suspect:

* ``traced``: the traced implementation (per-axis vectors broadcast by torch's operations,
  ``forced(eager=False)``): no Python autograd node, no cache; its gradient is torch's reductions;
* ``reduce``: the library's autograd node, its gradient for ``coord_weight`` an elementwise
  product and a sum over the locations instead of the matmul;
* ``native``: the same product as the library's, ``coord_weight @ G`` from the cached features,
  by torch's own differentiable operations (``mm``, a view, an in-place add): no Python autograd
  node, the gradient torch's ``sum`` over the batch and ``mm``.

Each computes the same function as the library's to rounding (the tests check it, forward and
backward). None of them is used outside this benchmark.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

#: The alternatives, by name, with what each changes.
ALTERNATIVES = {
    "traced": "the traced implementation: per-axis vectors broadcast by torch's operations",
    "reduce": "the library's autograd node, its weight gradient a product and a sum, no matmul",
    "native": "coord_weight @ G by torch's differentiable operations, no Python autograd node",
}


def _reduce_grad_weight(grad: Any, feats: Any, channel_dim: int, dtype: Any) -> Any:
    """:func:`coordbias.layers._term._grad_weight` without the matmul: the gradient summed over
    the batch, ``(C, N)``, times each feature row, summed over the locations."""
    import torch

    from coordbias.layers import _term

    grid = feats.grad_grid
    if grad.numel() == 0:
        return grad.new_zeros((grad.shape[channel_dim], grid.shape[0]), dtype=dtype)
    summed = _term.batch_sum(grad, feats.size, channel_dim).t()  # (C, N)
    if summed.dtype != grid.dtype:
        grid = grid.to(summed.dtype)
    grad_weight = (summed.unsqueeze(1) * grid).sum(-1, dtype=torch.float32)  # (C, F)
    return grad_weight.to(dtype)


def _native_add(out: Any, coord_weight: Any, geometry: Any) -> Any:
    """The eager implementation by torch's differentiable operations (see the module docstring)."""
    from coordbias.layers import _term

    dims = len(geometry.kernel)
    channel_dim = out.dim() - dims - 1
    layout = _term._layout(out, channel_dim)
    if layout < 0 or out.dtype not in _term._DTYPES:
        return _term.traced_add(out, coord_weight, geometry)
    feats = _term._features(geometry, out.shape[channel_dim + 1 :], out.dtype, out.device, layout)
    weight = coord_weight.to(feats.grid.dtype)
    spatial = out.shape[channel_dim + 1 :]
    if layout == _term._LAST:
        term = (feats.grid_t @ weight.t()).view(*spatial, -1).movedim(-1, 0)
    else:
        term = (weight @ feats.grid).view(-1, *spatial)
    return out.add_(term)


@contextlib.contextmanager
def using(name: str | None) -> Iterator[None]:
    """Inside the block, the eager coordinate term is the alternative ``name`` (one of
    :data:`ALTERNATIVES`; ``None``: the library's own, the block entered all the same); restored
    on exit. For one thread: it changes module state."""
    from coordbias.layers import _term

    if name is None:
        yield
        return
    if name not in ALTERNATIVES:
        known = ", ".join(ALTERNATIVES)
        raise ValueError(f"unknown alternative {name!r}; the alternatives are {known}")
    if name == "traced":
        with _term.forced(eager=False):
            yield
        return
    from unittest import mock

    attribute, replacement = (
        ("_grad_weight", _reduce_grad_weight) if name == "reduce" else ("_eager_add", _native_add)
    )
    with mock.patch.object(_term, attribute, replacement):
        yield


def wrap(step: Callable[[], Any], name: str | None) -> Callable[[], Any]:
    """``step`` (a function of no arguments) run with the alternative ``name`` (:func:`using`)."""

    def step_with_alternative() -> Any:
        with using(name):
            return step()

    return step_with_alternative
