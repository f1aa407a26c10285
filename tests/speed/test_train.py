"""``coordbias speed train``: a Lightning step against a bare loop, at the quick setting."""

import json

import pytest

from coordbias.cli.main import main


def test_bench_train_writes_ratio_and_throughput(tmp_path, capsys):
    argv = [
        "speed",
        "train",
        "--no-original",
        "--image-size",
        "16",
        "--width",
        "4",
        "--batch-size",
        "2",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    row = json.loads((tmp_path / "train.json").read_text())["settings"]["quick"]
    assert (row["image_size"], row["width"], row["batch_size"]) == (16, 4, 2)
    assert len(row["bare_step_ms_all"]) == len(row["lightning_step_ms_all"]) == 2
    pairs = [b / a for a, b in zip(row["bare_step_ms_all"], row["lightning_step_ms_all"])]
    assert row["ratio"] == pytest.approx(sum(pairs) / 2)  # the median of two values
    assert row["lightning_images_per_s"] == pytest.approx(2e3 / row["lightning_step_ms"])
    assert "ratio" in capsys.readouterr().out
