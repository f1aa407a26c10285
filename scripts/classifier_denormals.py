"""The Not-so-Clevr classifier's step slows as it trains: denormal numbers, and flushing them.

A benchmark classifier cell (``nsc_class_uniform``, the standard scale's schedule, lr 0.005)
times 20 training steps at initialisation, trains ``--steps`` more, then times 20 steps with
subnormal floats computed as they are, 20 flushed to zero (``torch.set_flush_denormal``), and
20 as they are again. Why the classifier family trains with denormals flushed
(``Schedule.flush_denormal``): a method that does not solve the task trains its whole epoch cap
and, as it trains, its step slows down. Usage::

    OMP_NUM_THREADS=1 python scripts/classifier_denormals.py --method fourier --steps 600
"""

from __future__ import annotations

import argparse
import time

import torch

from coordbias._util.experiment import seeded
from coordbias.benchmark import cells
from coordbias.benchmark.nets import build_network
from coordbias.benchmark.spec import SCALES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="fourier")
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    torch.set_num_threads(1)
    scale = SCALES["standard"]
    schedule = scale.schedules.nsc_class
    problem = cells._problem("nsc_class_uniform", scale)
    with seeded(0):
        model = build_network("nsc_class", args.method, "first")
    opt = cells.make_optimizer(model, schedule, 0.005, schedule.weight_decay)
    draw = torch.Generator().manual_seed(1)

    def ms_per_step(steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            idx = torch.randint(0, problem.n_train, (schedule.batch_size,), generator=draw)
            opt.zero_grad()
            problem.loss_of(model, idx).backward()
            opt.step()
        return 1000 * (time.perf_counter() - start) / steps

    print(f"{args.method}: at initialisation {ms_per_step(20):.1f} ms a step")
    ms_per_step(args.steps)
    kept = ms_per_step(20)
    torch.set_flush_denormal(True)
    flushed = ms_per_step(20)
    torch.set_flush_denormal(False)
    again = ms_per_step(20)
    print(
        f"after {args.steps} steps: {kept:.1f} ms, denormals flushed {flushed:.1f} ms, "
        f"kept again {again:.1f} ms"
    )


if __name__ == "__main__":
    main()
