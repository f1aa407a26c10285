"""The ablation of the deconvolution baseline (ours against Liu et al.'s, one difference at a time).

Its command line is ``coordbias notsoclevr-ablation OUT.json`` (``coordbias.cli.study``), under
the command line's one error boundary; :func:`main`, its former own parser, is deprecated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from coordbias._util.errors import UserValueError
from coordbias.data.notsoclevr import SPLITS
from coordbias.study.experiments._common import fmt_pct, md_table, torch_threads
from coordbias.study.experiments.notsoclevr.training import NotSoClevrConfig, fit
from coordbias.training.notsoclevr import recipe

#: The reference row of :data:`ABLATION`: ``deconv`` at width 16, 60 epochs, lr / 10 at 45.
ABLATION_BASE = {"epochs": 60, "lr_drop": 45}
_PAPER_16 = recipe("deconv_paper", 16)
#: ``(label, recipe changes, epochs, lr drop)``: ``deconv`` at width 16 (uniform split unless
#: told), each row one difference from the reference row (the third), then all of them.
ABLATION: tuple[tuple[str, dict[str, Any], int, int], ...] = (
    ("ours, 10 epochs (the old full setting)", {}, 10, 0),
    ("ours, 60 epochs, constant lr", {}, 60, 0),
    ("ours, 60 epochs, lr / 10 at 45 (reference)", {}, 60, 45),
    ("+ BatchNorm", {"batch_norm": True}, 60, 45),
    ("kernel 3, TensorFlow 'same'", {"kernel": 3}, 60, 45),
    ("He (truncated normal) init, zero biases", {"he_init": True}, 60, 45),
    ("pixel coordinates as input", {"pixel_input": True}, 60, 45),
    ("lr 0.01", {"lr": 0.01}, 60, 45),
    ("Adam beta2 0.99", {"beta2": 0.99}, 60, 45),
    ("L2 on kernels only (TensorFlow)", {"decay_kernels_only": True}, 60, 45),
    ("channels 64, 64, 64, 32, 32", {"channels": _PAPER_16.channels}, 60, 45),
    (
        "all of Liu et al.'s but the channels",
        {k: v for k, v in asdict(_PAPER_16).items() if k != "channels"},
        60,
        45,
    ),
    ("Liu et al.'s deconv_paper (-mul 1)", asdict(_PAPER_16), 60, 45),
)


def ablation(
    out_path: Path,
    *,
    rows: tuple[int, ...] | None = None,
    seeds: tuple[int, ...] = (0,),
    split: str = "uniform",
    config: NotSoClevrConfig | None = None,
    num_threads: int = 1,
    log: Any = print,
) -> list[dict[str, Any]]:
    """Train the rows of :data:`ABLATION` and store them in the JSON file ``out_path``.

    The file is rewritten atomically after every run; a run already in it with the same label,
    seed, split and settings is not trained again (so an interrupted ablation resumes).

    Args:
        out_path: the JSON file (its folder is created).
        rows: indices into :data:`ABLATION` (None: all).
        seeds: seeds of each row (the uniform split, initialisation and batch order).
        split: ``"uniform"`` or ``"quadrant"``.
        config: batch size, learning rate, L2 and ``max_steps`` of every run (default: width 16,
            batch 16, Adam lr 0.005, L2 1e-3, as :data:`FULL`; its width, epochs and models are
            not used: the rows set them).
        num_threads: torch intra-op threads while it runs.
        log: called with one line per finished run.

    Returns:
        One dict per run: ``row``, ``label``, ``seed``, ``split``, ``recipe``, ``epochs``,
        ``lr_drop`` and what :func:`train_one` returns (accuracies, curve, seconds).
    """

    from coordbias._util.files import read_json, write_json

    if split not in SPLITS:
        raise UserValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    picked = range(len(ABLATION)) if rows is None else rows
    bad = [
        r
        for r in picked
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < len(ABLATION)
    ]
    if bad:
        raise UserValueError(f"rows must be indices 0..{len(ABLATION) - 1}; got {bad}")
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    done: list[dict[str, Any]] = read_json(path) if path.exists() else []
    if not isinstance(done, list):
        raise UserValueError(f"'{path}' is damaged (not a list of rows); delete it to start again")
    config = config or NotSoClevrConfig(width=16, batch_size=16, models=("deconv",))
    config.validate()
    base = recipe("deconv", 16)
    with torch_threads(num_threads):
        for row in picked:
            label, changes, epochs, lr_drop = ABLATION[row]
            spec = dataclasses.replace(base, **changes)
            settings = {
                "label": label,
                "split": split,
                "recipe": _jsonable(asdict(spec)),
                "epochs": epochs,
                "lr_drop": lr_drop,
                "train": {
                    k: getattr(config, k) for k in ("batch_size", "lr", "weight_decay", "max_steps")
                },
            }
            for seed in seeds:
                key = {**settings, "seed": seed}
                if any(all(r.get(k) == v for k, v in key.items()) for r in done):
                    continue
                run = fit("deconv", spec, split, config, seed, epochs=epochs, lr_drop=lr_drop)
                done.append({"row": row, **key, **run})
                write_json(path, done)
                log(
                    f"[{row}] {label}, seed {seed}: train {fmt_pct(run['train_acc'])}, test "
                    f"{fmt_pct(run['test_acc'])}, {run['cpu_seconds']:.0f} s CPU"
                )
    wanted = {(ABLATION[r][0], s) for r in picked for s in seeds}
    mine = [r for r in done if (r["label"], r["seed"]) in wanted and r["split"] == split]
    return sorted(mine, key=lambda r: (r["row"], r["seed"]))


def _jsonable(value: Any) -> Any:
    """Tuples as lists, so a stored recipe compares equal to a fresh one."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def ablation_markdown(runs: list[dict[str, Any]]) -> str:
    """A table of :func:`ablation`'s runs: per row, test (and train) accuracy over its seeds."""
    rows = []
    for label in dict.fromkeys(r["label"] for r in sorted(runs, key=lambda r: r["row"])):
        mine = [r for r in runs if r["label"] == label]
        test = torch.tensor([r["test_acc"] for r in mine], dtype=torch.float64)
        train = torch.tensor([r["train_acc"] for r in mine], dtype=torch.float64)
        spread = f" ± {fmt_pct(float(test.std()))}" if len(mine) > 1 else ""
        rows.append(
            [
                label,
                f"{mine[0]['params']:,}",
                f"{mine[0]['epochs']}",
                fmt_pct(float(test.mean())) + spread,
                fmt_pct(float(train.mean())),
                f"{sum(r['cpu_seconds'] for r in mine) / len(mine):.0f}",
                len(mine),
            ]
        )
    headers = ["setting", "params", "epochs", "test acc.", "train acc.", "CPU s / run", "seeds"]
    return md_table(headers, rows)


def main(argv: list[str] | None = None) -> int:
    """Deprecated: ``coordbias notsoclevr-ablation`` is the ablation's command line.

    Runs that command with ``argv`` (default: ``sys.argv[1:]``) and returns its exit status.
    """
    import importlib
    import sys
    import warnings

    warnings.warn(
        "python -m coordbias.study.experiments.notsoclevr and its main() are deprecated and go "
        "in the next release; use coordbias notsoclevr-ablation",
        DeprecationWarning,
        stacklevel=2,
    )
    # The command line lies above the study: loaded by name, it draws no arrow up.
    cli = importlib.import_module("coordbias.cli.main")
    return cli.main(["notsoclevr-ablation", *(sys.argv[1:] if argv is None else argv)])
