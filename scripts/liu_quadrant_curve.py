"""Liu et al.'s CoordConv classifier on the held-out quadrant, scored on it after every epoch.

A diagnostic beside the benchmark, not part of it (the benchmark reads a test set once, at the
end): the anchor ``nsc_class_paper_quadrant`` at the standard scale, their protocol (Adam lr
0.005, L2 on the kernels, batch 16, trained the epochs through), each seed's validation and
held-out accuracy after every epoch. It showed that the held-out accuracy of a seed that has fit
its training quadrants swings from epoch to epoch (seed 3: 37 % at epoch 5, 100 % at 12 to 19,
59 % at 20, 71 % at 50). Usage::

    OMP_NUM_THREADS=1 python scripts/liu_quadrant_curve.py --seeds 3 --out runs/liu-50

One JSON file per seed (``seed{N}.json``: a row per epoch) in ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from coordbias._util.experiment import seeded
from coordbias._util.files import write_json
from coordbias.benchmark import cells
from coordbias.benchmark.nets import build_network
from coordbias.benchmark.spec import SCALES, TASKS
from coordbias.training.loop import fit

TASK = "nsc_class_paper_quadrant"


def curve(seed: int, epochs: int) -> dict:
    """Train seed ``seed`` for ``epochs`` epochs; the numbers after every epoch."""
    spec, scale = TASKS[TASK], SCALES["standard"]
    schedule = scale.schedules.of(spec.family, anchor=True)
    problem = cells._problem(TASK, scale)
    with seeded(seed):
        model = build_network(spec.family, "coordconv", "first", anchor=True, **problem.net_args)
    rows: list[dict] = []

    def validate(net: torch.nn.Module) -> dict:
        numbers = problem.validate(net)
        held_out = problem.test(net)["metrics"][spec.metric]
        rows.append({"epoch": len(rows) + 1, **numbers, "held_out": held_out})
        print(seed, rows[-1], flush=True)
        return numbers

    start = time.perf_counter()
    optimizer = cells.make_optimizer(model, schedule, schedule.lr, schedule.weight_decay)
    fit(
        model,
        optimizer,
        problem.loss_of,
        problem.n_train,
        validate,
        batch_size=schedule.batch_size,
        max_epochs=epochs,
        seed=seed + 1,  # as the benchmark's cells
        monitor=None,
        shuffle=schedule.shuffle,
    )
    return {"seed": seed, "rows": rows, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[3])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("runs/liu-50"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    for seed in args.seeds:
        result = curve(seed, args.epochs)
        write_json(args.out / f"seed{seed}.json", result)


if __name__ == "__main__":
    main()
