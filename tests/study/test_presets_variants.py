"""Presets and variants resolve to valid TrainConfigs that build the intended networks."""

import dataclasses

import pytest
import torch

from coordbias.models.variants import VARIANTS, resolve_variants, variant_fields
from coordbias.study.presets import PRESETS, coerce_overrides, get_preset, run_config
from coordbias.study.runner import plan_study
from coordbias.training import TrainConfig, build_model


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_and_variant_gives_a_valid_config(preset, tmp_path):
    p = get_preset(preset)
    for variant in p.variants:
        config = run_config(p, variant, 1, tmp_path / variant)
        assert isinstance(config, TrainConfig)
        config.validate()
        assert config.seed == 1
        assert config.out_dir == str(tmp_path / variant)
        assert config.resume is False
        for key, value in variant_fields(variant).items():
            assert getattr(config, key) == value


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_builds_and_runs(variant, tmp_path):
    config = run_config("test", variant, 0, tmp_path)
    model = build_model(config)
    out = model(torch.rand(1, 3, 32, 32))
    assert out.shape == (1, 4, 32, 32)


def test_param_matched_adds_exactly_the_coordbias_parameters(tmp_path):
    count = {
        v: sum(p.numel() for p in build_model(run_config("test", v, 0, tmp_path)).parameters())
        for v in ("vanilla", "coordbias", "param_matched")
    }
    assert count["coordbias"] > count["vanilla"]
    assert count["param_matched"] == count["coordbias"]


def test_seed_preset_is_the_original_setting(tmp_path):
    config = run_config("seed", "coordbias", 0, tmp_path)
    expected = {
        "image_size": 128,
        "train_size": 5000,
        "val_size": 2500,
        "width": 64,
        "batch_size": 1,
        "optimizer": "sgd",
        "lr": 1e-3,
        "momentum": 0.9,
        "epochs": 2,
        "coords": "output",
        "coord_init": "uniform",
        "conv": "coordbias",
        "conv_scope": "encoder",
        "batch_norm": False,
        "padding_mode": "zeros",
    }
    assert {k: getattr(config, k) for k in expected} == expected
    assert set(get_preset("seed").variants) == {"vanilla", "coordbias"}


def test_quick_preset_has_three_seeds_of_the_four_main_variants():
    quick = get_preset("quick")
    assert quick.seeds >= 3
    assert {"vanilla", "coordbias", "coordconv", "param_matched"} <= set(quick.variants)
    assert set(get_preset("full").variants) == set(VARIANTS)


def test_only_the_named_property_differs_from_vanilla(tmp_path):
    base = dataclasses.asdict(run_config("quick", "vanilla", 0, tmp_path))
    for variant in VARIANTS:
        other = dataclasses.asdict(run_config("quick", variant, 0, tmp_path))
        changed = {k for k in base if base[k] != other[k]}
        assert changed <= {"conv", "conv_scope", "batch_norm", "padding_mode"}
    circular = run_config("quick", "vanilla_circular", 0, tmp_path)
    assert circular.padding_mode == "circular" and circular.conv == "vanilla"


def test_unknown_names_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="preset must be one of"):
        get_preset("fast")
    with pytest.raises(ValueError, match="'coordbiass'"):
        resolve_variants(["coordbiass"], default=["vanilla"])
    with pytest.raises(ValueError, match="not a TrainConfig field"):
        coerce_overrides({"epoch": 1})
    with pytest.raises(ValueError, match="expected an integer"):
        coerce_overrides({"epochs": "two"})
    with pytest.raises(ValueError, match="set by the study"):
        coerce_overrides({"seed": 3})
    with pytest.raises(ValueError, match="seeds must be at least 1"):
        plan_study("test", tmp_path, seeds=0)
    with pytest.raises(ValueError, match="experiments must be among"):
        plan_study("test", tmp_path, experiments=["nope"])


def test_plan_layout_and_overrides(tmp_path):
    plan = plan_study(
        "test", tmp_path, seeds=[3, 1], variants="coordbias", overrides={"epochs": "2"}
    )
    assert [(r.variant, r.seed) for r in plan.runs] == [("coordbias", 3), ("coordbias", 1)]
    assert plan.runs[0].run_dir == tmp_path / "runs" / "coordbias" / "seed3"
    assert all(r.config.epochs == 2 for r in plan.runs)
    assert not any(r.done for r in plan.runs)
