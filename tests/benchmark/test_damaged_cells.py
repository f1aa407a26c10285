"""A damaged cell file is named in one warning and the cell runs again (issue 24: nothing lost)."""

from __future__ import annotations

import json

import pytest

from coordbias._util.errors import UserValueError
from coordbias.benchmark import run_benchmark

SETTING = dict(scale="test", methods=["vanilla"], tasks=["redgreen"], seeds=1)


def _quiet(_line: str) -> None:
    pass


@pytest.mark.parametrize("damage", ['{"metric": ', "", "[1, 2]"], ids=["cut", "empty", "a list"])
def test_a_damaged_cell_result_is_run_again(tmp_path, damage):
    first = run_benchmark(tmp_path, jobs=1, threads=1, log=_quiet, **SETTING)
    cell = next((tmp_path / "cells" / "redgreen" / "vanilla").glob("*/seed0/result.json"))
    kept = json.loads(cell.read_text())
    cell.write_text(damage)
    with pytest.warns(UserWarning, match=f"'{cell}' is damaged.*runs again"):
        again = run_benchmark(tmp_path, jobs=1, threads=1, log=_quiet, **SETTING)
    redone = json.loads(cell.read_text())
    assert (redone["metric"], redone["metrics"]) == (kept["metric"], kept["metrics"])
    [before] = first["cells"]["redgreen"]["vanilla"]["encoder"]
    [after] = again["cells"]["redgreen"]["vanilla"]["encoder"]
    assert after["metrics"] == before["metrics"]


def test_the_command_names_the_damaged_cell_in_one_warning_line(tmp_path, capsys):
    from coordbias.cli.main import main

    argv = ["benchmark", "--scale", "test", "--methods", "vanilla", "--tasks", "redgreen"]
    argv += ["--seeds", "1", "--jobs", "1", "--threads", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    cell = next((tmp_path / "cells" / "redgreen" / "vanilla").glob("*/seed0/result.json"))
    cell.write_text('{"metric": ')
    capsys.readouterr()
    assert main(argv) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "damaged" in line]
    assert lines == [
        f"coordbias benchmark: warning: '{cell}' is damaged "
        "(Expecting value: line 1 column 12 (char 11)); that cell runs again"
    ]


def test_a_cell_trained_with_other_settings_is_refused_not_mixed_in(tmp_path):
    run_benchmark(tmp_path, jobs=1, threads=1, log=_quiet, **SETTING)
    cell = next((tmp_path / "cells" / "redgreen" / "vanilla").glob("*/seed0/result.json"))
    kept = json.loads(cell.read_text())
    assert kept["settings"]["schedule"]["max_epochs"] >= 1
    # The same command resumes: nothing to redo, the same numbers.
    again = run_benchmark(tmp_path, jobs=1, threads=1, log=_quiet, **SETTING)
    assert again["cells"]["redgreen"]["vanilla"]["encoder"][0]["metrics"] == kept["metrics"]
    # A cell trained under another schedule (as after a change of the scale) is not used.
    other = {**kept, "settings": {**kept["settings"]}}
    other["settings"]["schedule"] = {**kept["settings"]["schedule"], "max_epochs": 99}
    cell.write_text(json.dumps(other))
    with pytest.raises(UserValueError, match=r"other settings.*schedule\.max_epochs.*--out"):
        run_benchmark(tmp_path, jobs=1, threads=1, log=_quiet, **SETTING)
    assert json.loads(cell.read_text()) == other  # not overwritten
