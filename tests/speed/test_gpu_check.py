"""``coordbias speed gpu-check``: its plan (parts, sizes, the 8-minute limit), how a part's
outcome is read (passed, failed, crashed, timed out, skipped), and the summary it writes.

The parts themselves are commands with tests of their own; CI runs the whole check on the CPU
(``make gpu-check DEVICE=cpu GPU_CHECK_ARGS=--quick`` in ``.ci/run``)."""

import json
import sys
from pathlib import Path

import pytest

from coordbias.cli.main import main
from coordbias.speed import gpu_check

TESTS = Path(__file__).parents[1] / "layers"


def test_the_budget_is_eight_minutes_and_scales():
    assert sum(gpu_check.BUDGET_S.values()) == 8 * 60
    assert set(gpu_check.BUDGET_S) == set(gpu_check.PARTS)
    parts = gpu_check.plan_parts(Path("o"), device="cuda", quick=False, tests=TESTS)
    assert [p.name for p in parts] == list(gpu_check.PARTS)
    assert sum(p.timeout_s for p in parts) == 8 * 60
    half = gpu_check.plan_parts(Path("o"), device="cuda", quick=False, tests=TESTS, max_minutes=4)
    assert sum(p.timeout_s for p in half) == 4 * 60
    # Parts run alone share the whole limit.
    two = gpu_check.plan_parts(
        Path("o"), device="cuda", quick=False, tests=TESTS, parts=["study", "layer-tests"]
    )
    assert [p.name for p in two] == ["layer-tests", "study"]
    assert sum(p.timeout_s for p in two) == pytest.approx(8 * 60)


def test_the_plan_runs_every_path_on_the_device():
    parts = {
        p.name: p for p in gpu_check.plan_parts(Path("o"), device="cuda", quick=False, tests=TESTS)
    }
    assert parts["layer-tests"].env == {"COORDBIAS_TEST_DEVICE": "cuda"}
    assert str(TESTS) in parts["layer-tests"].command and "not onnx" in parts["layer-tests"].command
    # pytest-xdist is in the dev extra: the layer tests run in 4 workers
    command = parts["layer-tests"].command
    assert command[command.index("-n") + 1] == "4"
    speed = parts["layer-speed"].command
    assert speed[speed.index("--device") + 1] == "cuda" and "--quick" not in speed
    nets = parts["network-speed"].command
    assert nets[nets.index("--paths") + 1].split(",") == list(gpu_check_paths())
    study = parts["study"].command
    assert study[study.index("--accelerator") + 1] == "gpu"
    quick = {
        p.name: p for p in gpu_check.plan_parts(Path("o"), device="cpu", quick=True, tests=TESTS)
    }
    assert "--quick" in quick["layer-speed"].command
    assert "--image-size" in quick["network-speed"].command
    assert all(Path(a).is_file() for a in quick["layer-tests"].command if a.endswith(".py"))
    missing = gpu_check.plan_parts(Path("o"), device="cpu", quick=True, tests=Path("nowhere"))
    assert "no layer tests" in missing[0].skipped


def gpu_check_paths():
    from coordbias.speed.networks import PATHS

    return PATHS


def _part(name, code, timeout=30.0, **kw):
    return gpu_check.Part(name, [sys.executable, "-c", code], timeout, **kw)


def test_a_part_passes_fails_crashes_or_times_out(tmp_path):
    ok = gpu_check.run_part(_part("study", "print('fine')"), tmp_path)
    assert ok["status"] == "passed" and ok["returncode"] == 0
    assert "fine" in (tmp_path / ok["log"]).read_text()
    bad = gpu_check.run_part(_part("study", "import sys; print('boom'); sys.exit(3)"), tmp_path)
    assert bad["status"] == "failed" and "exit status 3" in bad["findings"]
    assert "boom" in bad["findings"]
    crash = gpu_check.run_part(_part("study", "import os; os.abort()"), tmp_path)
    assert crash["status"] == "failed" and "signal 6" in crash["findings"]
    slow = gpu_check.run_part(_part("study", "import time; time.sleep(30)", 0.5), tmp_path)
    assert slow["status"] == "timed out" and "timed out after" in slow["findings"]
    skipped = gpu_check.run_part(_part("layer-tests", "", skipped="no tests here"), tmp_path)
    assert skipped["status"] == "skipped"


def test_the_layer_tests_counts_are_read_from_pytest(tmp_path):
    code = "print('3 failed, 1449 passed, 1 skipped, 12 deselected in 100.0s')"
    row = gpu_check.run_part(_part("layer-tests", code), tmp_path)
    assert row["findings"] == "3 failed, 1449 passed, 1 skipped, 12 deselected"


def test_the_check_writes_one_summary(tmp_path, monkeypatch, capsys):
    def fake_plan(out, *, device, quick, tests, max_minutes, parts):
        return [
            _part("layer-tests", "print('5 passed in 1s')", env={"X": device}),
            _part("study", "import sys; sys.exit(1)"),
        ]

    monkeypatch.setattr(gpu_check, "plan_parts", fake_plan)
    out = tmp_path / "check"
    assert main(["speed", "gpu-check", "--device", "cpu", "--out", str(out), "--quick"]) == 1
    summary = (out / "summary.md").read_text()
    assert "| layer-tests | PASS |" in summary and "5 passed" in summary
    assert "| study | FAILED |" in summary and "Some parts did not pass" in summary
    data = json.loads((out / "summary.json").read_text())
    assert data["passed"] is False and data["device"] == "cpu" and data["quick"] is True
    assert [r["name"] for r in data["parts"]] == ["layer-tests", "study"]
    assert "| study | FAILED |" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--parts", "everything"], "--parts"), (["--max-minutes", "0"], "--max-minutes")],
)
def test_bad_options_are_one_line(tmp_path, capsys, argv, message):
    assert main(["speed", "gpu-check", "--device", "cpu", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_without_cuda_the_default_device_is_refused_at_once(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["speed", "gpu-check", "--out", str(tmp_path / "o")]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_it_takes_only_a_folder_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(
        gpu_check, "plan_parts", lambda out, **kw: [_part("study", "print(1)", output="study")]
    )
    other = tmp_path / "other"
    other.mkdir()
    (other / "results.json").write_text("{}")
    with pytest.raises(ValueError, match="something else"):
        gpu_check.gpu_check(other, device="cpu")
    out = tmp_path / "check"
    (out / "study").mkdir(parents=True)
    (out / gpu_check.MARKER).write_text("")
    (out / "study" / "old").write_text("a former run")
    assert gpu_check.gpu_check(out, device="cpu")["passed"]
    assert not (out / "study" / "old").exists()  # each check runs its parts afresh


def test_a_part_that_runs_out_of_time_goes_with_the_processes_it_started(tmp_path):
    import os
    import time

    pid_file = tmp_path / "pid"
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    row = gpu_check.run_part(_part("study", code, timeout=3.0), tmp_path)
    assert row["status"] == "timed out"
    assert row["seconds"] < 30  # not held until the grandchild ends by itself
    pid = int(pid_file.read_text())

    def alive() -> bool:
        try:
            state = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return False
        return "State:\tZ" not in state  # a zombie has ended

    deadline = time.monotonic() + 5
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive()
    assert os.path.exists(tmp_path / row["log"])
