"""``coordbias speed layers``: cost of CoordBiasConv2d and CoordConv2d relative to nn.Conv2d,
on every path people train with.

A *path* is a way of running the layers (``--paths``, all by default):

* ``fp32``: float32 model and input, contiguous;
* ``channels_last``: float32, model and input in ``torch.channels_last``;
* ``autocast``: float32 model and input under ``torch.autocast`` (bfloat16 on the CPU, float16
  on CUDA);
* ``half``: a bfloat16 (CPU) / float16 (CUDA) model and input;
* ``compile``: float32, contiguous, every layer through ``torch.compile(fullgraph=True)``
  (inductor; ``--quick``, for the tests, uses the ``aot_eager`` backend).

For every shape of a grid (first layers 3 -> 64 channels, middle layers 64 to 256 channels, batch
1 and 16, 32 to 128 pixels, 3 x 3 kernels with padding 1) and every path, four layers are timed
side by side in one process with the project's interleaved-rounds harness
(:mod:`coordbias._util.timing`), in two modes:

* ``train``: forward and backward (``out.backward(grad)``, gradients reset to ``None`` each step;
  the input needs a gradient for middle layers, not for first layers, as in a network);
* ``infer``: forward in eval mode under ``torch.no_grad()``.

The layers are ``vanilla`` (``nn.Conv2d``, the base of every ratio), ``coordbias``,
``coordconv`` and ``floor``: ``nn.Conv2d`` followed by an in-place add of a learned
``(1, C, H, W)`` map laid out in the output's memory format and dtype. The floor is a reference,
not a contender: the cheapest way to add a learned position-dependent term with eager PyTorch
operations on that path (one pass over the output forward, one reduction of the output gradient
backward). Each round times the four back to back (in rotating order) and forms the ratios
``layer / nn.Conv2d`` within the round; a shape's ratio is the median over rounds, which keeps
drifting machine load out of it. The summary of a path gives the median and worst ratio over
the grid (and, as a cross-check robust to load that only adds time, the same statistics of
``ratio_of_best``: the best round of a layer over the best round of nn.Conv2d), and checks the
targets of issue 9 (:data:`TARGETS`).

The tensors autograd saves for backward are counted as well (``saved_extra``: the bytes saved
beyond nn.Conv2d's, in units of one output tensor).

``--variants`` adds CoordBiasConv2d with another eager implementation (:data:`VARIANTS`, the
alternatives of :mod:`coordbias.speed.alternatives`, which ``coordbias speed networks
--alternatives`` times in whole networks) as more layers of the same rounds,
``coordbias[<variant>]`` (``CB[<variant>]`` in the tables), each a copy of the ``coordbias``
layer: their ratios stand side by side with the others' in one run. The alternative holds while
a variant's step runs (forward and backward); the ``coordbias`` layer's step then runs inside an
empty :func:`~coordbias.speed.alternatives.using` too, so that every CB column carries the same
cost of entering it. Variants measure the eager implementation: a compiled layer always takes the
traced one, so ``--variants`` refuses the ``compile`` path.

The result goes to ``OUT/bench_layers.json`` (written atomically), with the torch version, the
thread count and the device. Bad options, an unavailable device and an unwritable ``--out`` are
reported before any timing starts.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from coordbias.speed._preset import (
    add_names_argument,
    add_output_arguments,
    add_rounds_argument,
    add_timing_arguments,
    parse_names,
)
from coordbias.speed.alternatives import ALTERNATIVES

#: Grid of (batch, in_channels, out_channels, size): first layers (3 -> 64 channels at batch 1
#: and 16, 32 to 128 pixels), then middle layers.
DEFAULT_GRID: tuple[tuple[int, int, int, int], ...] = (
    *((batch, 3, 64, size) for batch in (1, 16) for size in (32, 64, 128)),
    *((1, 64, 64, 64), (1, 64, 64, 128), (16, 64, 64, 64)),
    *((batch, channels, channels, 32) for channels in (128, 256) for batch in (1, 16)),
)
QUICK_GRID: tuple[tuple[int, int, int, int], ...] = ((1, 3, 8, 16), (2, 8, 8, 12))
#: The grids ``--grid`` names: the whole grid, or one first and one middle layer of it (where
#: compiling every layer of the whole grid costs too long, as on a GPU check).
GRIDS = {"default": DEFAULT_GRID, "small": ((16, 3, 64, 128), (16, 64, 64, 64))}

#: The paths, in the order they are run and reported.
PATHS = ("fp32", "channels_last", "autocast", "half", "compile")
MODES = ("train", "infer")
LAYERS = ("vanilla", "coordbias", "coordconv", "floor")
#: The layers whose ratios are summarised (``floor`` is the reference described above).
COMPARED = ("coordbias", "coordconv", "floor")

#: The variants ``--variants`` names: the alternative eager implementations, with what each does.
VARIANTS = ALTERNATIVES

#: Targets of issue 9 for CoordBiasConv2d on every path and mode (ratios to nn.Conv2d).
TARGETS = {
    # median <= median_max, or, where the floor's median is above floor_above, at most
    # floor_slack above the floor's median
    "median_max": 1.05,
    "floor_above": 1.03,
    "floor_slack": 0.02,
    # every shape at most this much above its own floor
    "shape_above_floor": 0.15,
    # median not above CoordConv's (this slack for noise) ...
    "coordconv_slack": 0.02,
    # ... and below it on this share of the shapes, on these paths
    "below_coordconv_share": 0.9,
    "below_coordconv_paths": ["fp32", "channels_last", "autocast"],
}


@dataclass(frozen=True)
class Shape:
    """One benchmark case: a 3 x 3 convolution with padding 1 on a square input."""

    batch: int
    in_channels: int
    out_channels: int
    size: int

    @property
    def label(self) -> str:
        return f"B{self.batch} {self.in_channels}->{self.out_channels} {self.size}px"


@dataclass(frozen=True)
class PathSetup:
    """How a path runs the layers on a device."""

    name: str
    dtype: Any  # of the model and the input
    channels_last: bool
    autocast: Any  # autocast dtype, or None
    compile: str  # the torch.compile backend, or "" for eager

    def describe(self) -> str:
        parts = [str(self.dtype).replace("torch.", "")]
        parts.append("channels_last" if self.channels_last else "contiguous")
        if self.autocast is not None:
            parts.append("autocast " + str(self.autocast).replace("torch.", ""))
        if self.compile:
            parts.append(f"torch.compile {self.compile}")
        return ", ".join(parts)


def path_setup(name: str, device: Any, compile_backend: str = "inductor") -> PathSetup:
    """The setup of path ``name`` on ``device`` (the half dtype is bfloat16 on the CPU, float16
    elsewhere; ``compile_backend`` for the compile path)."""
    import torch

    half = torch.bfloat16 if device.type == "cpu" else torch.float16
    if name == "fp32":
        return PathSetup(name, torch.float32, False, None, "")
    if name == "channels_last":
        return PathSetup(name, torch.float32, True, None, "")
    if name == "autocast":
        return PathSetup(name, torch.float32, False, half, "")
    if name == "half":
        return PathSetup(name, half, False, None, "")
    if name == "compile":
        return PathSetup(name, torch.float32, False, None, compile_backend)
    raise ValueError(f"unknown path {name!r}; the paths are {', '.join(PATHS)}")


def parse_paths(text: str) -> list[str]:
    """``"fp32,half"`` -> ``["fp32", "half"]`` in :data:`PATHS` order; a clear error otherwise."""
    return parse_names(text, PATHS, "--paths")


def parse_variants(text: str | Sequence[str]) -> list[str]:
    """``"traced"`` -> ``["traced"]``, in :data:`VARIANTS` order; ``""`` -> ``[]``."""
    if not text:
        return []
    return parse_names(text, tuple(VARIANTS), "--variants")


def _variant_layer(variant: str) -> str:
    return f"coordbias[{variant}]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``coordbias speed layers`` to ``parser``."""
    add_output_arguments(
        parser,
        out="runs/bench",
        files="bench_layers.json",
        device="cpu",
        quick="a tiny grid, short timings and the aot_eager compile backend (for tests)",
    )
    add_names_argument(parser, "--paths", PATHS, what="paths")
    add_rounds_argument(parser, per=" per shape")
    parser.add_argument(
        "--grid", choices=tuple(GRIDS), default="default", help="shapes (default: %(default)s)"
    )
    add_timing_arguments(parser, min_run_time=0.25)
    parser.add_argument(
        "--variants",
        default="",
        metavar="NAMES",
        help=f"comma-separated CoordBiasConv2d variants to time beside the layers, of "
        f"{','.join(VARIANTS)} (eager paths only; default: none)",
    )


class _Floor:
    """Factory of the floor: nn.Conv2d plus an in-place add of a learned (1, C, H, W) map."""

    @staticmethod
    def make(shape: Shape, path: PathSetup, device: Any, out_dtype: Any) -> Any:
        import torch
        from torch import nn

        class ConvPlusMap(nn.Conv2d):
            def __init__(self) -> None:
                super().__init__(shape.in_channels, shape.out_channels, 3, padding=1)
                size = (1, shape.out_channels, shape.size, shape.size)
                self.map = nn.Parameter(torch.zeros(size))

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return super().forward(x).add_(self.map)

        floor = ConvPlusMap().to(device=device, dtype=path.dtype)
        # The map in the output's dtype (under autocast: the autocast dtype) and memory format.
        fmt = torch.channels_last if path.channels_last else torch.contiguous_format
        floor.map.data = floor.map.data.to(out_dtype).contiguous(memory_format=fmt)
        return floor


def _layers(shape: Shape, path: PathSetup, device: Any) -> dict[str, Any]:
    import torch

    from coordbias.models.convs import make_conv

    args = (shape.in_channels, shape.out_channels, 3)
    out_dtype = path.autocast or path.dtype
    layers = {kind: make_conv(kind, *args, padding=1, device=device) for kind in LAYERS[:3]}
    layers = {k: m.to(dtype=path.dtype) for k, m in layers.items()}
    layers["floor"] = _Floor.make(shape, path, device, out_dtype)
    if path.channels_last:
        layers = {k: m.to(memory_format=torch.channels_last) for k, m in layers.items()}
    return layers


def _saved_bytes(layer: Any, x: Any, context: Any) -> tuple[int, int]:
    import torch

    saved: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), context():
        out = layer(x)
    return sum(saved), out.numel() * out.element_size()


def _measure(
    shape: Shape,
    path: PathSetup,
    rounds: int,
    min_run_time: float,
    threads: int,
    device: Any,
    variants: Sequence[str] = (),
) -> dict:
    import copy

    import torch

    from coordbias._util.timing import interleaved, median_ratios
    from coordbias.speed.alternatives import wrap

    torch.manual_seed(0)
    layers = _layers(shape, path, device)
    # name -> the alternative its step runs with (None: the library's own, entered the same way)
    choices: dict[str, str | None] = {"coordbias": None} if variants else {}
    for variant in variants:
        layers[_variant_layer(variant)] = copy.deepcopy(layers["coordbias"])
        choices[_variant_layer(variant)] = variant
    compared = (*COMPARED, *(_variant_layer(v) for v in variants))
    size = (shape.batch, shape.in_channels, shape.size, shape.size)
    x = torch.randn(size, device=device, dtype=path.dtype)
    if path.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(shape.in_channels > 4)  # first layers need no input gradient
    if path.autocast is not None:
        context: Any = functools.partial(torch.autocast, device.type, dtype=path.autocast)
    else:
        context = contextlib.nullcontext
    with torch.no_grad(), context():
        grad = torch.randn_like(layers["vanilla"](x))  # the output's dtype and memory format
    saved = {n: _saved_bytes(layers[n].train(), x, context) for n in LAYERS}
    if path.compile:
        # Static shapes, compiled afresh per shape: dynamo keeps a few graphs per code object
        # only (all layers of a class share one forward) and would fall back to eager.
        torch._dynamo.reset()
        backend = path.compile
        layers = {
            n: torch.compile(m, fullgraph=True, dynamic=False, backend=backend)
            for n, m in layers.items()
        }

    def train_step(layer: Any) -> None:
        layer.zero_grad(set_to_none=True)
        x.grad = None
        with context():
            out = layer(x)
        out.backward(grad)

    def infer_step(layer: Any) -> None:
        with torch.no_grad(), context():
            layer(x)

    def timed(step: Any, name: str) -> Any:
        if name not in choices:
            return functools.partial(step, layers[name])
        return wrap(functools.partial(step, layers[name]), choices[name])

    result: dict[str, Any] = {
        **asdict(shape),
        "label": shape.label,
        "ms": {},
        "ratio": {},
        "ratio_of_best": {},
    }
    for mode, step in (("train", train_step), ("infer", infer_step)):
        for layer in layers.values():
            layer.train(mode == "train")
        times = interleaved(
            {name: timed(step, name) for name in layers},
            rounds=rounds,
            min_run_time=min_run_time,
            threads=threads,
        )
        result["ms"][mode] = {n: 1e3 * statistics.median(v) for n, v in times.items()}
        ratios = median_ratios(times, "vanilla")
        result["ratio"][mode] = {n: ratios[n] for n in compared}
        # A second estimate, robust to load that only ever adds time: best round over best.
        best = min(times["vanilla"])
        result["ratio_of_best"][mode] = {n: min(times[n]) / best for n in compared}
    base_saved, out_bytes = saved["vanilla"]
    result["saved_extra"] = {n: (saved[n][0] - base_saved) / out_bytes for n in COMPARED}
    return result


def _targets(name: str, summary: dict[str, Any], results: list[dict]) -> dict[str, Any]:
    """Issue 9's figures for CoordBiasConv2d on one path: per mode, whether each is met, and by
    how much (``margin``: the target minus the measured value; negative where missed)."""
    checks: dict[str, Any] = {}
    for mode in MODES:
        cb = summary[mode]["coordbias"]["median"]
        floor = summary[mode]["floor"]["median"]
        cc = summary[mode]["coordconv"]["median"]
        median_target = TARGETS["median_max"]
        if floor > TARGETS["floor_above"]:
            median_target = max(median_target, floor + TARGETS["floor_slack"])
        gaps = [r["ratio"][mode]["coordbias"] - r["ratio"][mode]["floor"] for r in results]
        below = [r["ratio"][mode]["coordbias"] < r["ratio"][mode]["coordconv"] for r in results]
        share = sum(below) / len(below)
        mode_checks = {
            "median": {"target": median_target, "value": cb, "margin": median_target - cb},
            "shape_above_floor": {
                "target": TARGETS["shape_above_floor"],
                "value": max(gaps),
                "margin": TARGETS["shape_above_floor"] - max(gaps),
            },
            "median_vs_coordconv": {
                "target": cc + TARGETS["coordconv_slack"],
                "value": cb,
                "margin": cc + TARGETS["coordconv_slack"] - cb,
            },
        }
        if name in TARGETS["below_coordconv_paths"]:
            mode_checks["below_coordconv_share"] = {
                "target": TARGETS["below_coordconv_share"],
                "value": share,
                "margin": share - TARGETS["below_coordconv_share"],
            }
        for check in mode_checks.values():
            check["met"] = check["margin"] >= 0
        checks[mode] = mode_checks
    return checks


def _summary(name: str, results: list[dict]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for mode in MODES:
        summary[mode] = {}
        for layer in results[0]["ratio"][mode]:  # COMPARED, then the variants
            ratios = [r["ratio"][mode][layer] for r in results]
            best = [r["ratio_of_best"][mode][layer] for r in results]
            summary[mode][layer] = {
                "median": statistics.median(ratios),
                "worst": max(ratios),
                "median_of_best": statistics.median(best),
                "worst_of_best": max(best),
            }
    summary["targets"] = _targets(name, summary, results)
    summary["targets_met"] = all(
        check["met"] for mode in MODES for check in summary["targets"][mode].values()
    )
    return summary


_SHORT = {"coordbias": "CB", "coordconv": "CC", "floor": "floor"}


def _short(layer: str) -> str:
    """``coordbias`` -> ``CB``; ``coordbias[plain]`` -> ``CB[plain]``."""
    base, _, variant = layer.partition("[")
    return _SHORT[base] + (f"[{variant}" if variant else "")


def _table(name: str, path: PathSetup, results: list[dict], summary: dict[str, Any]) -> str:
    columns = [(mode, n) for mode in MODES for n in results[0]["ratio"][mode]]
    labels = [f"{mode} {_short(n)}" for mode, n in columns]
    widths = [max(12, len(label) + 1) for label in labels]
    head = f"{'shape':<24}" + "".join(f"{t:>{w}}" for t, w in zip(labels, widths))
    lines = [f"path {name} ({path.describe()}): time relative to nn.Conv2d on the same path", head]
    lines.append("-" * len(head))
    for r in results:
        cells = "".join(f"{r['ratio'][m][n]:>{w}.3f}" for (m, n), w in zip(columns, widths))
        lines.append(f"{r['label']:<24}{cells}")
    lines.append("-" * len(head))
    for stat in ("median", "worst"):
        cells = "".join(f"{summary[m][n][stat]:>{w}.3f}" for (m, n), w in zip(columns, widths))
        lines.append(f"{stat:<24}{cells}")
    for mode in MODES:
        checks = summary["targets"][mode]
        text = ", ".join(
            f"{key} {c['value']:.3f} vs {c['target']:.3f} ({'met' if c['met'] else 'missed'})"
            for key, c in checks.items()
        )
        lines.append(f"targets {mode}: {text}")
    return "\n".join(lines)


def run(
    *,
    out: str | os.PathLike[str] = "runs/bench",
    paths: str | Sequence[str] = PATHS,
    quick: bool = False,
    rounds: int = 5,
    min_run_time: float = 0.25,
    threads: int | None = None,
    device: str = "cpu",
    grid: str = "default",
    variants: str | Sequence[str] = (),
) -> int:
    """Run the benchmark, print the tables, write ``OUT/bench_layers.json``; return 0.

    Args:
        out: the folder of ``bench_layers.json``.
        paths: the paths to run, a subset of :data:`PATHS` (a list, or comma separated).
        quick: a tiny grid, one round, short timings and the ``aot_eager`` compile backend.
        rounds: interleaved rounds per shape.
        min_run_time: seconds per measurement.
        threads: torch intra-op threads; ``None``: the process's own.
        device: a torch device name.
        grid: the shapes, a key of :data:`GRIDS` (``quick`` replaces it by the tiny grid).
        variants: CoordBiasConv2d variants to time beside the layers, a subset of
            :data:`VARIANTS` (a list, or comma separated; eager paths only).

    Raises:
        UserValueError: a bad option, an unavailable device or an unwritable ``out``, before
            any timing starts.
    """

    from coordbias._util.devices import resolve_device
    from coordbias._util.errors import UserValueError, check_count, check_folder_destination
    from coordbias._util.experiment import torch_threads
    from coordbias._util.files import write_json

    # Every option is checked before the first timing.
    if rounds < 1:
        raise UserValueError(f"--rounds must be at least 1, got {rounds}")
    if min_run_time <= 0:
        raise UserValueError(f"--min-run-time must be positive, got {min_run_time}")
    check_count("--threads", threads)
    if grid not in GRIDS:
        raise UserValueError(f"--grid must be one of {', '.join(GRIDS)}; got {grid!r}")
    names = parse_paths(paths if isinstance(paths, str) else ",".join(paths))
    variant_names = parse_variants(variants)
    if variant_names and "compile" in names:
        raise UserValueError(
            "--variants measures the eager implementation; a compiled layer always takes the "
            "traced one: leave compile out of --paths"
        )
    torch_device = resolve_device(device)
    folder = check_folder_destination(out, "--out")
    with torch_threads(threads):
        data = _run(names, torch_device, quick, rounds, min_run_time, grid, variant_names)
    path_out = folder / "bench_layers.json"
    write_json(path_out, data)
    print(f"\nwrote {path_out}")
    return 0


def _run(
    names: list[str],
    device: Any,
    quick: bool,
    rounds: int,
    min_run_time: float,
    grid_name: str,
    variants: Sequence[str] = (),
) -> dict[str, Any]:
    import torch

    threads = torch.get_num_threads()
    grid = QUICK_GRID if quick else GRIDS[grid_name]
    rounds = 1 if quick else rounds
    min_run_time = 0.002 if quick else min_run_time

    start = time.perf_counter()
    paths: dict[str, Any] = {}
    tables = []
    for name in names:
        # --quick is for the tests: its compile path skips inductor's code generation.
        path = path_setup(name, device, "aot_eager" if quick else "inductor")
        results = []
        for case in grid:
            shape = Shape(*case)
            results.append(_measure(shape, path, rounds, min_run_time, threads, device, variants))
            r = results[-1]["ratio"]
            print(
                f"{name:<14} {shape.label:<24} "
                + "  ".join(
                    f"{mode} " + " ".join(f"{_short(n)} {v:.3f}" for n, v in r[mode].items())
                    for mode in MODES
                ),
                flush=True,
            )
        summary = _summary(name, results)
        paths[name] = {"setup": path.describe(), "results": results, "summary": summary}
        tables.append(_table(name, path, results, summary))
    print()
    print("\n\n".join(tables))

    data = {
        "benchmark": "layers",
        "torch": torch.__version__,
        "threads": threads,
        "device": str(device),
        "device_name": (
            torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
        ),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "rounds": rounds,
        "min_run_time": min_run_time,
        "quick": bool(quick),
        "seconds": time.perf_counter() - start,
        "targets": TARGETS,
        "paths": paths,
    }
    if variants:
        data["variants"] = {v: VARIANTS[v] for v in variants}  # name -> what it does
    return data
