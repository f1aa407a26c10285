"""``coordbias speed gpu-check``: what a device must pass, in one command and one folder.

Five parts, each a command of its own run in a child process (so that a crash in one, a CUDA
error or a fault in a native library, is that part's failure and the others still run), each with
its log in ``OUT/logs/`` and a time limit:

1. ``layer-tests``: the layer tests (``pytest tests/layers``) on the device: the variable
   ``COORDBIAS_TEST_DEVICE`` makes it torch's default device in every layer test
   (``tests/layers/conftest.py``); the ONNX export tests, which run on the CPU whatever the
   device, are left to the normal run;
2. ``layer-speed``: ``coordbias speed layers`` on every path (``fp32``, ``channels_last``,
   ``autocast``: float16 on CUDA, bfloat16 on the CPU; ``half``: float16 on CUDA, bfloat16 on the
   CPU; ``compile``);
3. ``network-speed``: ``coordbias speed networks`` on every path (``fp32``, ``channels_last``,
   ``autocast_bf16``, ``autocast_fp16``, ``compile``, and ``cudagraphs``:
   ``torch.compile(mode="reduce-overhead")``, its outputs across replays with changing inputs
   checked against eager calls; CUDA only, and the table says it was skipped on a CPU), with
   ``--profile``: where each variant's step time goes (host and device time, kernel launches,
   what ``coordbias`` adds by operator and kernel), and ``--alternatives traced,reduce,native``:
   ``coordbias`` with each other eager implementation (:mod:`coordbias.speed.alternatives`);
4. ``study``: ``coordbias study --preset test`` on the device;
5. ``benchmark``: ``coordbias benchmark --scale test`` on :data:`BENCHMARK_SUBSET` (every task
   family, the baseline and the library's method, one seed: the whole test scale is a few
   minutes of cells, which train on the CPU).

``OUT/summary.md`` (and ``summary.json``) has a row per part: passed or failed, seconds, the
command, and what it found (the tests' counts, the paths skipped, the network table).

**Sizes.** On a GPU the check must take at most 8 minutes (``--max-minutes``); the parts' limits
(:data:`BUDGET_S`) add up to that, so the check ends in time whatever happens, and a part that
needs longer fails with "timed out" rather than stretching the check. Where the time goes on a
GPU: the layer tests are about 1,450 tests, under 2 minutes on this project's 2-core CPU (most
are CPU-bound Python; two compile with inductor); the layer speed runs the ``small`` grid (one
first and one middle layer) with 2 rounds of 0.05 s, its cost the 16 inductor compilations of the
compile path; the networks run at full size (FCN 64 channels, U-Net 32, 128 px, batch 8: a few ms
a step on a GPU) with 3 rounds of 0.05 s, their cost the 8 inductor compilations of the compile
path (the CUDA-graph path reuses inductor's cache); the study and benchmark at their test sizes
take about 15 s each. Measured on an H200 (torch 2.11, 2026-12-04): layer tests 75 s with 4
pytest workers (139 s in one process, most of it failures' tracebacks), the study 24 s, the
benchmark 20 s; the layer speed (5 of its paths in 75 s) and the networks (11 of 12 rows in
170 s) ran out of those limits, so their shares grew. A part that runs out of time says so in
the summary, keeps what it wrote (the network table is written path by path), and can be rerun
alone: ``--parts`` shares ``--max-minutes`` among the parts it names, in the proportions of
:data:`BUDGET_S`. ``--quick`` (CI on a CPU) shrinks every part:
the device test and the 2-D layers' path tests, the layer speed's ``--quick``, networks at 16 px,
width 2 and batch 1 with the ``eager`` compile backend (dynamo alone).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from coordbias.speed._preset import add_names_argument, add_output_arguments

#: The parts, in the order they run.
PARTS = ("layer-tests", "layer-speed", "network-speed", "study", "benchmark")
#: The benchmark's cells the check runs: one task of each family, two methods, one seed.
BENCHMARK_SUBSET = (
    "--methods",
    "vanilla,coordbias",
    "--tasks",
    "circles,redgreen,nsc_class_uniform,nsc_reg_uniform",
    "--seeds",
    "1",
)
#: Seconds each part may take at ``--max-minutes 8`` (they add up to 8 minutes).
BUDGET_S = {
    "layer-tests": 130,
    "layer-speed": 110,
    "network-speed": 190,
    "study": 25,
    "benchmark": 25,
}
#: The file that marks a folder as a check's (a new check may replace what is in it).
MARKER = ".gpu-check"
#: The variable that names the device of the layer tests (read by ``tests/layers/conftest.py``).
DEVICE_VARIABLE = "COORDBIAS_TEST_DEVICE"


@dataclass(frozen=True)
class Part:
    """One part of the check: a command, its environment, its time limit."""

    name: str
    command: list[str]
    timeout_s: float
    env: dict[str, str] = field(default_factory=dict)
    output: str = ""  # its folder under OUT, if it writes one
    skipped: str = ""  # why it does not run, if it does not


def plan_parts(
    out: Path,
    *,
    device: str,
    quick: bool,
    tests: Path,
    max_minutes: float = 8.0,
    parts: Sequence[str] = PARTS,
    python: str = sys.executable,
) -> list[Part]:
    """The parts of the check on ``device`` writing under ``out``.

    Args:
        out: the check's folder.
        device: a device name (``cpu``, ``cuda``, ``cuda:1``).
        quick: the CI size (see the module docstring).
        tests: the layer tests' folder (``tests/layers`` of a source checkout).
        max_minutes: the limit of the whole check, shared among ``parts`` in the proportions of
            :data:`BUDGET_S`.
        parts: the parts to run, in the check's order whatever their order here.
        python: the interpreter the parts run with.
    """
    scale = max_minutes * 60 / sum(BUDGET_S[name] for name in parts)
    coordbias = [python, "-m", "coordbias"]
    on_cpu = device == "cpu"

    def limit(name: str) -> float:
        return BUDGET_S[name] * scale

    if quick:
        # the device fixture and every dtype / layout / autocast path of the 2-D layers
        test_args = [str(tests / "test_device.py"), str(tests / "test_paths.py")]
        test_args += ["-k", "2d or test_device"]
        layer_speed = ["--quick"]
        network_size = ["--image-size", "16", "--batch-size", "1", "--width", "2"]
        network_timing = ["--rounds", "1", "--min-run-time", "0.001"]
        network_timing += ["--compile-backend", "eager"]  # dynamo alone: half aot_eager's time
    else:
        test_args = [str(tests), "-k", "not onnx"]
        if importlib.util.find_spec("xdist") is not None:
            test_args += ["-n", "4"]  # on an H200: 74 s with 4 workers, 139 s in one process
        layer_speed = ["--grid", "small", "--rounds", "2", "--min-run-time", "0.05"]
        network_size = []
        network_timing = ["--rounds", "3", "--min-run-time", "0.05"]
    planned = [
        Part(
            "layer-tests",
            [python, "-m", "pytest", *test_args, "-q", "-p", "no:cacheprovider", "-W", "ignore"],
            limit("layer-tests"),
            env={DEVICE_VARIABLE: device},
            skipped="" if tests.is_dir() else f"no layer tests at {tests} (run from a checkout)",
        ),
        Part(
            "layer-speed",
            [
                *coordbias,
                "speed",
                "layers",
                "--device",
                device,
                "--out",
                str(out / "layer-speed"),
                *layer_speed,
            ],
            limit("layer-speed"),
            output="layer-speed",
        ),
        Part(
            "network-speed",
            [
                *coordbias,
                "speed",
                "networks",
                "--device",
                device,
                "--paths",
                "fp32,channels_last,autocast_bf16,autocast_fp16,compile,cudagraphs",
                "--profile",
                "--alternatives",
                "traced,reduce,native",
                "--out",
                str(out / "network-speed"),
                *network_size,
                *network_timing,
            ],
            limit("network-speed"),
            output="network-speed",
        ),
        Part(
            "study",
            [
                *coordbias,
                "study",
                "--preset",
                "test",
                "--jobs",
                "1",
                "--out",
                str(out / "study"),
                "--accelerator",
                "cpu" if on_cpu else "gpu",
            ],
            limit("study"),
            output="study",
        ),
        Part(
            "benchmark",
            [
                *coordbias,
                "benchmark",
                "--scale",
                "test",
                *BENCHMARK_SUBSET,
                "--jobs",
                "1",
                "--out",
                str(out / "benchmark"),
            ],
            limit("benchmark"),
            output="benchmark",
        ),
    ]
    return [part for part in planned if part.name in parts]


def _tail(text: str, lines: int = 3) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _findings(part: Part, log: str, out: Path) -> str:
    """What a part found, in a few words, from its log and the files it wrote."""
    import json

    if part.name == "layer-tests":
        counts = re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", log)
        return ", ".join(f"{n} {what}" for n, what in counts)
    if part.name == "layer-speed":
        path = out / part.output / "bench_layers.json"
        if path.is_file():
            return "paths: " + ", ".join(json.loads(path.read_text())["paths"])
    if part.name == "network-speed":
        path = out / part.output / "networks.json"
        if path.is_file():
            data = json.loads(path.read_text())
            ran, skipped = set(), {}
            for entry in data["networks"].values():
                for name, result in entry["paths"].items():
                    if "skipped" in result:
                        skipped[name] = result["skipped"]
                    elif "error" not in result:
                        ran.add(name)
            text = "paths: " + ", ".join(sorted(ran))
            text += "".join(f"; {name} {why}" for name, why in skipped.items())
            return text + "".join(f"; FAILED {what}" for what in data["failed"])
    return ""


def run_part(part: Part, out: Path) -> dict[str, Any]:
    """Run ``part`` with its time limit; its output goes to ``out/logs/NAME.log``.

    Returns:
        ``name``, ``status`` (``passed``, ``failed``, ``timed out``, ``skipped``), ``seconds``,
        ``returncode``, ``command``, ``log``, ``findings``.
    """
    from coordbias._util.files import write_text

    log_path = out / "logs" / f"{part.name}.log"
    row: dict[str, Any] = {
        "name": part.name,
        "command": " ".join(part.command),
        "env": part.env,
        "log": str(log_path.relative_to(out)),
        "timeout_s": part.timeout_s,
    }
    if part.skipped:
        write_text(log_path, part.skipped + "\n")
        skipped = {"status": "skipped", "seconds": 0.0, "returncode": None}
        return {**row, **skipped, "findings": part.skipped}
    start = time.perf_counter()
    # A session of its own, so that a part that runs out of time goes with every process it
    # started (compile workers, data loaders).
    with subprocess.Popen(
        part.command,
        env={**os.environ, **part.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as child:
        try:
            text, _ = child.communicate(timeout=part.timeout_s)
            code: int | None = child.returncode
            status = "passed" if code == 0 else "failed"
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            text, _ = child.communicate()
            code, status = None, "timed out"
    seconds = time.perf_counter() - start
    write_text(log_path, f"$ {row['command']}\n{text}")
    findings = _findings(part, text, out)
    if status == "failed":
        why = f"exit status {code}" + (
            f" (signal {-code})" if code is not None and code < 0 else ""
        )
        findings = "; ".join(x for x in (why, findings, _tail(text)) if x)
    elif status == "timed out":
        findings = f"timed out after {part.timeout_s:.0f} s; " + _tail(text)
    return {**row, "status": status, "seconds": seconds, "returncode": code, "findings": findings}


def summary_markdown(result: dict[str, Any], out: Path) -> str:
    """``summary.md``: the parts' table, then the network table when there is one."""
    from coordbias.reporting.markdown import md_table

    rows = [
        [
            r["name"],
            "PASS" if r["status"] == "passed" else r["status"].upper(),
            f"{r['seconds']:.0f}",
            r["findings"].replace("|", "\\|"),
            f"`{r['log']}`",
        ]
        for r in result["parts"]
    ]
    lines = [
        f"# GPU check on {result['device']} ({result['device_name']})",
        "",
        f"{'All parts passed' if result['passed'] else 'Some parts did not pass'} in "
        f"{result['seconds']:.0f} s (limit {result['max_minutes']:g} min"
        f"{', CI size (--quick)' if result['quick'] else ''}); torch {result['torch']}.",
        "",
        md_table(["part", "result", "seconds", "found", "log"], rows),
        "",
        "Commands: see `summary.json` and the first line of each log.",
    ]
    networks = out / "network-speed" / "networks.md"
    if networks.is_file():
        lines += ["", "## Whole networks", "", networks.read_text().strip()]
    return "\n".join(lines) + "\n"


def _claim(folder: Path) -> None:
    """Mark ``folder`` as a check's (``.gpu-check``), refusing one that holds anything else: a
    check replaces its parts' folders in it."""
    from coordbias._util.errors import UserValueError
    from coordbias._util.files import write_text

    marker = folder / MARKER
    if folder.is_dir() and not marker.exists() and any(folder.iterdir()):
        raise UserValueError(
            f"--out {folder} holds files of something else; a GPU check replaces its parts' "
            "folders in its --out, so give it an empty or new folder, or one of a former check"
        )
    write_text(marker, "a folder of coordbias speed gpu-check\n")


def gpu_check(
    out: str | Path,
    *,
    device: str = "cuda",
    quick: bool = False,
    parts: tuple[str, ...] | list[str] = PARTS,
    tests: str | Path = "tests/layers",
    max_minutes: float = 8.0,
) -> dict[str, Any]:
    """Run the check's parts on ``device``; write ``out/summary.md`` and ``out/summary.json``.

    Args:
        out: the check's folder (created).
        device: the device (``cuda``, ``cuda:1``, ``cpu``...), checked before anything runs.
        quick: the CI size (see the module docstring).
        parts: which of :data:`PARTS` to run.
        tests: the layer tests' folder.
        max_minutes: the limit of the whole check, shared out as :data:`BUDGET_S`.

    Returns:
        The summary: ``passed`` (every part that ran passed), ``parts`` (a row each, see
        :func:`run_part`), the device, times.

    Raises:
        UserValueError: an unknown part or a limit that is not positive.
    """
    import platform

    import torch

    from coordbias._util.devices import resolve_device
    from coordbias._util.errors import UserValueError, check_folder_destination
    from coordbias._util.files import write_json, write_text

    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise UserValueError(f"--parts must be a comma-separated subset of {','.join(PARTS)}")
    if not max_minutes > 0:
        raise UserValueError(f"--max-minutes must be positive, got {max_minutes}")
    resolved = resolve_device(device)
    folder = check_folder_destination(str(out), "--out")
    _claim(folder)
    name = str(resolved)
    planned = plan_parts(
        folder, device=name, quick=quick, tests=Path(tests), max_minutes=max_minutes, parts=parts
    )
    start = time.perf_counter()
    rows = []
    for part in planned:
        if part.output:  # a fresh run: the study and the benchmark would resume a finished one
            shutil.rmtree(folder / part.output, ignore_errors=True)
        print(f"{part.name}: {' '.join(part.command)}", flush=True)
        rows.append(run_part(part, folder))
        row = rows[-1]
        print(f"{part.name}: {row['status']} in {row['seconds']:.0f} s {row['findings']}")
    result = {
        "device": name,
        "device_name": (
            torch.cuda.get_device_name(resolved)
            if resolved.type == "cuda"
            else platform.processor() or platform.machine()
        ),
        "torch": torch.__version__,
        "quick": quick,
        "max_minutes": max_minutes,
        "seconds": time.perf_counter() - start,
        "passed": all(r["status"] in ("passed", "skipped") for r in rows),
        "parts": rows,
        "planned": [asdict(p) for p in planned],
    }
    write_json(folder / "summary.json", result)
    write_text(folder / "summary.md", summary_markdown(result, folder))
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``coordbias speed gpu-check`` to ``parser``."""
    add_output_arguments(
        parser,
        out="runs/gpu-check",
        files="summary.json, summary.md and each part's files",
        device="cuda",
        quick="CI size: a few seconds a part on a CPU",
    )
    add_names_argument(parser, "--parts", PARTS, what="parts")
    parser.add_argument(
        "--tests",
        default="tests/layers",
        help="the layer tests' folder (default %(default)s: run from a source checkout)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=8.0,
        help="limit of the whole check, shared among the parts (default %(default)s)",
    )


def run(
    *,
    out: str | Path = "runs/gpu-check",
    device: str = "cuda",
    quick: bool = False,
    parts: str | Sequence[str] = PARTS,
    tests: str | Path = "tests/layers",
    max_minutes: float = 8.0,
    threads: int | None = None,
) -> int:
    """Run the check (:func:`gpu_check`'s arguments, ``parts`` also comma separated; the parts
    run in child processes with their own threads, so ``threads`` is checked and not used);
    print the summary; 1 when a part did not pass."""
    from coordbias._util.errors import check_count

    check_count("--threads", threads)
    if isinstance(parts, str):
        parts = [p.strip() for p in parts.split(",") if p.strip()]
    result = gpu_check(
        out, device=device, quick=quick, parts=list(parts), tests=tests, max_minutes=max_minutes
    )
    print()
    print((Path(out) / "summary.md").read_text())
    return 0 if result["passed"] else 1
