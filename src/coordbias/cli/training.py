"""``coordbias train``, ``coordbias evaluate`` and ``coordbias predict`` (see coordbias.cli.main).

``train`` has one flag per ``TrainConfig`` field, generated from the dataclass (its type, default
and help text), so the command line cannot drift from the config. Settings come from the
defaults, then ``--config FILE.yaml``, then the flags given.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import sys
import typing
from collections.abc import Iterator
from typing import Any

from coordbias._util.errors import user_input
from coordbias.cli._commands import add_command
from coordbias.training.config import TrainConfig


def _flag_type(hint: Any) -> tuple[type, str]:
    """``(argparse type, metavar)`` of a field annotation (``int``, ``float``, ``str | None``)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if args else hint
    metavar = {int: "N", float: "X", str: "TEXT"}[base]
    return base, metavar


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and one flag per ``TrainConfig`` field (defaults left unset)."""
    parser.add_argument(
        "--config",
        metavar="FILE.yaml",
        help="read settings from a YAML file of TrainConfig fields; flags given override it",
    )
    group = parser.add_argument_group("run settings (TrainConfig fields)")
    hints = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        names = [f"--{field.name.replace('_', '-')}", *field.metadata.get("flags", ())]
        help_text = f"{field.metadata.get('help', '')} (default: {field.default})"
        kwargs: dict[str, Any] = {"dest": field.name, "default": argparse.SUPPRESS}
        if hints[field.name] is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"], kwargs["metavar"] = _flag_type(hints[field.name])
            if field.name in ("data_dir", "out_dir"):
                kwargs["metavar"] = "DIR"
        group.add_argument(*names, help=help_text.replace("%", "%%"), **kwargs)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then ``args.config`` (YAML), then the flags given; validated (a bad value is a
    ``UserError``)."""
    with user_input():
        config_file = getattr(args, "config", None)
        base = TrainConfig.from_yaml(config_file) if config_file else TrainConfig()
        given = {
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(TrainConfig)
            if hasattr(args, f.name)
        }
        config = dataclasses.replace(base, **given)
        config.validate()
    return config


@contextlib.contextmanager
def _warnings_shown(command: str) -> Iterator[None]:
    """Show the package's warnings (a damaged file redone, the checkpoint a run resumes from) on
    stderr as ``coordbias COMMAND: warning: ...`` lines while the command runs, each once (the
    run folder is inspected by the check and again by the training)."""
    seen: set[str] = set()

    def first_time(record: logging.LogRecord) -> bool:
        text = record.getMessage()
        new = text not in seen
        seen.add(text)
        return new

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(first_time)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(f"coordbias {command}: warning: %(message)s"))
    logger = logging.getLogger("coordbias")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _recall_line(metrics: dict) -> str:
    recall = ", ".join(f"{value:.3f}" for value in metrics.get("recall", []))
    return f"recall per class [{recall}], mIoU {metrics.get('miou', float('nan')):.3f}"


def _train(args: argparse.Namespace) -> int:
    """train one network with Lightning and write its run folder

    Train one network with Lightning. The run folder (--out-dir) receives config.yaml,
    metrics.csv, checkpoints/, model.pt, eval.json, env.json, figures/ and result.json (written
    last). Defaults are the original study's setting.
    """
    config = config_from_args(args)
    with _warnings_shown("train"):
        return _train_config(config)


def _train_config(config: TrainConfig) -> int:
    from coordbias.training import train
    from coordbias.training.run import finished_run

    finished = finished_run(config)
    if finished is not None:
        print(
            f"run folder {config.out_dir} already finished its {config.epochs} epoch(s) with "
            "these settings: nothing to do, nothing written (a larger --epochs trains it further)"
        )
        return 0
    result = train(config)
    if result.metrics:  # process 0 (every process of a DDP run returns here)
        val = ", ".join(f"{v:.4f}" for v in result.val_loss)
        print(f"run folder: {result.run_dir}")
        print(f"val loss per epoch: [{val}]")
        print(_recall_line(result.metrics))
        print(
            f"{result.train_images_per_s:.1f} training images/s, {result.params} parameters, "
            f"{result.wall_time_s:.1f} s"
        )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """evaluate a trained run on a generated split or a folder; writes JSON

    Evaluate a trained network (recall, precision, IoU per class, mIoU, pixel accuracy,
    confusion, loss) on data generated like its training data, or on a folder.
    """
    from pathlib import Path

    from coordbias.training.predict import evaluate_run

    out = args.out
    if out is None:
        source = Path(args.source)
        name = f"evaluate_{args.split}.json"
        out = source / name if source.is_dir() else source.with_name(f"{source.stem}.{name}")
    with _warnings_shown("evaluate"):
        result = evaluate_run(
            args.source,
            data_dir=args.data,
            split=args.split,
            size=args.size,
            image_size=args.image_size,
            data_seed=args.data_seed,
            batch_size=args.batch_size,
            device=args.device,
            out=out,
            own_data=args.own_data,
        )
    print(json.dumps(result["data"]))
    print(_recall_line(result["metrics"]))
    print(f"written: {out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    """write colour-coded predicted masks (PNG) for image files

    Predict a mask for each image (sides divisible by 8) and write it as OUT/<name>.mask.png in
    the label colours: background black, 1 yellow, 2 blue, 3 red. Images from several folders
    keep their folders below the one they share (a/x.png, b/x.png: OUT/a/x.mask.png,
    OUT/b/x.mask.png); two images that would write one mask are refused.
    """
    from coordbias.training.predict import predict_files

    with _warnings_shown("predict"):
        written = predict_files(args.source, args.images, args.out, device=args.device)
    for path in written:
        print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train``, ``evaluate`` and ``predict`` to ``subparsers``."""
    add_config_arguments(add_command(subparsers, "train", _train))

    source_help = "a run folder, its model.pt, or a checkpoint (.ckpt)"
    evaluate = add_command(subparsers, "evaluate", _evaluate)
    evaluate.add_argument("source", help=source_help)
    evaluate.add_argument(
        "--data",
        metavar="DIR",
        help="read DIR/<split>/{images,masks}/*.png: an export of `coordbias data generate` "
        "(its metadata.json must be there), or your own folder with --own-data",
    )
    evaluate.add_argument(
        "--own-data",
        action="store_true",
        help="the --data folder is your own image/mask folder: use it without metadata.json",
    )
    evaluate.add_argument(
        "--split", default="val", choices=("train", "val"), help="split (default: val)"
    )
    evaluate.add_argument(
        "--size",
        type=int,
        metavar="N",
        help="images to generate (default: the run's train/val size)",
    )
    evaluate.add_argument(
        "--image-size",
        type=int,
        metavar="S",
        help="side of generated images, a multiple of 8 (default: the run's)",
    )
    evaluate.add_argument(
        "--data-seed", type=int, metavar="K", help="seed of generated data (default: the run's)"
    )
    evaluate.add_argument(
        "--batch-size",
        type=int,
        default=16,
        metavar="N",
        help="images per forward pass (default: 16)",
    )
    evaluate.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the best available)")
    evaluate.add_argument(
        "--out",
        metavar="FILE.json",
        help="where to write the JSON (default: evaluate_<split>.json in the "
        "run folder, or beside the checkpoint)",
    )

    predict = add_command(subparsers, "predict", _predict)
    predict.add_argument("source", help=source_help)
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    predict.add_argument("--out", required=True, metavar="DIR", help="folder for the masks")
    predict.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the best available)")
