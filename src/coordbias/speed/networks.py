"""``coordbias speed networks``: a training step of whole networks converted with
:func:`coordbias.convert`, against the same network plain and at the floor.

Two networks (:data:`NETWORKS`): the study's FCN at the original's width (64 channels, 128 px,
batch 8) and the U-Net of residual units with instance norm and transposed convolutions
(``create_model("unet")``, width 32, 128 px, batch 8). Each is built plain (``vanilla``) and then

* ``coordbias``: ``convert(model, "coordbias")``, every convolution and transposed convolution;
* ``coordconv``: ``convert(model, "coordconv")``, the same ones;
* ``floor``: the plain network with an in-place add of a learned ``(1, C, H, W)`` map after
  every convolution (:func:`coordbias.speed.floor.add_floor`, the map in the output's dtype and
  memory format): the least work any learned position term can do in eager mode (the module
  :mod:`coordbias.speed.floor` says why).

A step is forward, cross-entropy, backward and an SGD step (momentum 0.9), gradients reset to
``None``. The paths (:data:`PATHS`): ``fp32``; ``channels_last`` (model and input);
``autocast_bf16`` and ``autocast_fp16`` (forward and loss under ``torch.autocast``);
``compile`` (``torch.compile(model)``, inductor; the optimiser step stays eager); ``cudagraphs``
(``torch.compile(model, mode="reduce-overhead")``, CUDA only: before it is timed,
:func:`replay_check` checks that its outputs across replays with changing inputs equal eager
calls of the same module). The four variants of a network on a path are timed side by side in
interleaved rounds (:mod:`coordbias._util.timing`); a ratio is the median over rounds of the
per-round ratio to ``vanilla`` on the same path, with a distribution-free interval from the
rounds, and ``coordbias - floor`` is formed per round the same way.

``--alternatives traced,reduce,native`` adds ``coordbias`` once more per name, with its eager
implementation swapped for another (:mod:`coordbias.speed.alternatives`), on the eager paths.

``--profile`` adds where a step's time goes, per variant (:func:`step_profile`): the host's
time to issue a step without waiting for the device, the device's kernel time, the kernels
launched and the aten calls made per step. On a GPU a step whose host time is close to its step
time is bound by the host (Python and launches), where a position term's per-call cost shows in
full; the profile says so, the ratios alone do not.

``--out DIR`` receives ``networks.json`` (every time, ratio and interval) and ``networks.md``
(the table, and the profile's).
"""

from __future__ import annotations

import argparse
import statistics
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from coordbias._util.errors import UserValueError
from coordbias.speed._preset import (
    add_names_argument,
    add_output_arguments,
    add_rounds_argument,
    add_timing_arguments,
    parse_names,
)
from coordbias.speed.alternatives import ALTERNATIVES

#: The networks, by ``create_model`` name.
NETWORKS = ("fcn", "unet")
#: The variants of a network, in the order they are built and reported.
VARIANTS = ("vanilla", "coordbias", "coordconv", "floor")
#: The variants whose ratios to ``vanilla`` are reported.
COMPARED = ("coordbias", "coordconv", "floor")
#: The prefix of the variant that times ``coordbias`` with an alternative eager implementation
#: (``coordbias_traced``, ...: :data:`coordbias.speed.alternatives.ALTERNATIVES`); on the eager
#: paths only (compiled code takes the traced implementation anyway).
ALTERNATIVE = "coordbias_"
#: Every path, in the order it is run and reported.
PATHS = ("fp32", "channels_last", "autocast_bf16", "autocast_fp16", "compile", "cudagraphs")
#: The paths ``coordbias speed networks`` runs by default.
DEFAULT_PATHS = ("fp32", "channels_last", "autocast_bf16", "compile")
#: Paths that need a CUDA device, and why.
CUDA_ONLY = {"cudagraphs": "CUDA graphs need a CUDA device"}
#: Relative difference (max |compiled - eager| / max |eager|) a CUDA-graph replay may show:
#: different kernels round differently (TF32 on CUDA), overwritten memory is off by far more.
REPLAY_TOLERANCE = 1e-2


@dataclass(frozen=True)
class NetworkSetting:
    """The size a network is timed at."""

    network: str
    image_size: int
    batch_size: int
    width: int


#: The full-size settings: the FCN at the original's width, the U-Net at a comparable cost.
SETTINGS = {
    "fcn": NetworkSetting("fcn", image_size=128, batch_size=8, width=64),
    "unet": NetworkSetting("unet", image_size=128, batch_size=8, width=32),
}


# --------------------------------------------------------------------------------------------
# Paths and steps
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkPath:
    """How a path runs a network: memory format, autocast dtype, compile mode."""

    name: str
    channels_last: bool = False
    autocast: str = ""  # "bfloat16", "float16" or "" (none)
    compile_mode: str = ""  # "" (eager), "default" or "reduce-overhead"

    def describe(self) -> str:
        parts = ["float32", "channels_last" if self.channels_last else "contiguous"]
        if self.autocast:
            parts.append(f"autocast {self.autocast}")
        if self.compile_mode:
            parts.append(f"torch.compile mode={self.compile_mode}")
        return ", ".join(parts)


def network_path(name: str) -> NetworkPath:
    """The :class:`NetworkPath` called ``name`` (one of :data:`PATHS`)."""
    setups = {
        "fp32": NetworkPath("fp32"),
        "channels_last": NetworkPath("channels_last", channels_last=True),
        "autocast_bf16": NetworkPath("autocast_bf16", autocast="bfloat16"),
        "autocast_fp16": NetworkPath("autocast_fp16", autocast="float16"),
        "compile": NetworkPath("compile", compile_mode="default"),
        "cudagraphs": NetworkPath("cudagraphs", compile_mode="reduce-overhead"),
    }
    if name not in setups:
        raise ValueError(f"unknown path {name!r}; the paths are {', '.join(PATHS)}")
    return setups[name]


def build_network(
    setting: NetworkSetting, variant: str, path: NetworkPath, device: Any, num_classes: int = 4
) -> Any:
    """The network of ``setting`` as ``variant`` for ``path`` on ``device`` (not compiled).

    The plain network is built with seed 0, so every variant starts from the same weights;
    ``coordbias`` and ``coordconv`` are :func:`coordbias.convert` of it (``coord_init=
    "uniform"``, so the terms are not zero), ``floor`` is
    :func:`coordbias.speed.floor.add_floor` of it.
    """
    import torch

    import coordbias
    from coordbias.models import create_model
    from coordbias.speed.floor import add_floor

    if variant not in VARIANTS and _alternative(variant) is None:
        raise ValueError(f"unknown variant {variant!r}; the variants are {', '.join(VARIANTS)}")
    torch.manual_seed(0)
    model = create_model(setting.network, width=setting.width, num_classes=num_classes)
    if variant in ("coordbias", "coordconv") or _alternative(variant):
        method = "coordconv" if variant == "coordconv" else "coordbias"
        model = coordbias.convert(model, method, coord_init="uniform")
    model = model.to(device)
    if variant == "floor":
        size = (1, 3, setting.image_size, setting.image_size)
        dtype = getattr(torch, path.autocast) if path.autocast else None
        model = add_floor(model, torch.zeros(size, device=device), dtype=dtype)
    if path.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model.train()


def _alternative(variant: str) -> str | None:
    """The alternative eager implementation a variant names, or ``None``."""
    name = variant.removeprefix(ALTERNATIVE)
    return name if variant.startswith(ALTERNATIVE) and name in ALTERNATIVES else None


def _batch(setting: NetworkSetting, path: NetworkPath, device: Any, seed: int = 0) -> tuple:
    import torch

    gen = torch.Generator().manual_seed(seed)
    s, b = setting.image_size, setting.batch_size
    images = torch.rand(b, 3, s, s, generator=gen).to(device)
    labels = torch.randint(0, 4, (b, s, s), generator=gen).to(device)
    if path.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, labels


def _autocast(path: NetworkPath, device: Any) -> Callable[[], Any]:
    import contextlib

    import torch

    if not path.autocast:
        return contextlib.nullcontext
    dtype = getattr(torch, path.autocast)
    return lambda: torch.autocast(device.type, dtype=dtype)


def _compiled(model: Any, path: NetworkPath, backend: str) -> Any:
    import torch

    if not path.compile_mode:
        return model
    if path.compile_mode == "reduce-overhead":
        return torch.compile(model, mode="reduce-overhead")
    return torch.compile(model, backend=backend)


def training_step(model: Any, forward: Any, path: NetworkPath, device: Any, batch: tuple) -> Any:
    """One training step of ``model`` (called through ``forward``, e.g. its compiled form) as a
    function of no arguments: forward, cross-entropy, backward, SGD step; returns the loss."""
    import torch
    import torch.nn.functional as F

    images, labels = batch
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    context = _autocast(path, device)
    mark = path.compile_mode == "reduce-overhead"

    def step() -> Any:
        if mark:
            torch.compiler.cudagraph_mark_step_begin()
        optimizer.zero_grad(set_to_none=True)
        with context():
            loss = F.cross_entropy(forward(images), labels)
        loss.backward()
        optimizer.step()
        return loss

    return step


def replay_check(model: Any, forward: Any, inputs: Sequence[Any], *, cudagraphs: bool) -> dict:
    """Whether ``forward`` (a compiled ``model``) agrees with eager calls of ``model`` on
    changing inputs, each input given twice (the second pass replays graphs captured in the
    first).

    Each call runs forward and backward in training mode, as a training step does; the output
    is copied at once and compared with an eager call of the same module (``no_grad``) made right
    after, which would see a cache whose memory a CUDA-graph replay overwrote.

    Returns:
        ``max_rel_diff`` (largest ``max |compiled - eager| / max |eager|``), ``calls``, ``ok``.
    """
    import torch

    worst = 0.0
    calls = 0
    for x in [*inputs, *inputs]:
        if cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()
        out = forward(x)
        got = out.detach().clone()
        out.float().mean().backward()
        model.zero_grad(set_to_none=True)
        with torch.no_grad():
            want = model(x)
        scale = float(want.abs().max()) or 1.0
        worst = max(worst, float((got.float() - want.float()).abs().max()) / scale)
        calls += 1
    return {"max_rel_diff": worst, "calls": calls, "ok": worst <= REPLAY_TOLERANCE}


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------
def _ratio_summary(values: list[float]) -> dict[str, Any]:
    from coordbias._util.timing import median_interval

    low, high, coverage = median_interval(values)
    return {
        "median": statistics.median(values),
        "low": low,
        "high": high,
        "coverage": coverage,
        "rounds": values,
    }


def step_profile(step: Callable[[], Any], device: Any, steps: int = 3) -> dict[str, Any]:
    """Where the time of ``step`` (a training step of no arguments) goes on ``device``.

    Returns:
        ``host_ms``: milliseconds to issue one step without waiting for the device (on a CPU,
        the step itself); ``device_ms``: the device's kernel time per step (``None`` off CUDA);
        ``kernels``: kernel launches per step (0 off CUDA); ``aten_calls``: aten operator calls
        per step (nested ones included); ``top``: the six operators of most self host time,
        ``[name, calls per step, self host microseconds per step]``; ``ops``: every operator,
        ``{name: [calls per step, self host microseconds per step]}``; ``device_kernels``: every
        device kernel, ``{name: [launches per step, device microseconds per step]}`` (empty off
        CUDA). Means over ``steps`` steps after one warm-up; ``host_ms`` is timed without the
        profiler, the rest under it. :func:`added_work` compares two variants' ``ops`` or
        ``device_kernels``.
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    host = (time.perf_counter() - start) / steps
    sync()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        sync()
    averages = prof.key_averages()
    device_us = 0.0
    kernels = aten = 0
    ops: dict[str, list[float]] = {}
    device_kernels: dict[str, list[float]] = {}
    for event in averages:
        if event.device_type == torch.autograd.DeviceType.CUDA:
            device_us += event.self_device_time_total
            device_kernels[event.key] = [
                event.count / steps,
                event.self_device_time_total / steps,
            ]
            continue
        ops[event.key] = [event.count / steps, event.self_cpu_time_total / steps]
        if event.key.startswith("cudaLaunchKernel"):
            kernels += event.count
        elif event.key.startswith("aten::"):
            aten += event.count
    ranked = sorted(ops.items(), key=lambda item: item[1][1], reverse=True)
    return {
        "host_ms": 1e3 * host,
        "device_ms": device_us / 1e3 / steps if cuda else None,
        "kernels": kernels / steps,
        "aten_calls": aten / steps,
        "top": [[name, calls, us] for name, (calls, us) in ranked[:6]],
        "ops": ops,
        "device_kernels": device_kernels,
    }


def added_work(
    profiles: dict[str, Any], variant: str, base: str = "vanilla", what: str = "ops", top: int = 6
) -> list[list[Any]]:
    """What ``variant``'s step does beyond ``base``'s, by operator or kernel name.

    Args:
        profiles: :func:`step_profile` results by variant (a path's ``profile``).
        variant, base: the variants compared.
        what: ``"ops"`` (self host time of each operator) or ``"device_kernels"`` (device time
            of each kernel).
        top: how many names to return.

    Returns:
        ``[name, calls added per step, microseconds added per step]`` for the ``top`` names whose
        time grew most, largest first (none whose time did not grow).
    """
    mine, theirs = profiles[variant][what], profiles[base][what]
    added = []
    for name, (calls, us) in mine.items():
        base_calls, base_us = theirs.get(name, (0.0, 0.0))
        if us > base_us:
            added.append([name, calls - base_calls, us - base_us])
    added.sort(key=lambda row: row[2], reverse=True)
    return added[:top]


def measure_path(
    setting: NetworkSetting,
    path: NetworkPath,
    device: Any,
    *,
    rounds: int,
    min_run_time: float,
    threads: int,
    compile_backend: str = "inductor",
    profile: bool = False,
    alternatives: Sequence[str] = (),
) -> dict[str, Any]:
    """Time the four variants of one network on one path (on an eager path, ``coordbias`` with
    each of ``alternatives`` too); their ratios to ``vanilla`` (and with ``profile`` each
    variant's :func:`step_profile`)."""
    import torch

    from coordbias._util.timing import interleaved, round_ratios
    from coordbias.speed.alternatives import wrap

    steps = {}
    result: dict[str, Any] = {"setup": path.describe()}
    batch = _batch(setting, path, device)
    if path.compile_mode:
        torch._dynamo.reset()  # room for this path's graphs: dynamo keeps a few per code object
    variants = VARIANTS
    if not path.compile_mode:
        variants += tuple(ALTERNATIVE + name for name in alternatives)
    for variant in variants:
        model = build_network(setting, variant, path, device)
        forward = _compiled(model, path, compile_backend)
        if path.compile_mode == "reduce-overhead":
            inputs = [_batch(setting, path, device, seed)[0] for seed in (1, 2, 3)]
            check = replay_check(model, forward, inputs, cudagraphs=True)
            result.setdefault("replay_check", {})[variant] = check
        steps[variant] = training_step(model, forward, path, device, batch)
        if _alternative(variant):
            steps[variant] = wrap(steps[variant], _alternative(variant))
        loss = float(steps[variant]().detach())
        if loss != loss or loss in (float("inf"), float("-inf")):
            raise FloatingPointError(f"{variant}: the loss of a training step is {loss}")
    times = interleaved(steps, rounds=rounds, min_run_time=min_run_time, threads=threads)
    ratios = round_ratios(times, "vanilla")
    result["ms"] = {v: 1e3 * statistics.median(t) for v, t in times.items()}
    result["ms_rounds"] = {v: [1e3 * t for t in ts] for v, ts in times.items()}
    result["ratio"] = {v: _ratio_summary(ratios[v]) for v in variants if v != "vanilla"}
    above = [c - f for c, f in zip(ratios["coordbias"], ratios["floor"], strict=True)]
    result["coordbias_above_floor"] = _ratio_summary(above)
    if profile:
        result["profile"] = {v: step_profile(step, device) for v, step in steps.items()}
    return result


def _cell(summary: dict[str, Any]) -> str:
    return f"{summary['median']:.3f} ({summary['low']:.3f}–{summary['high']:.3f})"


def markdown_table(data: dict[str, Any]) -> str:
    """The table of a :func:`measure_networks` result: a row per network and path."""
    from coordbias.reporting.markdown import md_table

    extra = [ALTERNATIVE + name for name in data.get("alternatives", [])]
    rows = []
    for network, entry in data["networks"].items():
        setting = entry["setting"]
        label = (
            f"{network} ({setting['width']} ch, {setting['image_size']} px, "
            f"batch {setting['batch_size']})"
        )
        for name, result in entry["paths"].items():
            if "skipped" in result or "error" in result:
                why = result.get("skipped") or f"failed: {result['error']}"
                rows.append([label, name, "", "", "", "", "", *([""] * len(extra)), why])
                continue
            check = result.get("replay_check")
            note = ""
            if check:
                ok = all(c["ok"] for c in check.values())
                worst = max(c["max_rel_diff"] for c in check.values())
                note = f"replays {'equal' if ok else 'DIFFER'} (max rel. diff {worst:.1e})"
            rows.append(
                [
                    label,
                    name,
                    f"{result['ms']['vanilla']:.4g}",
                    *(_cell(result["ratio"][v]) for v in COMPARED),
                    _cell(result["coordbias_above_floor"]),
                    *(_alternative_cell(result, v) for v in extra),
                    note,
                ]
            )
    headers = [
        "network",
        "path",
        "vanilla ms",
        "coordbias",
        "coordconv",
        "floor",
        "coordbias − floor",
        *extra,
        "note",
    ]
    coverage = next(
        (
            r["ratio"]["coordbias"]["coverage"]
            for e in data["networks"].values()
            for r in e["paths"].values()
            if "ratio" in r
        ),
        None,
    )
    what = (
        f"Training step time relative to the plain network on the same path: median of the "
        f"per-round ratios over {data['rounds']} interleaved rounds"
        + (f" (in brackets: an interval of coverage {coverage:.2f} for it)" if coverage else "")
        + f"; device {data['device']}, {data['threads']} thread(s), torch {data['torch']}."
    )
    return what + "\n\n" + md_table(headers, rows) + "\n" + _profile_table(data)


def _alternative_cell(result: dict[str, Any], variant: str) -> str:
    if variant in result["ratio"]:
        return _cell(result["ratio"][variant])
    return "(compiled: traced)"


def _profile_table(data: dict[str, Any]) -> str:
    """The profiles of a :func:`measure_networks` result (``--profile``), or ``""``."""
    from coordbias.reporting.markdown import md_table

    rows = []
    for network, entry in data["networks"].items():
        for name, result in entry["paths"].items():
            for variant, got in result.get("profile", {}).items():
                device_ms = got["device_ms"]
                rows.append(
                    [
                        network,
                        name,
                        variant,
                        f"{result['ms'][variant]:.4g}",
                        f"{got['host_ms']:.4g}",
                        "" if device_ms is None else f"{device_ms:.4g}",
                        f"{got['kernels']:g}",
                        f"{got['aten_calls']:g}",
                    ]
                )
    if not rows:
        return ""
    headers = ["network", "path", "variant", "step ms", "host ms", "device ms"]
    headers += ["kernels", "aten calls"]
    return (
        "\nWhere a step's time goes (`--profile`): the host's time to issue a step without "
        "waiting for the device, the device's kernel time, kernel launches and aten calls per "
        "step (means of 3 steps). A host time close to the step time: the step is bound by the "
        "host.\n\n" + md_table(headers, rows) + "\n" + _added_table(data)
    )


def _added_table(data: dict[str, Any]) -> str:
    """What ``coordbias`` adds to a step over ``vanilla``, by operator (host) and by kernel
    (device, CUDA only): :func:`added_work` of each profiled path."""
    from coordbias.reporting.markdown import md_table

    rows = []
    for network, entry in data["networks"].items():
        for name, result in entry["paths"].items():
            profiles = result.get("profile")
            if not profiles:
                continue
            for what, label in (("ops", "host"), ("device_kernels", "device")):
                for op, calls, us in added_work(profiles, "coordbias", what=what):
                    short = op if len(op) <= 70 else op[:67] + "..."
                    cells = [network, name, label, short.replace("|", "/"), f"{calls:+g}"]
                    rows.append([*cells, f"{us:+.1f}"])
    if not rows:
        return ""
    headers = ["network", "path", "where", "operator or kernel", "calls", "us"]
    return (
        "\nWhat `coordbias` adds to a step over `vanilla` (`--profile`): the six operators whose "
        "self host time grew most and, on a GPU, the six kernels whose device time grew most; "
        "calls and microseconds added per step.\n\n" + md_table(headers, rows) + "\n"
    )


def measure_networks(
    out: str | Path,
    *,
    networks: Sequence[str] = NETWORKS,
    paths: Sequence[str] = DEFAULT_PATHS,
    device: Any = "cpu",
    image_size: int | None = None,
    batch_size: int | None = None,
    width: int | None = None,
    rounds: int = 5,
    min_run_time: float = 0.5,
    threads: int = 1,
    compile_backend: str = "inductor",
    profile: bool = False,
    alternatives: Sequence[str] = (),
) -> dict[str, Any]:
    """Time the training step of every network's variants on every path; write
    ``out/networks.json`` and ``out/networks.md``.

    A path that this device cannot run (:data:`CUDA_ONLY`) is recorded as skipped, with the
    reason; a path that fails is recorded with its error, and the others still run.

    Args:
        out: the folder (created).
        networks: names from :data:`NETWORKS`.
        paths: names from :data:`PATHS`.
        device: a torch device or its name.
        image_size: image side (default: each network's in :data:`SETTINGS`); a multiple of 8.
        batch_size: images per step (default: each network's).
        width: the network's width (default: each network's).
        rounds: interleaved rounds.
        min_run_time: seconds each single timing runs for at least.
        threads: torch intra-op threads.
        compile_backend: the backend of the ``compile`` path (``"aot_eager"`` in the tests).
        profile: also profile each variant's step (:func:`step_profile`).
        alternatives: names from :data:`coordbias.speed.alternatives.ALTERNATIVES`: on the eager
            paths, also time ``coordbias`` with each of these eager implementations.

    Returns:
        The JSON-ready result; ``failed`` lists the ``network/path`` that failed.

    Raises:
        ValueError: a bad name or number (before anything is timed).
    """
    import platform

    import torch

    from coordbias._util.devices import resolve_device
    from coordbias._util.errors import check_folder_destination
    from coordbias._util.files import write_json, write_text

    for name in networks:
        if name not in NETWORKS:
            raise UserValueError(
                f"unknown network {name!r}; the networks are {', '.join(NETWORKS)}"
            )
    for name in alternatives:
        if name not in ALTERNATIVES:
            raise UserValueError(
                f"unknown alternative {name!r}; the alternatives are {', '.join(ALTERNATIVES)}"
            )
    path_setups = [network_path(p) for p in paths]
    for option, value in (("rounds", rounds), ("threads", threads)):
        if value < 1:
            raise UserValueError(f"--{option} must be at least 1, got {value}")
    if not min_run_time > 0:
        raise UserValueError(f"--min-run-time must be positive, got {min_run_time}")
    for option, value in (("image-size", image_size), ("batch-size", batch_size)):
        if value is not None and value < 1:
            raise UserValueError(f"--{option} must be at least 1, got {value}")
    if image_size is not None and image_size % 8:
        raise UserValueError(f"--image-size must be a multiple of 8, got {image_size}")
    if width is not None and (width < 2 or width % 2):
        raise UserValueError(f"--width must be an even number of at least 2, got {width}")
    device = resolve_device(device)
    folder = check_folder_destination(str(out), "--out")
    torch.set_num_threads(threads)
    overrides = {
        k: v
        for k, v in (("image_size", image_size), ("batch_size", batch_size), ("width", width))
        if v is not None
    }
    start = time.perf_counter()
    data: dict[str, Any] = {
        "benchmark": "networks",
        "torch": torch.__version__,
        "device": str(device),
        "device_name": (
            torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
        ),
        "threads": torch.get_num_threads(),
        "rounds": rounds,
        "min_run_time": min_run_time,
        "compile_backend": compile_backend,
        "alternatives": list(alternatives),
        "networks": {},
        "failed": [],
    }

    def write() -> None:
        data["seconds"] = time.perf_counter() - start
        write_json(folder / "networks.json", data)
        write_text(folder / "networks.md", markdown_table(data))

    for network in networks:
        setting = replace(SETTINGS[network], **overrides)
        entry: dict[str, Any] = {"setting": asdict(setting), "paths": {}}
        data["networks"][network] = entry
        for path in path_setups:
            if path.name in CUDA_ONLY and device.type != "cuda":
                entry["paths"][path.name] = {
                    "skipped": f"skipped on {device.type}: {CUDA_ONLY[path.name]}"
                }
                print(f"{network:<6} {path.name:<14} skipped ({CUDA_ONLY[path.name]})", flush=True)
                continue
            try:
                result = measure_path(
                    setting,
                    path,
                    device,
                    rounds=rounds,
                    min_run_time=min_run_time,
                    threads=threads,
                    compile_backend=compile_backend,
                    profile=profile,
                    alternatives=alternatives,
                )
            except Exception as error:  # recorded, reported, and the command fails at the end
                traceback.print_exc()
                entry["paths"][path.name] = {"error": f"{type(error).__name__}: {error}"}
                data["failed"].append(f"{network}/{path.name}")
                continue
            checks = result.get("replay_check", {})
            if not all(c["ok"] for c in checks.values()):
                data["failed"].append(f"{network}/{path.name} (replays differ from eager)")
            entry["paths"][path.name] = result
            print(
                f"{network:<6} {path.name:<14} "
                + "  ".join(f"{v} {result['ratio'][v]['median']:.3f}" for v in COMPARED)
                + f"  coordbias-floor {result['coordbias_above_floor']['median']:+.3f}",
                flush=True,
            )
            write()  # what is measured so far survives a run that is stopped
    write()
    return data


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``coordbias speed networks`` to ``parser``."""
    add_output_arguments(
        parser, out="runs/speed", files="networks.json and networks.md", device="cpu"
    )
    add_names_argument(parser, "--networks", NETWORKS, what="networks")
    add_names_argument(parser, "--paths", PATHS, what="paths", default=DEFAULT_PATHS)
    for flag, what in (
        ("--image-size", "image side"),
        ("--batch-size", "batch size"),
        ("--width", "network width"),
    ):
        parser.add_argument(
            flag,
            type=int,
            default=None,
            metavar="N",
            help=f"{what} (default: each network's full size: FCN 64 channels, U-Net 32, "
            "128 px, batch 8)",
        )
    add_rounds_argument(parser)
    add_timing_arguments(parser, min_run_time=0.5)
    parser.add_argument(
        "--compile-backend",
        default="inductor",
        help="backend of the compile path (default %(default)s; aot_eager skips code generation)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also say where each variant's step time goes: host and device time, kernel "
        "launches and aten calls per step, and what coordbias adds over vanilla by operator "
        "and kernel",
    )
    add_names_argument(
        parser,
        "--alternatives",
        tuple(ALTERNATIVES),
        what="alternative eager implementations of coordbias to time beside it on the eager "
        "paths (coordbias.speed.alternatives)",
        default=(),
    )


def run(
    *,
    out: str | Path = "runs/speed",
    networks: str | Sequence[str] = NETWORKS,
    paths: str | Sequence[str] = DEFAULT_PATHS,
    alternatives: str | Sequence[str] = (),
    threads: int | None = None,
    **settings: Any,
) -> int:
    """Measure, print the table, write the files; 1 when a path failed.

    Args:
        out: the folder.
        networks, paths: :func:`measure_networks`'s, also comma separated.
        threads: torch's threads (``None``: the process's own).
        **settings: the other keyword arguments of :func:`measure_networks` (``device``,
            ``image_size``, ``batch_size``, ``width``, ``rounds``, ``min_run_time``,
            ``compile_backend``, ``profile``), passed on with its defaults.
        alternatives: :func:`measure_networks`'s, also comma separated.
    """
    import torch

    from coordbias._util.errors import check_count

    check_count("--threads", threads)
    data = measure_networks(
        out,
        networks=parse_names(networks, NETWORKS, "--networks"),
        paths=parse_names(paths, PATHS, "--paths"),
        alternatives=(
            parse_names(alternatives, tuple(ALTERNATIVES), "--alternatives") if alternatives else []
        ),
        threads=torch.get_num_threads() if threads is None else threads,
        **settings,
    )
    print()
    print(markdown_table(data))
    print(f"wrote {Path(out) / 'networks.json'} and networks.md")
    if data["failed"]:
        print(f"failed: {', '.join(data['failed'])}")
        return 1
    return 0
