"""The Not-so-Clevr classifier's training step in both memory formats, side by side.

Why the benchmark builds Liu et al.'s classifier in channels-last (``benchmark/nets.py``): the
network is five 1x1 convolutions over the whole 64 x 64 canvas, so its step is a few large
matrix products whose speed depends on the layout. For each method, one training step (forward,
softmax cross-entropy over the 4,096 pixels, backward, Adam step) at the benchmark's batch of 16,
timed in interleaved rounds (``coordbias._util.timing``); printed: each layout's median time
and the ratio channels-last / contiguous within a round, median over rounds. Usage::

    OMP_NUM_THREADS=1 python scripts/classifier_layout.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics

import torch

from coordbias._util.experiment import seeded
from coordbias._util.timing import interleaved, median_ratios
from coordbias.models.liu import LiuClassifier

METHODS = ("vanilla", "coordconv", "coordbias", "coordgate", "fourier")


def step_fn(conv: str, channels_last: bool):
    """One training step of the classifier with first convolution ``conv``."""
    with seeded(0):
        model = LiuClassifier(conv)
        coords = torch.rand(16, 2) * 55 + 4
        target = torch.randint(0, 64 * 64, (16,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=0.005)

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(coords), target).backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-run-time", type=float, default=1.0)
    args = parser.parse_args()
    fns = {
        f"{m} {layout}": step_fn(m, layout == "cl") for m in METHODS for layout in ("nchw", "cl")
    }
    times = interleaved(fns, rounds=args.rounds, min_run_time=args.min_run_time)
    print("method       contiguous ms  channels-last ms  ratio")
    for m in METHODS:
        pair = {k: times[f"{m} {k}"] for k in ("nchw", "cl")}
        ratio = median_ratios(pair, "nchw")["cl"]
        ms = {k: 1000 * statistics.median(v) for k, v in pair.items()}
        print(f"{m:12s} {ms['nchw']:13.1f} {ms['cl']:17.1f}  {ratio:.2f}")


if __name__ == "__main__":
    main()
