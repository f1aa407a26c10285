"""Shared by the study's launcher tests: one tiny setting, results without timings, and a
``coordbias study`` subprocess that can pause chosen runs (``_pause_hook/sitecustomize.py``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from coordbias.study.results import TIMING_KEYS

# The test preset, one seed per variant (vanilla and coordbias), 2 epochs of 2 steps: a killed
# run has a checkpoint of its first epoch to resume from.
OVERRIDES = {"train_size": 8, "val_size": 4, "epochs": 2}
SETTING = {"seeds": 1, "overrides": OVERRIDES}
HOOK_DIR = Path(__file__).with_name("_pause_hook")
TIMEOUT_S = 300.0


def strip_timing(value):
    """``results.json`` without its timing fields (everything left is deterministic)."""
    if isinstance(value, dict):
        return {k: strip_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [strip_timing(v) for v in value]
    return value


def metrics(out: Path) -> dict:
    return strip_timing(json.loads((out / "results.json").read_text()))


def fits(out: Path, label: str) -> list[str]:
    """The lines of a run's task log where a training began (once per fit, resumed or not)."""
    log = out / "runs" / label / "task.log"
    if not log.is_file():
        return []
    pattern = re.compile(rf"\] (training|resuming) {re.escape(label)} ")
    return [line for line in log.read_text().splitlines() if pattern.search(line)]


def study_argv(out: Path, *extra: str) -> list[str]:
    sets = [arg for key, value in OVERRIDES.items() for arg in ("--set", f"{key}={value}")]
    return [
        sys.executable,
        "-m",
        "coordbias.cli.main",
        "study",
        "--preset",
        "test",
        "--out",
        str(out),
        "--seeds",
        "1",
        "--threads",
        "1",
        *sets,
        *extra,
    ]


class Study:
    """A ``coordbias study`` subprocess whose output lines are collected as they come."""

    def __init__(self, argv: list[str], pause: dict | None = None) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        if pause:
            paths = [str(HOOK_DIR), env.get("PYTHONPATH")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
            env["COORDBIAS_TEST_PAUSE"] = json.dumps(pause)
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its children can be cleaned up with it
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, needle: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not any(needle in line for line in self.lines):
            if self.process.poll() is not None and not self._reader.is_alive():
                raise AssertionError(f"the study ended before {needle!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {needle!r} after {TIMEOUT_S} s:\n{self.output}")
            time.sleep(0.05)

    def wait(self) -> int:
        code = self.process.wait(TIMEOUT_S)
        self._reader.join(10)
        return code

    def kill(self) -> None:
        """End the study and everything it started (its own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()


def wait_for_file(path: Path, *studies: Study) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not path.is_file():
        for study in studies:
            if study.process.poll() is not None:
                raise AssertionError(f"the study ended before {path} appeared:\n{study.output}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {TIMEOUT_S} s")
        time.sleep(0.05)


def pause(out: Path, label: str, step: int, marker: Path, go: Path | None) -> dict:
    """A ``COORDBIAS_TEST_PAUSE`` entry: pause ``label`` after optimizer step ``step``."""
    run_dir = os.path.abspath(out / "runs" / label)
    return {run_dir: {"step": step, "marker": str(marker), "go": str(go) if go else None}}
