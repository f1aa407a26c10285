"""Each name list has one source; the config, the models, the CLI, the presets and the registries
agree with it.

The sources: ``coords`` and ``coord_init`` values, conv kinds, conv scopes and padding modes are
written once in ``coordbias._names`` (importable without torch, for the command line) and
exported by the layer library and ``coordbias.models``; model names are the registry's;
experiment names are the experiments package's; preset names are the presets'.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import pkgutil

import pytest

import coordbias.models.convs as model_convs
import coordbias.study.experiments as experiments_package
from coordbias.cli.main import build_parser
from coordbias.layers.coordbias import COORD_INITS
from coordbias.layers.functional import COORDS
from coordbias.models import CONV_KINDS, CONV_SCOPES, FCNConfig, create_model, list_models
from coordbias.models.convs import PADDING_MODES, POSITION_KINDS
from coordbias.models.variants import METHOD_VARIANTS, STUDY_VARIANTS, VARIANTS, variant_fields
from coordbias.study import presets
from coordbias.study.experiments import EXPERIMENTS
from coordbias.study.presets import PRESETS
from coordbias.study.runner import plan_study
from coordbias.training import config as train_config
from coordbias.training.config import TrainConfig

# TrainConfig field -> (the one list of accepted names, the list the config checks against).
CONFIG_LISTS = {
    "model": (tuple(list_models()), train_config.MODELS),
    "conv": (tuple(CONV_KINDS), train_config.CONVS),
    "conv_scope": (CONV_SCOPES, train_config.CONV_SCOPES),
    "padding_mode": (PADDING_MODES, train_config.PADDING_MODES),
    "coords": (COORDS, train_config.COORDS),
    "coord_init": (COORD_INITS, train_config.COORD_INITS),
}


def _valid(**fields) -> TrainConfig:
    config = TrainConfig(**fields)
    config.validate()
    return config


@pytest.mark.parametrize("field", list(CONFIG_LISTS))
def test_train_config_checks_against_the_one_list(field):
    source, checked = CONFIG_LISTS[field]
    assert tuple(checked) == tuple(source)
    for name in source:
        extra = {"conv_scope": "encoder"} if field == "conv" else {}
        assert getattr(_valid(**{field: name, **extra}), field) == name
    with pytest.raises(ValueError, match=field):
        _valid(**{field: "no-such-name"})


@pytest.mark.parametrize("field", [f for f in CONFIG_LISTS if f != "model"])
def test_the_train_flags_help_names_every_accepted_value(field):
    # ``coordbias train --help`` shows the field's help text: it must name every choice.
    help_text = {f.name: f.metadata["help"] for f in dataclasses.fields(TrainConfig)}[field]
    source, _ = CONFIG_LISTS[field]
    assert [name for name in source if name not in help_text] == []


def test_the_models_take_the_layer_librarys_coordinate_names():
    import coordbias._names as names

    assert model_convs.COORDS is COORDS and model_convs.COORD_INITS is COORD_INITS
    assert (COORDS, COORD_INITS) == (names.COORDS, names.COORD_INITS)
    assert CONV_KINDS is names.CONV_KINDS and PADDING_MODES is names.PADDING_MODES
    from coordbias import CoordBiasConv2d

    for coords in COORDS:
        for init in COORD_INITS:
            layer = CoordBiasConv2d(1, 1, 1, coords=coords, coord_init=init)
            assert (layer.coords, layer.coord_init) == (coords, init)
            FCNConfig(conv="coordbias", coords=coords, coord_init=init).validate()
    with pytest.raises(ValueError, match="coords"):
        FCNConfig(coords="no-such-name").validate()


@pytest.mark.parametrize("kind", list(CONV_KINDS))
def test_every_conv_kind_builds_the_fcn(kind):
    model = create_model("fcn", width=2, conv=kind)
    assert model.config.conv == kind


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_every_padding_mode_builds_the_fcn(mode):
    assert create_model("fcn", width=2, padding_mode=mode).config.padding_mode == mode


def test_the_variants_use_only_accepted_names():
    for name in VARIANTS:
        fields = variant_fields(name)
        for field, value in fields.items():
            if field in CONFIG_LISTS:
                assert value in CONFIG_LISTS[field][0], (name, field, value)


def test_every_position_kind_has_one_variant_and_the_study_keeps_the_others():
    # One variant per position method, each in the encoder, and the two lists split VARIANTS.
    by_kind = {variant_fields(name)["conv"]: name for name in METHOD_VARIANTS}
    assert sorted(by_kind) == sorted(POSITION_KINDS)
    assert all(variant_fields(n)["conv_scope"] == "encoder" for n in METHOD_VARIANTS)
    assert sorted(STUDY_VARIANTS + METHOD_VARIANTS) == sorted(VARIANTS)
    assert not {variant_fields(n)["conv"] for n in STUDY_VARIANTS} & set(POSITION_KINDS)


def test_the_experiments_are_the_modules_of_the_experiments_package():
    modules = sorted(
        info.name
        for info in pkgutil.iter_modules(experiments_package.__path__)
        if not info.name.startswith("_")
    )
    assert sorted(EXPERIMENTS) == modules
    assert presets.EXPERIMENTS is EXPERIMENTS
    for name in EXPERIMENTS:
        module = importlib.import_module(f"coordbias.study.experiments.{name}")
        assert callable(module.run) and callable(module.markdown)


def test_every_preset_names_known_experiments_and_variants():
    for key, preset in PRESETS.items():
        assert preset.name == key
        assert set(preset.experiments) <= set(EXPERIMENTS)
        assert set(preset.variants) <= set(VARIANTS)
    with pytest.raises(ValueError, match="experiments must be among"):
        plan_study("test", experiments=["no-such-experiment"])


def test_the_study_command_offers_exactly_the_presets():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    study = commands.choices["study"]
    preset = next(a for a in study._actions if "--preset" in a.option_strings)
    assert tuple(preset.choices) == tuple(PRESETS)
    assert parser.parse_args(["study", "--preset", "test"]).preset == "test"
    with pytest.raises(SystemExit):
        parser.parse_args(["study", "--preset", "no-such-preset"])
