"""``coordbias speed data`` writes its JSON with the three figures."""

import json

import pytest

from coordbias.cli.main import main


@pytest.mark.slow
def test_bench_data_writes_json(tmp_path):
    code = main(
        [
            "speed", "data", "--out", str(tmp_path), "--min-run-time", "0.01",
            "--sample-size", "32", "--gen-batch", "4", "--image-size", "32",
            "--width", "4", "--batch-size", "2",
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads((tmp_path / "bench_data.json").read_text())
    assert result["per_sample_batched_s"] > 0 and result["per_sample_single_s"] > 0
    assert result["per_sample_batched_cpu_s"] > 0 and result["per_sample_single_cpu_s"] > 0
    step = result["training_step"]
    if "error" not in step:  # models part present
        assert step["step_s"] > 0 and step["generation_s"] > 0
        ratio = step["generation_s"] / step["step_s"]
        assert abs(step["generation_over_step"] - ratio) < 1e-12
