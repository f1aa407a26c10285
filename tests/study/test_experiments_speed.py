"""Speed and size of CoordConv and the coordinate bias: identity, shapes, run and report."""

import copy

import pytest

from coordbias.study.experiments import speed
from tests.study import _experiment_checks as checks

TINY = speed.SpeedConfig(image_size=16, width=2, batch_size=1, rounds=2, target_ms=0.5)


tiny_result = checks.tiny_result_fixture(speed, TINY, "speed")


def test_1x1_coordconv_is_a_coordinate_bias():
    r = speed.coordconv_as_coordbias(1, seed=4)
    assert r["max_abs_diff_interior"] < 1e-12
    assert r["output_scale"] > 0.1


def test_3x3_coordconv_differs_only_on_the_border():
    r = speed.coordconv_as_coordbias(3, seed=4)
    assert r["max_abs_diff_interior"] < 1e-12
    assert r["max_abs_diff_border"] > 1e-3


def test_encoder_shapes_follow_the_fcn():
    shapes = speed.encoder_shapes(TINY)
    assert [s["out_channels"] for s in shapes] == [2, 2, 4, 4, 8, 8]
    assert [s["input"][-1] for s in shapes] == [16, 16, 8, 8, 4, 4]
    assert shapes[0]["in_channels"] == 3


def test_run_returns_documented_keys_and_writes_figure(tiny_result):
    out, result = tiny_result
    keys = ("config", "layers", "network", "identity", "figure", "seconds", "torch")
    checks.assert_documented_result(out, result, keys)
    assert len(result["layers"]) == 6
    for row in result["layers"]:
        assert row["ratio"]["vanilla"] == 1.0
        assert row["ratio"]["coordbias"] > 0 and row["ratio"]["coordconv"] > 0
        assert len(row["ratio_rounds"]["coordbias"]) == TINY.rounds


def test_parameter_overheads_match_the_formulas(tiny_result):
    _, result = tiny_result
    outs = [r["out_channels"] for r in result["layers"]]
    net = result["network"]
    assert net["added_params"]["coordbias"] == 2 * sum(outs)  # 2 * C_out per layer
    assert net["added_params"]["coordconv"] == 2 * 9 * sum(outs)  # 2 * C_out * k * k
    for row in result["layers"]:
        assert row["added_params"]["coordbias"] == 2 * row["out_channels"]


def test_markdown_uses_the_numbers(tiny_result):
    _, result = tiny_result
    text = speed.markdown(result, "figs")
    checks.assert_report_section(text, "figs/speed.png")
    net = result["network"]
    assert f"{net['ratio']['coordconv']:.2f}×" in text
    assert f"+{net['added_params']['coordconv']:,}" in text
    flipped = copy.deepcopy(result)
    flipped["network"]["ratio_rounds"]["coordbias"] = [3.0, 3.1]
    flipped["network"]["ratio_rounds"]["coordconv"] = [1.5, 1.6]
    assert "CoordConv is the cheaper of the two" in speed.markdown(flipped, "")
    flipped["network"]["ratio_rounds"]["coordconv"] = [2.0, 3.2]  # cheaper in one round of two
    assert "cannot be told apart" in speed.markdown(flipped, "")


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        speed.run(tmp_path, config=speed.SpeedConfig(image_size=20))
    with pytest.raises(TypeError, match="seed"):
        speed.run(tmp_path, config=TINY, seed="0")
    with pytest.raises(ValueError, match="kernel_size"):
        speed.coordconv_as_coordbias(5)
