"""Each piece of the eager coordinate term beyond the plain form can be turned off through
``coordbias.layers._term.forced`` (to measure what it is worth: ``coordbias speed layers
--variants``), and off it computes the same function: the same outputs and gradients, to rounding,
on contiguous and channels-last outputs, in float32 and bfloat16, for one sample and a batch.
"""

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

import coordbias as cb
from coordbias.layers import _term

LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
# Each piece off alone, and all of them off (the plain form).
OFF = {name: {name: False} for name in _term.PIECES} | {"plain": dict.fromkeys(_term.PIECES, False)}
# float32: rounding of the term. bfloat16: one rounding of the output, and at most one of the
# term (inference adds the kept term, rounded, where the call with autograd fuses the split
# product into the output): one unit in the last place of each. The term is at most 4 here (two
# coordinates in [-1, 1], weights in [-2, 2]).
_EPS16 = torch.finfo(torch.bfloat16).eps
TOLERANCES = {
    torch.float32: {"rtol": 1e-5, "atol": 1e-5},
    torch.bfloat16: {"rtol": _EPS16, "atol": 4 * _EPS16},
}


def _layer(dtype, layout):
    torch.manual_seed(0)
    layer = cb.CoordBiasConv2d(3, 5, 3, padding=1)
    with torch.no_grad():
        layer.coord_weight.uniform_(-2, 2)  # a dominant coordinate term, so that errors show
    return layer.to(dtype=dtype, memory_format=LAYOUTS[layout])


def _results(layer, x, grad):
    """The output and the gradients of a call with autograd; two outputs of inference (the
    second from what the first kept)."""
    xg = x.detach().clone().requires_grad_()
    layer.zero_grad(set_to_none=True)
    out = layer(xg)
    out.backward(grad)
    grads = [xg.grad, layer.weight.grad, layer.coord_weight.grad]
    with torch.no_grad():
        infer = [layer(x), layer(x)]
    return [out.detach(), *grads, *infer]


@pytest.mark.parametrize("batch", [1, 2], ids=["b1", "b2"])
@pytest.mark.parametrize("dtype", list(DTYPES.values()), ids=list(DTYPES))
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("off", list(OFF))
def test_a_piece_turned_off_computes_the_same_function(off, layout, dtype, batch):
    layer = _layer(dtype, layout)
    torch.manual_seed(1)
    x = torch.randn(batch, 3, 9, 10, dtype=dtype).contiguous(memory_format=LAYOUTS[layout])
    grad = torch.randn(batch, 5, 9, 10, dtype=dtype).contiguous(memory_format=LAYOUTS[layout])
    expected = _results(layer, x, grad)
    with _term.forced(**OFF[off]):
        got = _results(layer, x, grad)  # the same weights: what default calls kept is not used
    again = _results(layer, x, grad)  # nor what the calls with the piece off kept
    for a, b, c in zip(got, expected, again, strict=True):
        assert a.dtype == b.dtype and a.stride() == b.stride()
        torch.testing.assert_close(a, b, **TOLERANCES[dtype])
        assert torch.equal(c, b)


def _ops(fn) -> set[str]:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return {event.name for event in prof.events()}


# Per piece: a case where it applies, and a torch operation that only it (on) or only its
# plain replacement (off) calls there.
SIGNS = {
    "factored": (torch.float32, "contiguous", 2, "aten::bmm", True),
    "fused_half": (torch.bfloat16, "contiguous", 2, "aten::cat", True),
    "reuse_parts": (torch.float32, "contiguous", 2, "aten::equal", True),
    "strided_views": (torch.float32, "channels_last", 1, "aten::movedim", False),
    "fused_sample": (torch.float32, "contiguous", 1, "aten::addmm_", True),
}


@pytest.mark.parametrize("piece", _term.PIECES)
def test_each_switch_changes_what_runs(piece):
    dtype, layout, batch, op, only_on = SIGNS[piece]
    layer = _layer(dtype, layout)
    x = torch.randn(batch, 3, 9, 10, dtype=dtype).contiguous(memory_format=LAYOUTS[layout])

    def calls():
        layer(x).sum().backward()
        with torch.no_grad():
            layer(x), layer(x)

    calls()  # the features are built outside the profiled calls
    on = _ops(calls)
    with _term.forced(**{piece: False}):
        calls()
        off = _ops(calls)
    assert (op in on, op in off) == (only_on, not only_on), piece


def test_pieces_are_the_choices_of_forced():
    before = {name: getattr(_term, name) for name in _term.PIECES}
    with _term.forced(**dict.fromkeys(_term.PIECES, False)):
        assert all(getattr(_term, name) is False for name in _term.PIECES)
    assert {name: getattr(_term, name) for name in _term.PIECES} == before
