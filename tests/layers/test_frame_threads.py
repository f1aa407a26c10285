"""A coordinate frame holds for the thread, or the async task, that entered it, and no other.

Tiled inference is often run from a thread pool or an async server: one model called at once
from several threads, some inside their own frame, some outside any. Each call must give, bit for
bit, what the same call gives alone.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
import torch
from torch import nn

import coordbias as cb
from coordbias import coordinate_frame
from coordbias.layers import _coords
from tests.layers._device import on_test_device

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script:DeprecationWarning")

SIZE = (32, 32)
TILE = (16, 16)


def _model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(
        cb.CoordConv2d(2, 4, 3, padding=1),
        nn.ReLU(),
        cb.CoordBiasConv2d(4, 4, 3, stride=2, padding=1),
        cb.CoordBiasConvTranspose2d(4, 2, 2, stride=2),
    ).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (cb.CoordBiasConv2d, cb.CoordBiasConvTranspose2d)):
                m.coord_weight.uniform_(-2, 2)  # large, so that wrong coordinates show
    return model


def _crop(image: torch.Tensor, origin) -> torch.Tensor:
    return image[..., origin[0] : origin[0] + TILE[0], origin[1] : origin[1] + TILE[1]]


def _call(model: nn.Module, image: torch.Tensor, origin) -> torch.Tensor:
    """The model on the tile at ``origin``, inside its frame, or, for ``None``, on the first tile
    outside any frame."""
    with torch.no_grad():
        if origin is None:
            return model(_crop(image, (0, 0)))
        with coordinate_frame(origin=origin, size=SIZE, tile=TILE):
            return model(_crop(image, origin))


def test_threads_with_and_without_frames_each_get_their_own_result_bit_for_bit():
    model = _model()
    image = torch.randn(2, 2, *SIZE)
    # Half the threads in frames of their own (tiles of different origins), half in none.
    origins = [(0, 8), None, (16, 0), None, (8, 16), None]
    alone = [_call(model, image, origin) for origin in origins]
    intra_op = torch.get_num_threads()
    barrier = threading.Barrier(len(origins))
    wrong = [0] * len(origins)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        # A new thread starts at the default intra-op thread count, not the caller's (an OpenMP
        # setting of each thread); a reduction split over another count rounds differently, for
        # nn.Conv2d as for these layers, so every thread computes at the caller's count; likewise
        # the default device is each thread's own.
        try:
            torch.set_num_threads(intra_op)
            with on_test_device():
                for _ in range(40):
                    barrier.wait(timeout=30)  # every thread calls the model at the same time
                    if not torch.equal(_call(model, image, origins[i]), alone[i]):
                        wrong[i] += 1
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(origins))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert wrong == [0] * len(origins)


def test_a_frame_entered_in_one_thread_is_not_seen_in_another():
    model = _model()
    image = torch.randn(1, 2, *SIZE)
    plain = _call(model, image, None)
    entered, done = threading.Event(), threading.Event()
    inside: list[bool] = []

    def framed() -> None:
        with coordinate_frame(origin=(0, 16), size=SIZE, tile=TILE):
            inside.append(_coords.active is not None)
            entered.set()
            done.wait(timeout=30)

    thread = threading.Thread(target=framed)
    thread.start()
    try:
        assert entered.wait(timeout=30)
        assert _coords.active is None
        assert torch.equal(_call(model, image, None), plain)
    finally:
        done.set()
        thread.join()
    assert inside == [True]


def test_a_frame_entered_in_an_async_task_is_not_seen_in_a_sibling_task():
    model = _model()
    image = torch.randn(1, 2, *SIZE)
    plain = _call(model, image, None)
    framed_alone = _call(model, image, (16, 16))

    async def framed(entered: asyncio.Event, done: asyncio.Event) -> torch.Tensor:
        with coordinate_frame(origin=(16, 16), size=SIZE, tile=TILE):
            entered.set()
            await done.wait()  # the sibling runs while this task is inside its frame
            with torch.no_grad():
                return model(_crop(image, (16, 16)))

    async def sibling(entered: asyncio.Event, done: asyncio.Event) -> tuple:
        await entered.wait()
        seen = _coords.active
        out = _call(model, image, None)
        done.set()
        return seen, out

    async def main() -> tuple:
        entered, done = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(framed(entered, done), sibling(entered, done))

    in_frame, (seen, out) = asyncio.run(main())
    assert seen is None
    assert torch.equal(out, plain)
    assert torch.equal(in_frame, framed_alone)


def test_a_scripted_model_runs_in_a_thread_outside_while_another_is_inside_a_frame():
    layer = cb.CoordBiasConv2d(2, 3, 3)
    scripted = torch.jit.script(layer)
    x = torch.randn(1, 2, 6, 6)
    entered, done = threading.Event(), threading.Event()
    refused: list[bool] = []

    def framed() -> None:
        with coordinate_frame(origin=(0, 0), size=(12, 12), tile=(6, 6)):
            try:
                scripted(x)
            except RuntimeError as error:
                refused.append("TorchScript code cannot see the frame" in str(error))
            entered.set()
            done.wait(timeout=30)

    thread = threading.Thread(target=framed)
    thread.start()
    try:
        assert entered.wait(timeout=30)
        torch.testing.assert_close(scripted(x), layer(x))  # this thread is in no frame
    finally:
        done.set()
        thread.join()
    assert refused == [True]
