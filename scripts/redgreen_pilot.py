"""Pilot reproduction of Kayhan and van Gemert's Red-Green table (CVPR 2020) on this machine.

Trains their network (``create_model("redgreen", conv_type=...)``) with their protocol, as their
``full_conv/Exp2_Red_Green/red_and_green.py`` describes it: Adadelta (lr 1.0, rho 0.9, eps 1e-6,
weight decay 5e-5), cross-entropy, batches of 200 in the data set's order (no shuffling), at most
50 epochs, the validation loss after every epoch, early stopping once 9 epochs in a row have not
improved on the best (their patience counter reaches 8, then one more epoch stops it), and the
best epoch's weights tested on the "similar" and "dissimilar" sets. Their run ``m`` seeds the
initialisation with ``torch.manual_seed(m)``; the data do not change with it.

A plain PyTorch loop: the benchmark is to route this protocol through the project's training
loop. Usage::

    OMP_NUM_THREADS=1 python scripts/redgreen_pilot.py --types valid same circular full \\
        --seeds 0 1 2 --out redgreen_pilot.jsonl

Each run appends one JSON line to ``--out``; the summary table is printed at the end.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import torch
from torch.nn import functional as F

from coordbias.data.redgreen import DRAWS, PAPER_SEED, redgreen_tensors
from coordbias.models import CONV_TYPES, create_model

#: Their table (README of oskyhn/CNNs-Without-Borders): accuracy % similar / dissimilar, 10 runs.
PAPER = {
    "valid": (100.0, 0.2),
    "same": (99.8, 8.4),
    "circular": (73.7, 73.7),
    "full": (89.7, 89.7),
}
LR, RHO, EPS, WEIGHT_DECAY = 1.0, 0.9, 1e-6, 5e-5
BATCH, MAX_EPOCHS, PATIENCE = 200, 50, 8


def _batches(images, labels):
    for start in range(0, len(labels), BATCH):
        yield images[start : start + BATCH], labels[start : start + BATCH]


def _mean_loss_and_accuracy(model, images, labels) -> tuple[float, float]:
    """Their validation loss (sum of batch means over the sample count) and accuracy in %."""
    loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in _batches(images, labels):
            out = model(x)
            loss += float(F.cross_entropy(out, y))
            correct += int((out.argmax(1) == y).sum())
    return loss / len(labels), 100.0 * correct / len(labels)


def train_one(conv_type: str, seed: int, data: dict, conv: str = "vanilla") -> dict:
    """One run of their protocol; returns its accuracies, epochs and wall time."""
    start, cpu_start = time.perf_counter(), time.process_time()
    torch.manual_seed(seed)
    model = create_model("redgreen", conv_type=conv_type, conv=conv)
    opt = torch.optim.Adadelta(
        model.parameters(), lr=LR, rho=RHO, eps=EPS, weight_decay=WEIGHT_DECAY
    )
    best, best_state, best_epoch, patience, epochs = float("inf"), None, 0, 0, 0
    curve = []
    for epoch in range(1, MAX_EPOCHS + 1):
        epochs = epoch
        for x, y in _batches(*data["train"]):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        val_loss, _ = _mean_loss_and_accuracy(model, *data["val"])
        curve.append(round(val_loss, 6))
        if val_loss < best:
            best, best_state, best_epoch, patience = (
                val_loss,
                copy.deepcopy(model.state_dict()),
                epoch,
                0,
            )
        elif patience < PATIENCE:
            patience += 1
        else:
            break
    model.load_state_dict(best_state)
    _, similar = _mean_loss_and_accuracy(model, *data["similar"])
    _, dissimilar = _mean_loss_and_accuracy(model, *data["dissimilar"])
    return {
        "conv_type": conv_type,
        "conv": conv,
        "seed": seed,
        "similar": similar,
        "dissimilar": dissimilar,
        "epochs": epochs,
        "best_epoch": best_epoch,
        "val_loss": curve,
        "seconds": round(time.perf_counter() - start, 2),
        # CPU time of this process: the wall time on a shared machine is only an upper bound.
        "cpu_seconds": round(time.process_time() - cpu_start, 2),
        "threads": torch.get_num_threads(),
    }


def load_data(draws: str, seed: int) -> dict:
    """The four sets at the paper's sizes."""
    return {
        s: redgreen_tensors(s, seed=seed, draws=draws)
        for s in ("train", "val", "similar", "dissimilar")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", nargs="+", default=list(PAPER), choices=list(CONV_TYPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--draws", default="paper", choices=DRAWS)
    parser.add_argument("--data-seed", type=int, default=PAPER_SEED)
    parser.add_argument("--conv", default="vanilla")
    parser.add_argument("--out", default="redgreen_pilot.jsonl")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_data(args.draws, args.data_seed)
    rows = []
    for conv_type in args.types:
        for seed in args.seeds:
            row = {**train_one(conv_type, seed, data, args.conv), "draws": args.draws}
            rows.append(row)
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(
                f"{conv_type:10s} seed {seed}: similar {row['similar']:5.1f} dissimilar "
                f"{row['dissimilar']:5.1f} epochs {row['epochs']:2d} (best {row['best_epoch']:2d}) "
                f"{row['seconds']:6.1f} s ({row['cpu_seconds']:.1f} s CPU)",
                flush=True,
            )
    print("\ntype        runs  similar  dissimilar  paper          min/run  CPU min/run")
    for conv_type in args.types:
        got = [r for r in rows if r["conv_type"] == conv_type]
        sim = statistics.mean(r["similar"] for r in got)
        dis = statistics.mean(r["dissimilar"] for r in got)
        paper = "{:5.1f} / {:5.1f}".format(*PAPER[conv_type]) if conv_type in PAPER else "    -"
        minutes = statistics.mean(r["seconds"] for r in got) / 60
        cpu = statistics.mean(r["cpu_seconds"] for r in got) / 60
        print(
            f"{conv_type:10s}  {len(got):4d}  {sim:7.1f}  {dis:10.1f}  {paper}  {minutes:7.2f}"
            f"  {cpu:11.2f}"
        )


if __name__ == "__main__":
    main()
