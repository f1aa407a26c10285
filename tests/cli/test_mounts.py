"""A read-only file system and a full disk, for real: tmpfs mounts in a private mount namespace.

``unshare --mount`` (with ``--map-root-user`` when not root) gives the subprocess its own mount
table, so the mounts vanish with it and nothing else on the machine sees them. Where the machine
allows no mount namespace the test is skipped; the same errors are then still exercised at the OS
boundary (monkeypatched calls) by the test below it and by tests/_util/test_errors.py.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coordbias.cli.main import main

pytestmark = pytest.mark.slow

DRIVER = Path(__file__).with_name("_mounted_cases.py")


def _unshare() -> list[str] | None:
    """The ``unshare`` prefix that works here, or ``None``."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return None
    prefix = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        prefix.append("--map-root-user")
    probe = [*prefix, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt || exit 1"]
    done = subprocess.run(probe, capture_output=True, check=False)
    return prefix if done.returncode == 0 else None


def test_read_only_and_full_file_systems(tmp_path):
    prefix = _unshare()
    if prefix is None:
        pytest.skip("no mount namespace here (unshare --mount is not permitted)")
    ro, full, small = tmp_path / "ro", tmp_path / "full", tmp_path / "small"
    for folder in (ro, full, small):
        folder.mkdir()
    gen = ["data", "generate", "--train", "40", "--val", "10", "--workers", "2", "--no-progress"]
    cases = [
        ["data", "generate", "--out", f"{ro}/data", "--size", "32", "--train", "1", "--val", "1"],
        ["train", "--out", f"{ro}/run", "--width", "4", "--image-size", "32", "--no-progress"],
        ["speed", "layers", "--quick", "--out", f"{ro}/bench"],
        ["data", "show", "--out", f"{full}/grid.png", "--size", "32", "--count", "1"],
        [*gen, "--out", f"{small}/data", "--size", "64"],
        ["train", "--data", f"{small}/data", "--out", f"{tmp_path}/run", "--no-progress"],
    ]
    script = (
        f"mount -t tmpfs -o ro,size=64k tmpfs {ro} && "
        f"mount -t tmpfs -o size=64k tmpfs {full} && "
        f"(dd if=/dev/zero of={full}/fill bs=4k 2>/dev/null; true) && "
        f"mount -t tmpfs -o size=96k tmpfs {small} && "
        f'exec "$0" "$1" "$2"'
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [*prefix, "sh", "-c", script, sys.executable, str(DRIVER), json.dumps(cases)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    expected = [
        f"'{ro}/data' cannot be written (in '{ro}'): is on a read-only file system",
        f"'{ro}/run' cannot be written (in '{ro}'): is on a read-only file system",
        f"'{ro}/bench' cannot be written (in '{ro}'): is on a read-only file system",
        f"'{full}/grid.png' cannot be written: no space left on the device",
        "no space left on the device",  # mid-export, naming the PNG it could not write
        f"data folder '{small}/data' has no metadata.json",  # so the partial export is refused
    ]
    for result, needle in zip(results, expected):
        assert result["code"] == 2, result
        assert "Traceback" not in result["stderr"], result["stderr"]
        assert needle in result["stderr"], result
    assert f"'{small}/data/" in results[4]["stderr"] and ".png'" in results[4]["stderr"]


def test_a_disk_that_fills_up_during_an_export_at_the_os_boundary(tmp_path, monkeypatch, capsys):
    """The same mid-export failure without a mount: the rename of the 7th file fails as a full
    disk does (an OSError naming no file), in a writer thread."""
    from coordbias._util import files

    real_replace, calls = os.replace, []

    def filling(src, dst):
        calls.append(dst)
        if len(calls) > 6:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", filling)
    out = tmp_path / "data"
    argv = ["data", "generate", "--out", str(out), "--size", "32", "--train", "8", "--val", "2"]
    assert main([*argv, "--no-progress", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"'{out}/train/" in err and ".png': no space left on the device" in err
    assert not (out / "metadata.json").exists()
    assert not list(out.rglob("*.tmp")), "the temporary files are removed"
