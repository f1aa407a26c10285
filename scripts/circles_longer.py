"""The standard scale's circles cells again, with a higher epoch cap: does the cap move a verdict?

A check beside the benchmark, not part of it: the cells of ``circles`` at the standard scale,
each method at the learning rate its sweep chose there (the report's "Settings chosen on
validation"), with ``--epochs`` as the cap instead of 8 and the same early stopping. Usage::

    OMP_NUM_THREADS=1 python scripts/circles_longer.py --rows param_matched=0.003 \\
        coordbias=0.01 vanilla=0.01 --epochs 24 --out runs/circles-long

One JSON file per cell (``METHOD-seedN.json``, the cell's result) in ``--out``; a cell already
there is skipped; a summary per row at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

import torch

from coordbias._util.files import write_json
from coordbias.benchmark import cells
from coordbias.benchmark.spec import SCALES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", required=True, help="METHOD=LR, at encoder")
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("runs/circles-long"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    standard = SCALES["standard"]
    circles = replace(standard.schedules.circles, max_epochs=args.epochs)
    scale = replace(standard, schedules=replace(standard.schedules, circles=circles))
    for row in args.rows:
        method, lr = row.split("=")
        results = []
        for seed in range(args.seeds):
            path = args.out / f"{method}-seed{seed}.json"
            if not path.exists():
                got = cells.run_cell(
                    "circles", method, "encoder", seed, scale, lr=float(lr), weight_decay=0.0
                )
                write_json(path, got)
            results.append(json.loads(path.read_text()))
            print(method, seed, f"{results[-1]['metric']:.3f}", flush=True)
        mean = statistics.mean(r["metric"] for r in results)
        capped = sum(not r["stopped_early"] for r in results)
        print(
            f"{method}: mean mIoU {mean:.3f}, {capped} of {args.seeds} seeds at the "
            f"{args.epochs}-epoch cap"
        )


if __name__ == "__main__":
    main()
