"""Sub-commands of ``coordbias`` for the data part (see coordbias.cli.main).

``coordbias data generate`` exports the circles data set as PNG pairs plus ``metadata.json``;
``coordbias data show`` writes a PNG grid of samples and their labels.
"""

from __future__ import annotations

import argparse

from coordbias._util.errors import user_input
from coordbias.cli._commands import add_command


def _config(args: argparse.Namespace):
    from coordbias.data import CirclesConfig

    with user_input():
        return CirclesConfig(image_size=args.size)


def _generate(args: argparse.Namespace) -> int:
    """write the data set as PNG image/mask pairs plus metadata.json

    Write DIR/<split>/images/<index:06d>.png (RGB), DIR/<split>/masks/<index:06d>.png (mode L,
    one class index per pixel) and DIR/metadata.json.
    """
    from coordbias.data.export import export_dataset

    out = export_dataset(
        args.out,
        _config(args),
        train=args.train,
        val=args.val,
        seed=args.seed,
        overwrite=args.overwrite,
        workers=args.workers,
        progress=not args.no_progress,
    )
    print(f"wrote {args.train} train and {args.val} val samples to {out}")
    return 0


def _show(args: argparse.Namespace) -> int:
    """write a PNG grid of samples and their labels

    Labels in the original's colours: 0 black, 1 yellow, 2 blue, 3 red.
    """
    from coordbias.data.show import save_grid

    out = save_grid(args.out, _config(args), count=args.count, seed=args.seed, split=args.split)
    print(f"wrote {out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to ``subparsers``."""
    parser = subparsers.add_parser("data", help="generate, export and look at the circles data set")
    inner = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    gen = add_command(inner, "generate", _generate)
    gen.add_argument(
        "--out",
        required=True,
        help="target folder (refused if not empty, unless it holds an export killed partway)",
    )
    gen.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    gen.add_argument("--train", type=int, default=5000, help="training samples (default 5000)")
    gen.add_argument("--val", type=int, default=2500, help="validation samples (default 2500)")
    gen.add_argument("--seed", type=int, default=0, help="data set seed (default 0)")
    gen.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")
    gen.add_argument("--workers", type=int, default=2, help="PNG writer threads (default 2)")
    gen.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    show = add_command(inner, "show", _show)
    show.add_argument("--out", required=True, help="PNG file to write")
    show.add_argument("--count", type=int, default=8, help="samples to show (default 8)")
    show.add_argument("--seed", type=int, default=0, help="data set seed (default 0)")
    show.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    show.add_argument("--split", default="train", choices=("train", "val", "test"))
