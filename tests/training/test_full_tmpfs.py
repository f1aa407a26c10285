"""A run on a real file system that fills up (a small tmpfs): the command stops with one line,
every file under its final name is whole, and after space is freed the very same ``--resume``
command finishes the run exactly as an uninterrupted one.

The tmpfs is mounted in a private mount namespace (``unshare --mount``, as in
``tests/cli/test_mounts.py``); where the machine allows none the test is skipped with that
reason, and ``test_full_disk.py`` covers the same at the OS boundary everywhere. The free space
is one and a half checkpoints: ``epoch=0.ckpt`` fits, the ``last.ckpt`` after it does not.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coordbias.training import TrainResult
from coordbias.training.checkpoint import read_checkpoint
from tests.cli.test_mounts import _unshare
from tests.training.helpers import SMALL_ARGV, assert_same_run

pytestmark = pytest.mark.slow

DRIVER = Path(__file__).parents[1] / "cli" / "_mounted_cases.py"
SIZE = 2 * 1024 * 1024
PAGE = 4096


def test_a_tmpfs_that_fills_up_then_is_freed(small_run, tmp_path):
    prefix = _unshare()
    if prefix is None:
        pytest.skip("no mount namespace here (unshare --mount is not permitted)")
    checkpoint = (small_run.run_dir / "checkpoints" / "epoch=0.ckpt").stat().st_size
    free = 3 * PAGE + int(1.5 * checkpoint)
    filler_pages = (SIZE - free) // PAGE
    full, after_fail, final = tmp_path / "full", tmp_path / "after_fail", tmp_path / "final"
    full.mkdir()
    argv = json.dumps([[*SMALL_ARGV, "--out", f"{full}/run"]])
    script = (
        f"mount -t tmpfs -o size={SIZE} tmpfs {full} && "
        f"dd if=/dev/zero of={full}/filler bs={PAGE} count={filler_pages} 2>/dev/null && "
        f"\"$0\" {DRIVER} '{argv}' > {tmp_path}/first.json && "
        f"cp -a {full}/run {after_fail} && rm {full}/filler && "
        f"\"$0\" {DRIVER} '{argv}' > {tmp_path}/second.json && cp -a {full}/run {final}"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*prefix, "sh", "-c", script, sys.executable],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first = json.loads((tmp_path / "first.json").read_text().strip().splitlines()[-1])[0]
    assert first["code"] == 2, first
    lines = [line for line in first["stderr"].splitlines() if ": error: " in line]
    assert len(lines) == 1 and "no space left on the device" in lines[0], first["stderr"]
    assert not list(after_fail.rglob("*.tmp")), "a temporary file is left"
    kept = sorted(p.name for p in (after_fail / "checkpoints").glob("*.ckpt"))
    assert kept == ["epoch=0.ckpt"], kept
    for ckpt in (after_fail / "checkpoints").glob("*.ckpt"):
        read_checkpoint(ckpt)

    second = json.loads((tmp_path / "second.json").read_text().strip().splitlines()[-1])[0]
    assert second["code"] == 0, second
    assert_same_run(TrainResult.load(final), small_run, final)
