"""``coordbias speed data``: what generating the circles data set costs.

Three figures, each a median of ``torch.utils.benchmark`` blocked runs in this one process:

* time per 128 x 128 sample (image and label) generated in batches (``--gen-batch``), amortised;
* time per sample generated one at a time (what a DataLoader without ``__getitems__`` does);
  both also as CPU time per sample, which other jobs on the machine disturb less;
* the share of a training step that on-the-fly generation costs at the study's quick preset:
  generation of one batch against one step (forward, cross-entropy, backward, SGD step) of
  ``coordbias.models.create_model("fcn", width=W)`` on such a batch.

Generation runs numpy on one thread; the training step uses ``--threads`` torch threads (by
default the process's own). Timings on a shared machine are noisy; the ratio is measured side
by side in one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

from coordbias.speed._preset import add_setting_arguments, add_timing_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``coordbias speed data`` to ``parser``."""
    add_setting_arguments(parser, "the training step whose share is measured")
    parser.add_argument("--sample-size", type=int, default=128, help="side for per-sample timing")
    parser.add_argument("--gen-batch", type=int, default=64, help="batch for amortised timing")
    add_timing_arguments(parser, min_run_time=1.0)
    parser.add_argument("--out", default="runs/bench", help="folder for bench_data.json")


def _median(stmt: str, env: dict[str, Any], min_run_time: float, threads: int = 1) -> float:
    from torch.utils.benchmark import Timer

    timer = Timer(stmt=stmt, globals=env, num_threads=threads)
    return float(timer.blocked_autorange(min_run_time=min_run_time).median)


def _cpu_seconds(fn: Any, min_run_time: float) -> float:
    """CPU seconds (``time.process_time``) per call of ``fn``: steadier than wall time when
    other jobs share the cores, since it excludes the time this process waits to be scheduled."""
    fn()
    calls, start, wall = 0, time.process_time(), time.perf_counter()
    while calls < 3 or time.perf_counter() - wall < min_run_time:
        fn()
        calls += 1
    return (time.process_time() - start) / calls


def measure(
    *,
    image_size: int = 64,
    width: int = 16,
    batch_size: int = 16,
    sample_size: int = 128,
    gen_batch: int = 64,
    min_run_time: float = 1.0,
    threads: int | None = None,
) -> dict[str, Any]:
    """Run the three measurements and return them as a JSON-friendly dict (seconds).

    ``threads``: torch threads of the training step (``None``: the process's own).
    """
    import torch

    from coordbias._util.errors import UserValueError, check_count, user_input
    from coordbias.data import CirclesConfig, generate_batch

    for name, value in (
        ("image_size", image_size),
        ("width", width),
        ("batch_size", batch_size),
        ("gen_batch", gen_batch),
    ):
        if value < 1:
            raise UserValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    check_count("--threads", threads)
    threads = torch.get_num_threads() if threads is None else threads
    with user_input("--sample-size"):
        config = CirclesConfig(image_size=sample_size)
    env: dict[str, Any] = {
        "gen": generate_batch,
        "config": config,
        "batch": list(range(gen_batch)),
        "one": [0],
    }
    batched = _median("gen(config, 0, 'train', batch)", env, min_run_time) / gen_batch
    single = _median("gen(config, 0, 'train', one)", env, min_run_time)
    indices = list(range(gen_batch))
    result: dict[str, Any] = {
        "sample_size": sample_size,
        "per_sample_batched_s": batched,
        "per_sample_single_s": single,
        "per_sample_batched_cpu_s": _cpu_seconds(
            lambda: generate_batch(config, 0, "train", indices), min_run_time
        )
        / gen_batch,
        "per_sample_single_cpu_s": _cpu_seconds(
            lambda: generate_batch(config, 0, "train", [0]), min_run_time
        ),
        "gen_batch": gen_batch,
    }

    step_config = CirclesConfig(image_size=image_size)
    step: dict[str, Any] = {"image_size": image_size, "width": width, "batch_size": batch_size}
    try:
        from coordbias.models import create_model
    except ImportError as error:  # models not built yet
        step["error"] = f"coordbias.models.create_model unavailable: {error}"
        result["training_step"] = step
        return result
    torch.manual_seed(0)
    model = create_model("fcn", width=width)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    images, masks, _ = generate_batch(step_config, 0, "train", range(batch_size))
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(images), masks).backward()
        optimizer.step()

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(3):  # warm-up: allocator, optimizer state
            train_step()
    finally:
        torch.set_num_threads(previous)
    step_s = _median("step()", {"step": train_step}, min_run_time, threads=threads)
    env = {"gen": generate_batch, "config": step_config, "batch": list(range(batch_size))}
    gen_s = _median("gen(config, 0, 'train', batch)", env, min_run_time)
    step.update(
        {
            "torch_threads": threads,
            "step_s": step_s,
            "generation_s": gen_s,
            "generation_over_step": gen_s / step_s,
            "generation_share_of_total": gen_s / (gen_s + step_s),
        }
    )
    result["training_step"] = step
    return result


def run(*, out: str | os.PathLike[str] = "runs/bench", **settings: Any) -> int:
    """Measure, print a summary and write ``OUT/bench_data.json``; return 0.

    Args:
        out: the folder of ``bench_data.json``.
        **settings: :func:`measure`'s keyword arguments (``image_size``, ``width``,
            ``batch_size``, ``sample_size``, ``gen_batch``, ``min_run_time``, ``threads``).

    Raises:
        UserValueError: a bad setting or an unwritable ``out``, before any timing starts.
    """
    import torch

    from coordbias._util.errors import check_folder_destination
    from coordbias._util.files import write_json
    from coordbias._version import __version__

    check_folder_destination(out, "--out")
    result = measure(**settings)
    result["environment"] = {
        "coordbias": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
    }
    out = Path(out)
    write_json(out / "bench_data.json", result)
    s = result["sample_size"]
    print(f"generation of one {s} x {s} sample (image and label):")
    rows = ((f"batched ({result['gen_batch']})", "batched"), ("one at a time", "single"))
    for label, key in rows:
        wall = result[f"per_sample_{key}_s"] * 1e3
        cpu = result[f"per_sample_{key}_cpu_s"] * 1e3
        print(f"  {label:>14}: {wall:.3f} ms median wall, {cpu:.3f} ms CPU")
    step = result["training_step"]
    if "error" in step:
        print(f"training-step share: skipped ({step['error']})")
    else:
        print(
            f"training step at {step['image_size']} px, width {step['width']}, batch "
            f"{step['batch_size']}: {step['step_s'] * 1e3:.2f} ms; generating its batch "
            f"{step['generation_s'] * 1e3:.2f} ms = {step['generation_over_step']:.1%} of a step"
        )
    print(f"wrote {out / 'bench_data.json'}")
    return 0
