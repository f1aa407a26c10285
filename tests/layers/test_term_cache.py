"""What the eager coordinate term keeps between calls can never go stale, leak or race.

``coordbias.layers._term`` keeps each geometry's coordinate features and nothing derived from
``coord_weight``: every change of the weight (in place, with or without autograd seeing it) must
show in the next call, a weight's memory lent to the next tensor must give that tensor's result,
repeated calls must keep nothing more, and calls from several threads at once must give what each
gives alone.
"""

from __future__ import annotations

import copy
import gc
import threading

import pytest
import torch
from torch import nn

import coordbias as cb
from coordbias import functional as CF
from coordbias.layers import _term
from tests.layers._device import on_test_device

LAYOUTS = {
    "contiguous": torch.contiguous_format,
    "channels_last": torch.channels_last,
}


def _layer(dtype=torch.float32) -> nn.Module:
    torch.manual_seed(0)
    layer = cb.CoordBiasConv2d(3, 4, 3, padding=1, dtype=dtype).eval()
    with torch.no_grad():
        layer.coord_weight.uniform_(-2, 2)
    return layer


CHANGES = {
    "data": lambda w: w.data.mul_(-2),  # behind autograd's back: the version does not change
    "no_grad": lambda w: w.add_(1),  # seen by autograd: the version changes
    "data_swap": lambda w: setattr(w, "data", w.data * 3),  # a new storage under the same weight
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_a_weight_changed_in_place_changes_the_next_inference(change, layout, batch, dtype):
    layer = _layer().to(dtype=dtype, memory_format=LAYOUTS[layout])
    x = torch.randn(batch, 3, 9, 10, dtype=dtype).contiguous(memory_format=LAYOUTS[layout])
    with torch.no_grad():
        first = layer(x)
        assert torch.equal(layer(x), first)
        CHANGES[change](layer.coord_weight)
        changed = layer(x)
        fresh = copy.deepcopy(layer)(x)  # another weight object, the same values
    assert not torch.equal(changed, first), "a change of the weights' values must show"
    assert torch.equal(changed, fresh)


def test_a_freed_weights_memory_lent_to_another_never_returns_its_result():
    # Weights made and freed one after another: their ids and storages are reused by the next
    # ones (with other values), which must get their own results, never an earlier weight's.
    x = torch.randn(2, 3, 9, 10)
    weight = torch.randn(4, 3, 3, 3)
    for i in range(30):
        coord_weight = torch.full((4, 2), float(i)) + torch.randn(4, 2)
        with torch.no_grad():
            out = CF.coord_bias_conv2d(x, weight, None, coord_weight, padding=1)
        expect = CF.coord_bias_conv2d(x, weight, None, coord_weight.requires_grad_(), padding=1)
        assert torch.equal(out, expect.detach()), i
        del coord_weight, out, expect


def _live_tensors() -> int:
    gc.collect()
    return sum(type(o) is torch.Tensor for o in gc.get_objects())


def test_repeated_inference_keeps_nothing_beyond_the_features():
    x = torch.randn(2, 3, 11, 7)  # a size no other test of this module uses: a fresh cache entry
    weight = torch.randn(4, 3, 3, 3)

    def call() -> None:
        with torch.no_grad():
            CF.coord_bias_conv2d(x, weight, None, torch.randn(4, 2), padding=1)

    call()  # the geometry's features, kept for as long as the process lives
    before = _live_tensors()
    for _ in range(10):
        call()
    assert _live_tensors() == before


def test_concurrent_inference_and_training_equal_the_calls_made_alone():
    torch.manual_seed(1)
    model = nn.Sequential(
        cb.CoordBiasConv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        cb.CoordBiasConv2d(8, 8, 3, stride=2, padding=1),
        cb.CoordBiasConvTranspose2d(8, 2, 2, stride=2),
    )
    params = list(model.parameters())
    # Inputs of several sizes and batches, so that threads fill the cache at the same time.
    inputs = [torch.randn(b, 3, s, s + 2) for b, s in [(1, 8), (2, 12), (1, 16), (3, 8)]]

    def infer(x: torch.Tensor) -> list[torch.Tensor]:
        with torch.no_grad():
            return [model(x)]

    def train(x: torch.Tensor) -> list[torch.Tensor]:
        out = model(x)
        return [out.detach(), *torch.autograd.grad(out.square().sum(), params)]

    jobs = [(run, x) for run in (infer, train) for x in inputs]
    alone = [run(x) for run, x in jobs]
    intra_op = torch.get_num_threads()
    barrier = threading.Barrier(len(jobs))
    wrong = [0] * len(jobs)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        run, x = jobs[i]
        # A new thread starts at the default intra-op thread count, not the caller's (an OpenMP
        # setting of each thread); a reduction split over another count rounds differently, for
        # nn.Conv2d as for these layers, so every thread computes at the caller's count.
        try:
            torch.set_num_threads(intra_op)
            with on_test_device():  # the default device is each thread's own too
                for _ in range(15):
                    barrier.wait(timeout=60)
                    got = run(x)
                    if not all(torch.equal(a, b) for a, b in zip(got, alone[i])):
                        wrong[i] += 1
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert wrong == [0] * len(jobs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_nothing_is_kept_while_a_cuda_graph_is_captured():
    # A tensor kept during capture lives in the graph's memory pool and is overwritten by later
    # replays: eager calls after the capture must not read it.
    layer = _layer().cuda()
    x = torch.randn(2, 3, 13, 11, device="cuda")
    static = x.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.no_grad(), torch.cuda.stream(stream):
        layer(static)  # warm-up outside the capture, as torch.cuda.graph wants
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad():
        with torch.cuda.graph(graph):
            captured = layer(static)
        for scale in (2.0, -3.0):
            static.copy_(x * scale)
            graph.replay()
            eager = layer(static)
            # The capture ran the traced implementation: the same bits as a traced call now, and
            # the eager one's values to the rounding of the term (a kept, overwritten tensor
            # would be far off).
            with _term.forced(eager=False):
                assert torch.equal(captured, layer(static))
            torch.testing.assert_close(captured, eager)
            with torch.enable_grad():
                assert torch.equal(eager, layer(static).detach())


@pytest.mark.slow
def test_compiled_code_builds_the_coordinates_inline_and_keeps_nothing():

    torch._dynamo.reset()
    layer = cb.CoordBiasConv2d(3, 4, 3, padding=1).eval()
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)
    x = torch.randn(2, 3, 17, 19)  # a size no other test of this module uses: nothing cached
    with _term._LOCK:
        before = set(_term._CACHE)
    with torch.no_grad():
        out = compiled(x)
    with _term._LOCK:
        assert set(_term._CACHE) == before
    torch.testing.assert_close(out, layer(x))
