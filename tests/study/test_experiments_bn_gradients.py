"""The BatchNorm experiment: the algebra on one layer, the training record and its report."""

import copy

import pytest
import torch

from coordbias.study.experiments import bn_gradients as bn
from coordbias.study.markdown import fmt_sci
from tests.study import _experiment_checks as checks

TINY = bn.BNGradConfig(image_size=16, width=2, steps=3, batch_size=2, train_size=4)


tiny_result = checks.tiny_result_fixture(bn, TINY, "bn")


def test_derivation_float64_bias_cancels_coord_survives():
    d = bn.derivation_check(torch.float64, seed=1)
    assert d["bias_grad_rel"] < 1e-12  # BatchNorm removes the bias: zero gradient
    assert d["coord_grad_rel_min"] > 1e-3  # but not the centred coordinate ramps
    assert d["coord_grad_formula_err"] < 1e-9  # autograd == sum(g * (P - mean P))
    assert d["shift_invariance_err"] < 1e-10
    assert d["affine_coords_err"] < 1e-10
    assert d["eval_bias_grad_rel"] > 1e-3  # with running statistics nothing cancels
    assert d["coord_range"] == pytest.approx([-1.0, 1.0])


def test_derivation_float32_within_rounding():
    d = bn.derivation_check(torch.float32, seed=2)
    assert d["bias_grad_rel"] < bn.ZERO_TOLERANCE["float32"]
    assert d["coord_grad_rel_min"] > 1e-3


def test_coordinate_maps_read_off_the_layer():
    from coordbias import CoordBiasConv2d

    layer = CoordBiasConv2d(2, 3, 1)
    maps = bn.coordinate_maps(layer, torch.zeros(1, 2, 3, 5))
    assert maps.shape == (2, 3, 5)
    assert maps[0, :, 0].tolist() == pytest.approx([-1.0, 0.0, 1.0])  # rows run down
    assert maps[1, 0].tolist() == pytest.approx([-1.0, -0.5, 0.0, 0.5, 1.0])


def test_run_returns_documented_keys_and_writes_figure(tiny_result):
    out, result = tiny_result
    keys = ("config", "derivation", "training", "summary", "figure", "seconds", "seed")
    checks.assert_documented_result(out, result, keys)
    bn_run, plain_run = result["training"]["bn"], result["training"]["no_bn"]
    assert len(bn_run["layers"]) == 6 and all(bn_run["followed_by_bn"])
    assert not any(plain_run["followed_by_bn"])
    assert all(len(v) == TINY.steps for v in bn_run["bias_grad"])


def test_training_runs_the_one_loops_batches():
    # The loop's rule: an epoch is a fresh permutation of the pool drawn from the seed, so the
    # first step's loss is that of the permutation's first batch on the seeded model.
    import torch.nn.functional as F

    from coordbias.models import create_model

    config = bn.BNGradConfig(image_size=16, width=2, steps=5, batch_size=2, train_size=4)
    images, masks = bn.circles(config, seed=0)
    got = bn.train_and_record(config, True, images, masks, seed=7)
    assert len(got["loss"]) == 5  # three epochs of two steps, cut at five
    torch.manual_seed(7)
    model = create_model("fcn", width=2, conv="coordbias", batch_norm=True, num_classes=4)
    idx = torch.randperm(4, generator=torch.Generator().manual_seed(7))[:2]
    with torch.no_grad():
        model(images[:2])  # the layer-order probe runs the model once, as the experiment does
        first = F.cross_entropy(model(images[idx]), masks[idx])
    assert got["loss"][0] == pytest.approx(float(first), rel=1e-6)
    # Deterministic: the same seed gives the same record.
    again = bn.train_and_record(config, True, images, masks, seed=7)
    assert again["loss"] == got["loss"] and again["coord_grad"] == got["coord_grad"]


def test_training_bias_gradient_dead_only_behind_batchnorm(tiny_result):
    _, result = tiny_result
    for row in result["summary"]["bn"]:
        assert row["max_bias_rel"] < bn.TRAIN_ZERO_TOLERANCE  # |dL/db| / sum|g|
        assert row["max_bias_over_weight"] < 1e-4
        assert row["min_coord_over_weight"] > 1e-4
    for row in result["summary"]["no_bn"]:
        assert row["mean_bias_rel"] > 1e-4  # sum(g) is not 0 without the mean subtraction
        assert row["mean_bias_grad"] > 0
        assert row["mean_coord_grad"] > 0


def test_markdown_uses_the_numbers(tiny_result):
    _, result = tiny_result
    text = bn.markdown(result, "figs")
    checks.assert_report_section(text, "figs/bn_gradients.png")
    assert fmt_sci(result["derivation"]["float64"]["bias_grad_rel"]) in text
    assert fmt_sci(result["summary"]["bn"][0]["mean_coord_grad"]) in text
    assert "The algebra holds" in text and "escapes the cancellation" in text


def test_markdown_conclusion_follows_the_numbers(tiny_result):
    _, result = tiny_result
    broken = copy.deepcopy(result)
    for row in broken["summary"]["bn"]:
        row["max_bias_rel"] = 0.5  # as if the bias were not cancelled
    broken["derivation"]["float64"]["bias_grad_rel"] = 0.1
    text = bn.markdown(broken, "")
    assert "does NOT match" in text and "weaker than the algebra predicts" in text
    assert "(bn_gradients.png)" in text


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(TypeError, match="config"):
        bn.run(tmp_path, config={"steps": 1})
    with pytest.raises(ValueError, match="image_size"):
        bn.run(tmp_path, config=bn.BNGradConfig(image_size=12))
    with pytest.raises(TypeError, match="out_dir"):
        bn.run(123)
    with pytest.raises(ValueError, match="dtype"):
        bn.derivation_check(torch.float16)
