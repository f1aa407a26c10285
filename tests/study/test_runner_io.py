"""Atomic JSON writing of the study folder."""

import json
import os

import numpy as np
import pytest

from coordbias.study.runner import write_json


def test_write_json_converts_numpy_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "r.json"
    write_json(path, {"a": np.float32(0.5), "b": np.arange(3), "p": tmp_path})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": [0, 1, 2], "p": str(tmp_path)}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"ok": 1})
    with pytest.raises(TypeError, match="cannot write object"):
        write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
