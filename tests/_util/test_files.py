"""The one atomic writer: content, permissions, failure, durability switch."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from coordbias._util import files
from coordbias._util.errors import UserValueError
from coordbias._util.files import read_json, write_bytes, write_json, write_text


@pytest.fixture
def umask():
    """Set a given umask for the test and restore the caller's afterwards."""
    before = os.umask(0o022)
    os.umask(before)

    def set_mask(mask: int) -> int:
        os.umask(mask)
        return mask

    yield set_mask
    os.umask(before)


def test_write_json_converts_numpy_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "r.json"
    write_json(path, {"a": np.float32(0.5), "b": np.arange(3), "p": tmp_path})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": [0, 1, 2], "p": str(tmp_path)}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_files_get_the_usual_permissions_of_the_umask(tmp_path, umask, mask):
    umask(mask)
    path = write_text(tmp_path / "t.txt", "x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"ok": 1})
    with pytest.raises(TypeError, match="cannot write object"):
        write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_crash_before_the_rename_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = write_bytes(tmp_path / "b.bin", b"old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left") as info:
        write_bytes(path, b"new")
    assert info.value.filename == str(path), "the error names the file that was not written"
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.bin"]


def test_durable_false_skips_fsync(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(files.os, "fsync", lambda fd: calls.append(fd))
    write_bytes(tmp_path / "fast.bin", b"1", durable=False)
    assert calls == []
    write_bytes(tmp_path / "safe.bin", b"1")
    assert len(calls) == 2  # the file, then its folder


def test_importing_the_study_runner_leaves_the_umask_alone():
    # A first import, in a fresh interpreter: reloading the runner here instead gave it new
    # classes (ExperimentsFailed...) under the feet of the study tests that run after this one.
    code = "import os; os.umask(0o027); import coordbias.study.runner; print(os.umask(0o027))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout) == 0o027


def test_the_old_export_writer_name_still_works_and_warns(tmp_path):
    from coordbias.data import export

    with pytest.warns(DeprecationWarning, match="write_bytes"):
        writer = export.atomic_write_bytes
    writer(tmp_path / "x", b"1")
    assert (tmp_path / "x").read_bytes() == b"1"


@pytest.mark.parametrize(
    "content",
    [b"", b'{"a": ', b"\xff\xfe not utf-8", b"[1, 2"],
    ids=["empty", "cut short", "not UTF-8", "cut list"],
)
def test_read_json_names_a_damaged_file(tmp_path, content):
    path = tmp_path / "r.json"
    path.write_bytes(content)
    with pytest.raises(UserValueError, match=r"r\.json' is damaged \("):
        read_json(path)
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "missing.json")
