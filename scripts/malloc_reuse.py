"""A benchmark cell's epoch with glibc's allocator as it is, and with freed memory kept.

Runs one cell (the standard scale's schedule, capped at ``--epochs``, at the kept setting of
its row: lr 0.005, the schedule's weight decay) in a fresh process per measurement, with
``coordbias._util.memory.keep_freed_memory`` or without, alternating over ``--rounds``; prints
each side's median seconds an epoch, their ratio and whether the two trained alike (the
learning curves equal bit for bit). Why the scheduler's child processes keep freed memory.
Usage, the machine quiet::

    OMP_NUM_THREADS=1 python scripts/malloc_reuse.py --task nsc_class_uniform --method vanilla
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from dataclasses import replace


def _child(args: argparse.Namespace) -> None:
    from coordbias._util.memory import keep_freed_memory

    if args.child == "keep":
        assert keep_freed_memory(), "glibc's settings did not take effect"
    import torch

    from coordbias.benchmark.cells import run_cell
    from coordbias.benchmark.spec import SCALES, TASKS

    torch.set_num_threads(1)
    scale = SCALES["standard"]
    family = TASKS[args.task].family
    schedule = replace(scale.schedules.of(family), max_epochs=args.epochs)
    scale = replace(scale, schedules=replace(scale.schedules, **{family: schedule}))
    out = run_cell(
        args.task, args.method, "first", 0, scale, lr=0.005, weight_decay=schedule.weight_decay
    )
    print(json.dumps({"s_per_epoch": out["seconds"] / out["epochs_run"], "curve": out["curve"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="nsc_class_uniform")
    parser.add_argument("--method", default="vanilla")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=("plain", "keep"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    seconds: dict[str, list[float]] = {"plain": [], "keep": []}
    curves: dict[str, list] = {}
    for k in range(args.rounds):
        for side in ("plain", "keep") if k % 2 == 0 else ("keep", "plain"):
            command = [sys.executable, __file__, "--child", side, "--task", args.task]
            command += ["--method", args.method, "--epochs", str(args.epochs)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            seconds[side].append(row["s_per_epoch"])
            curves.setdefault(side, row["curve"])
    plain, keep = (statistics.median(seconds[s]) for s in ("plain", "keep"))
    print(
        f"{args.task} {args.method}, {args.rounds} rounds: glibc as it is {plain:.2f} s an "
        f"epoch, freed memory kept {keep:.2f} s ({keep / plain:.2f} of it); curves equal bit "
        f"for bit: {curves['plain'] == curves['keep']}"
    )


if __name__ == "__main__":
    main()
