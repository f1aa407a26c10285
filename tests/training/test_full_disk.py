"""A disk that fills up during a run leaves no partial file under a final name, and once space
is freed the very same ``coordbias train ... --resume`` command finishes the run exactly as an
uninterrupted one: the same losses, metrics and weights.

The disk fills up at the OS boundary of the two writers every file of a run goes through: the
atomic writer (``coordbias._util.files``: checkpoints, Lightning's included, ``config.yaml``,
``model.pt``, the JSON files) and the whole-row append of ``metrics.csv``. Each case names the
file whose write meets the full disk; half of its bytes are written, then ``ENOSPC``. The same
on a real full file system (a tmpfs) is ``test_full_tmpfs.py``.
"""

import pytest

from coordbias.cli.main import main
from coordbias.training import TrainResult
from coordbias.training.checkpoint import read_checkpoint
from tests.training.helpers import SMALL, SMALL_ARGV, assert_same_run, fill_disk_at


@pytest.mark.parametrize(
    ("name", "skip"),
    [
        ("epoch=1.ckpt", 0),
        ("last.ckpt", 1),  # the last.ckpt of epoch 1: the one of epoch 0 is there
        ("metrics.csv", 3),  # rows appended (three whole writes come first)
        ("result.json", 0),  # the same command then trains nothing: only the bookkeeping
    ],
)
def test_a_full_disk_then_freed_space_resumes_to_the_straight_run(
    name, skip, small_run, tmp_path, monkeypatch, capsys
):
    run_dir = tmp_path / "run"
    argv = [*SMALL_ARGV, "--out", str(run_dir)]
    with monkeypatch.context() as patch:
        failed = fill_disk_at(patch, name, skip)
        assert main(argv) == 2
    assert failed == [name]
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"{name}': no space left on the device" in lines[0]
    assert not list(run_dir.rglob("*.tmp")), "a temporary file is left"
    for ckpt in (run_dir / "checkpoints").glob("*.ckpt"):
        read_checkpoint(ckpt)  # every checkpoint under its final name reads whole
    assert not (run_dir / "result.json").exists()

    assert main(argv) == 0  # space freed: the very same command
    result = TrainResult.load(run_dir)
    assert_same_run(result, small_run, run_dir)
    # The throughput sums what every invocation recorded, even one that trained nothing.
    saved = read_checkpoint(run_dir / "checkpoints" / "last.ckpt")["coordbias"]
    assert saved["train_images"] == SMALL["epochs"] * SMALL["train_size"]
    assert result.train_images_per_s == pytest.approx(saved["train_images"] / saved["train_time_s"])
    assert (run_dir / "metrics.csv").read_text() == (small_run.run_dir / "metrics.csv").read_text()
