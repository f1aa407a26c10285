"""Where the original's single runs fall among our seeds: numbers and the report section, on
synthetic per-seed results (no training)."""

import statistics

import pytest

from coordbias.study import plan_study
from coordbias.study.markdown import _original_seeds_section
from coordbias.study.results import ORIGINAL, original_across_seeds


def _variant(recalls, losses):
    per_seed = [
        {"seed": s, "recall": r, "miou": 0.5, "val_loss": [0.5, loss]}
        for s, (r, loss) in enumerate(zip(recalls, losses))
    ]
    return {"seeds": list(range(len(recalls))), "per_seed": per_seed}


# Original: vanilla (0.992, 0.428, 0.572, 0.523) loss 0.118; coordbias (0.997, 0.997, 0.996,
# 0.978) loss 0.012.
VARIANTS = {
    "vanilla": _variant(
        [
            [0.980, 0.052, 0.944, 0.885],
            [0.9916, 0.600, 0.400, 0.600],  # 0.9916 rounds to 0.992: the original is inside
            [0.985, 0.900, 0.100, 0.550],  # class 3 from 0.550 up: 0.523 is outside
        ],
        [0.120, 0.110, 0.130],
    ),
    "coordbias": _variant(
        [
            [0.999, 0.998, 0.997, 0.903],
            [0.998, 0.995, 0.999, 0.950],
            [0.999, 0.999, 0.998, 0.930],
        ],
        [0.015, 0.016, 0.014],
    ),
    "coordconv": _variant([[1.0, 1.0, 1.0, 1.0]] * 3, [0.01] * 3),  # not in the original
}


def test_mean_std_range_and_inside(tmp_path):
    entry = original_across_seeds(plan_study("seed", tmp_path, seeds=3), VARIANTS)
    assert entry["same_setting"] is True
    assert set(entry["networks"]) == {"vanilla", "coordbias"}
    vanilla = entry["networks"]["vanilla"]
    yellow_right = vanilla["recall"][1]
    assert yellow_right["mean"] == pytest.approx((0.052 + 0.6 + 0.9) / 3)
    assert yellow_right["std"] == pytest.approx(statistics.stdev([0.052, 0.6, 0.9]))
    assert (yellow_right["min"], yellow_right["max"]) == (0.052, 0.9)
    assert yellow_right["original"] == ORIGINAL["vanilla"]["recall"][1]
    assert [r["inside"] for r in vanilla["recall"]] == [True, True, True, False]
    coordbias = entry["networks"]["coordbias"]
    assert [r["inside"] for r in coordbias["recall"]] == [False, True, False, False]
    assert vanilla["val_loss_final"]["inside"] is True  # 0.118 in [0.110, 0.130]
    assert coordbias["val_loss_final"]["inside"] is False  # 0.012 below 0.014
    assert coordbias["val_loss_final"]["mean"] == pytest.approx(0.015)
    assert (entry["inside"], entry["compared"]) == (4, 8)


def test_the_report_section_says_which_numbers_lie_outside(tmp_path):
    entry = original_across_seeds(plan_study("seed", tmp_path, seeds=3), VARIANTS)
    text = _original_seeds_section(entry)
    assert text.startswith("## The original's runs among our seeds")
    assert "4 of the original's 8 recall numbers lie inside our range; outside:" in text
    assert "`vanilla` recall 3 red-bottom (0.523)" in text
    assert "`coordbias` recall background (0.997)" in text
    assert "uses the original's setting" in text
    row = next(line for line in text.splitlines() if "`vanilla` | recall 1 yellow-right" in line)
    assert "| 0.428 | 0.517 ± 0.430 | 0.052 – 0.900 | yes |" in row
    assert text.count("| **no** |") == 4 + 1  # four recalls and coordbias's loss


def test_another_setting_is_flagged_and_one_seed_gives_no_section(tmp_path):
    entry = original_across_seeds(plan_study("test", tmp_path), VARIANTS)
    assert entry["same_setting"] is False
    assert "does not use the original's setting" in _original_seeds_section(entry)
    one_seed = {name: _variant([v["per_seed"][0]["recall"]], [0.1]) for name, v in VARIANTS.items()}
    assert original_across_seeds(plan_study("seed", tmp_path), one_seed) is None
    assert _original_seeds_section(None) == ""
    changed = plan_study("seed", tmp_path, seeds=3, overrides={"epochs": 3})
    assert original_across_seeds(changed, VARIANTS)["same_setting"] is False
