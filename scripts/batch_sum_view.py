"""One sample's weight gradient: the gradient viewed against it summed over a batch of one.

``coordbias.layers._term.batch_sum`` returns a view of the gradient for one sample, where a sum
over the batch would copy it. This times a training step (forward and backward) of
``CoordBiasConv2d`` with each form, side by side in interleaved rounds, as a ratio to
``nn.Conv2d``'s step (medians over 7 rounds), with freed memory kept
(``coordbias._util.memory``: otherwise the page faults of fresh allocations decide the small
shapes' order). Run it alone on a quiet machine::

    OMP_NUM_THREADS=1 taskset -c 1 python scripts/batch_sum_view.py
"""

import statistics
from unittest import mock

import torch
from torch.utils.benchmark import Timer

import coordbias
from coordbias._util.memory import keep_freed_memory
from coordbias.layers import _term

SHAPES = [(1, 3, 64, 32), (1, 3, 64, 64), (1, 3, 64, 128), (1, 64, 64, 128), (16, 3, 64, 32)]


def summed_copy(grad, size, channel_dim):
    """``batch_sum`` summing over a batch of one too (the form before the view)."""
    channels = grad.shape[channel_dim]
    batch = grad.numel() // (channels * size)
    if _term._layout(grad, channel_dim) == _term._LAST and not grad.is_contiguous():
        return grad.movedim(channel_dim, -1).reshape(batch, size, channels).sum(0)
    return grad.reshape(batch, channels, size).sum(0).t()


def ratios(layout, batch: int, c_in: int, c_out: int, side: int) -> dict[str, float]:
    """The step's time over nn.Conv2d's with the view and with the sum, medians of 7 rounds."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(c_in, c_out, 3, padding=1).to(memory_format=layout)
    layer = coordbias.CoordBiasConv2d(c_in, c_out, 3, padding=1).to(memory_format=layout)
    x = torch.randn(batch, c_in, side, side).contiguous(memory_format=layout)
    grad = torch.randn(batch, c_out, side, side).contiguous(memory_format=layout)

    def step(module, form=_term.batch_sum):
        with mock.patch.object(_term, "batch_sum", form):
            module.zero_grad(set_to_none=True)
            module(x).backward(grad)

    steps = {
        "conv": lambda: step(conv),
        "view": lambda: step(layer),
        "sum": lambda: step(layer, summed_copy),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(7):
        for name, run in steps.items():
            timer = Timer("run()", globals={"run": run})
            times[name].append(timer.blocked_autorange(min_run_time=0.2).median)
    return {
        name: statistics.median(t / c for t, c in zip(times[name], times["conv"], strict=True))
        for name in ("view", "sum")
    }


def main() -> None:
    torch.set_num_threads(1)
    keep_freed_memory()
    for layout, name in ((torch.contiguous_format, "fp32"), (torch.channels_last, "channels_last")):
        for batch, c_in, c_out, side in SHAPES:
            got = ratios(layout, batch, c_in, c_out, side)
            print(
                f"{name:<13} B{batch} {c_in}->{c_out} {side}px: "
                f"view {got['view']:.3f}, sum {got['sum']:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
