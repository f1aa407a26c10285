"""The alternative eager implementations compute the library's function, forward and backward."""

import pytest
import torch

import coordbias
from coordbias.layers import _term
from coordbias.speed import alternatives


def _layer(transposed: bool, channels_last: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    if transposed:
        layer = coordbias.CoordBiasConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1)
    else:
        layer = coordbias.CoordBiasConv2d(3, 5, 3, padding=1, stride=(1, 2))
    return layer.to(memory_format=torch.channels_last) if channels_last else layer


def _run(layer: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    layer.zero_grad(set_to_none=True)
    x = x.detach().requires_grad_()
    out = layer(x)
    out.backward(torch.linspace(-1, 1, out.numel()).view_as(out))
    return out.detach(), x.grad, layer.weight.grad, layer.coord_weight.grad


@pytest.mark.parametrize("name", list(alternatives.ALTERNATIVES))
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
def test_each_alternative_computes_the_library_function(name, transposed, channels_last, batch):
    layer = _layer(transposed, channels_last)
    x = torch.randn(batch, 3, 6, 8)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    want = _run(layer, x)
    with alternatives.using(name):
        got = _run(layer, x)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert got[0].is_contiguous(memory_format=torch.channels_last) == channels_last


@pytest.mark.parametrize("name", list(alternatives.ALTERNATIVES))
def test_each_alternative_is_what_runs_inside_and_is_undone_after(name):
    layer = _layer(False, False)
    x = torch.randn(2, 3, 6, 8)

    def nodes() -> str:
        return type(layer(x).grad_fn).__name__

    assert nodes() == "_AddCoordTermBackward"
    calls = []
    saved = _term._grad_weight

    def counting(*args):
        calls.append(1)
        return saved(*args)

    _term._grad_weight = counting
    try:
        with alternatives.using(name):
            layer(x).sum().backward()
    finally:
        _term._grad_weight = saved
    # Only the library's own node computes its weight gradient with _grad_weight.
    assert calls == []
    assert nodes() == "_AddCoordTermBackward" and _term._grad_weight is saved


def test_an_unknown_alternative_is_refused():
    with pytest.raises(ValueError, match="native"), alternatives.using("fused"):
        pass
