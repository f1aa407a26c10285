"""Nothing lost in a study: a damaged record is said in one line and redone, a killed study's
time still counts, and a full disk stops the study with advice that works as written (the same
command, once space is freed, ends with the results of an uninterrupted study)."""

import json
import shutil
import time
from pathlib import Path

import pytest

from coordbias.cli.main import main
from coordbias.study import run_study
from coordbias.study.runner import TIME_FILE
from tests.study.helpers import (
    OVERRIDES,
    SETTING,
    Study,
    metrics,
    pause,
    study_argv,
    wait_for_file,
)
from tests.training.helpers import fill_disk_at

pytestmark = [
    pytest.mark.slow,
    # The damaged studies are copies: Lightning notes that the checkpoints' folder moved.
    pytest.mark.filterwarnings("ignore:The dirpath has changed:UserWarning"),
]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny study (``helpers.SETTING``, one job, one thread)."""
    out = tmp_path_factory.mktemp("finished")
    run_study("test", out, jobs=1, threads=1, log=lambda line: None, **SETTING)
    return out


def _cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _no_recall(path: Path) -> None:  # a mapping TrainResult reads, without what the study reads
    values = json.loads(path.read_text())
    del values["metrics"]["recall"]
    path.write_text(json.dumps(values))


RUN = "runs/vanilla/seed0"
# The file damaged, how, and whether the study says so (env.json only hides a thread count).
DAMAGE = {
    "result.json cut short": (f"{RUN}/result.json", _cut, True),
    "result.json a list": (f"{RUN}/result.json", lambda p: p.write_text("[1]"), True),
    "result.json metrics without recall": (f"{RUN}/result.json", _no_recall, True),
    "config.yaml cut short": (f"{RUN}/config.yaml", _cut, True),
    "config.yaml not YAML": (f"{RUN}/config.yaml", lambda p: p.write_text("width: [4\n"), True),
    "config.yaml width: abc": (
        f"{RUN}/config.yaml",
        lambda p: p.write_text(p.read_text().replace("width: 4", "width: abc")),
        True,
    ),
    "transfer.json cut short": (f"{RUN}/transfer.json", _cut, True),
    "transfer.json of numbers": (f"{RUN}/transfer.json", lambda p: p.write_text('{"48": 1}'), True),
    "env.json cut short": (f"{RUN}/env.json", _cut, False),
    "study_time.json cut short": (TIME_FILE, _cut, True),
}


@pytest.mark.parametrize("case", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_record_is_said_once_and_redone(case, finished, tmp_path, caplog):
    name, damage, said = DAMAGE[case]
    out = tmp_path / "study"
    shutil.copytree(finished, out)
    damage(out / name)
    lines: list[str] = []
    run_study("test", out, jobs=1, threads=1, log=lines.append, **SETTING)
    warned = [line for line in lines if line.startswith("warning:") and str(out / name) in line]
    assert len(warned) == (1 if said else 0), lines
    # The training that redoes the run does not name the file a second time.
    assert not [r for r in caplog.records if str(out / name) in r.getMessage()]
    assert metrics(out) == metrics(finished)
    times = json.loads((out / TIME_FILE).read_text())
    assert times["wall_time_s"] == pytest.approx(sum(times["invocations"].values()))


def test_a_killed_study_still_counts_its_time(finished, tmp_path):
    """Killed in the middle of its first run (SIGKILL: no code of its own runs after), the
    study has recorded its time so far; the same command then ends with a total that sums both
    invocations and with the results of an uninterrupted study."""
    out = tmp_path / "study"
    marker = tmp_path / "paused"
    study = Study(study_argv(out, "--jobs", "1"), pause(out, "vanilla/seed0", 1, marker, None))
    try:
        wait_for_file(marker, study)
        time.sleep(6.0)  # longer than StudyTime's beat: the paused run's time is on disk
    finally:
        study.kill()
    first = json.loads((out / TIME_FILE).read_text())
    assert len(first["invocations"]) == 1 and first["wall_time_s"] >= 5.0, first

    again = Study(study_argv(out, "--jobs", "1"))
    assert again.wait() == 0, again.output
    final = json.loads((out / TIME_FILE).read_text())
    (key,) = set(final["invocations"]) - set(first["invocations"])
    assert final["wall_time_s"] >= first["wall_time_s"] + final["invocations"][key]
    results = json.loads((out / "results.json").read_text())
    assert results["timing"]["study_wall_time_s"] <= final["wall_time_s"]
    assert results["timing"]["study_wall_time_s"] >= first["wall_time_s"]
    assert metrics(out) == metrics(finished)


@pytest.mark.parametrize(
    "name",
    ["last.ckpt", "transfer.json", "results.json"],  # training, the study's task, the report
)
def test_a_full_disk_then_the_same_command_ends_as_an_uninterrupted_study(
    name, finished, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "study"
    sets = [arg for key, value in OVERRIDES.items() for arg in ("--set", f"{key}={value}")]
    argv = ["study", "--preset", "test", "--out", str(out), "--seeds", "1", "--jobs", "1"]
    argv += ["--threads", "1", *sets]
    with monkeypatch.context() as patch:
        failed = fill_disk_at(patch, name, 0)
        assert main(argv) != 0
    assert failed == [name]
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert f"{name}': no space left on the device" in errors[0]
    assert "run the same command again" in errors[0]
    assert not list(out.rglob("*.tmp")), "a temporary file is left"

    assert main(argv) == 0  # space freed: the very same command
    assert metrics(out) == metrics(finished)
