"""TrainConfig: validation names the bad field, YAML round trip, device parsing."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordbias.training import TrainConfig
from coordbias.training.config import parse_devices


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"optimizer": "lbfgs"}, ValueError, r"optimizer='lbfgs'.*accepted: sgd, adam, adamw"),
        ({"lr": -0.1}, ValueError, r"lr=-0\.1 is not accepted; accepted: a finite number > 0"),
        ({"lr": 0.0}, ValueError, r"lr=0\.0 is not accepted"),
        ({"lr": float("inf")}, ValueError, r"lr=inf is not accepted; accepted: a finite number >"),
        ({"lr": float("nan")}, ValueError, r"lr=nan is not accepted"),
        ({"momentum": float("nan")}, ValueError, r"momentum=nan .*a finite number in \[0, 1\)"),
        ({"momentum": -0.5}, ValueError, r"momentum=-0\.5 is not accepted"),
        ({"weight_decay": float("inf")}, ValueError, r"weight_decay=inf .*finite number >= 0"),
        ({"weight_decay": float("nan")}, ValueError, r"weight_decay=nan"),
        ({"width": 0}, ValueError, r"width=0 is not accepted; accepted: an integer >= 1"),
        ({"train_size": -3}, ValueError, r"train_size=-3 .*an integer >= 1"),
        ({"num_nodes": 0}, ValueError, r"num_nodes=0 .*an integer >= 1"),
        ({"seed": -1}, ValueError, r"seed=-1 .*an integer >= 0"),
        ({"image_size": 36}, ValueError, r"image_size=36 must be divisible by 8"),
        ({"conv": "deform"}, ValueError, r"conv='deform'.*vanilla, coordbias"),
        ({"padding_mode": "same"}, ValueError, r"padding_mode='same'"),
        ({"batch_size": 0}, ValueError, r"batch_size=0 is not accepted; accepted: an integer >= 1"),
        ({"epochs": -1}, ValueError, r"epochs=-1"),
        ({"momentum": 1.0}, ValueError, r"momentum=1\.0 .*accepted: a finite number in \[0, 1\)"),
        ({"weight_decay": -1e-4}, ValueError, r"weight_decay"),
        ({"workers": -2}, ValueError, r"workers=-2"),
        ({"precision": "8-true"}, ValueError, r"precision='8-true'"),
        ({"accelerator": "tpu-ish"}, ValueError, r"accelerator='tpu-ish'"),
        ({"devices": "two"}, ValueError, r"devices='two' is not understood"),
        ({"devices": "0"}, ValueError, r"devices='0'"),
        ({"width": "8"}, TypeError, r"width='8' has type str; expected int"),
        ({"batch_norm": 1}, TypeError, r"batch_norm=1 has type int; expected bool"),
        ({"lr": True}, TypeError, r"lr=True has type bool"),
        ({"data_dir": "/no/such/folder"}, ValueError, r"data_dir='/no/such/folder' is not"),
    ],
)
def test_bad_settings_raise_naming_the_field(changes, error, match):
    config = dataclasses.replace(TrainConfig(), **changes)
    with pytest.raises(error, match=match):
        config.validate()


def test_defaults_are_the_original_and_valid():
    config = TrainConfig()
    config.validate()
    assert (config.optimizer, config.lr, config.momentum) == ("sgd", 1e-3, 0.9)
    assert (config.batch_size, config.epochs, config.image_size, config.width) == (1, 2, 128, 64)
    assert (config.train_size, config.val_size) == (5000, 2500)


def test_an_int_learning_rate_is_accepted():
    dataclasses.replace(TrainConfig(), lr=1).validate()


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(ValueError, match=r"unknown TrainConfig field\(s\) learning_rate"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_yaml_file_round_trip(tmp_path):
    config = TrainConfig(width=16, conv="coordbias", data_dir=None, lr=3e-3, devices="0,1")
    path = tmp_path / "config.yaml"
    config.to_yaml(path)
    assert TrainConfig.from_yaml(path) == config
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file of the atomic write is left"


def test_partial_yaml_keeps_defaults_and_bad_yaml_is_named(tmp_path):
    path = tmp_path / "partial.yaml"
    path.write_text("width: 8\nconv: coordconv\n")
    assert TrainConfig.from_yaml(path) == TrainConfig(width=8, conv="coordconv")
    path.write_text("- a list\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        TrainConfig.from_yaml(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")


@settings(max_examples=30, deadline=None)
@given(
    width=st.integers(1, 512),
    lr=st.floats(1e-6, 10.0, allow_nan=False),
    conv=st.sampled_from(["vanilla", "coordbias", "coordconv", "param_matched"]),
    batch_norm=st.booleans(),
    data_dir=st.none() | st.text(min_size=1, max_size=20),
    strategy=st.text(min_size=1, max_size=12),
)
def test_yaml_text_round_trip_for_any_values(width, lr, conv, batch_norm, data_dir, strategy):
    import yaml

    config = TrainConfig(
        width=width, lr=lr, conv=conv, batch_norm=batch_norm, data_dir=data_dir, strategy=strategy
    )
    assert TrainConfig.from_dict(yaml.safe_load(config.to_yaml())) == config


@pytest.mark.parametrize(
    ("text", "expected"), [("auto", "auto"), ("1", 1), ("4", 4), ("-1", -1), ("0,2", [0, 2])]
)
def test_parse_devices(text, expected):
    assert parse_devices(text) == expected
