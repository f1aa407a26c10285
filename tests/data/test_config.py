"""CirclesConfig: the original's defaults, clear errors naming the field, JSON round trip."""

import dataclasses

import pytest

from coordbias.data import CLASS_COLORS, CirclesConfig


def test_defaults_are_the_originals():
    config = CirclesConfig()
    assert config.image_size == 128 and config.num_circles == 3 and config.lattice_cells == 4
    assert config.radius_min == pytest.approx(1 / 12) and config.radius_span == pytest.approx(1 / 8)
    assert config.noise_intensity == 0.5 and config.p_yellow == 0.5 and config.p_left == 0.5
    assert config.yellow == (1.0, 1.0, 0.0) and config.red == (1.0, 0.0, 0.0)
    assert (config.class_yellow_right, config.class_yellow_left) == (1, 2)
    assert (config.class_red_bottom, config.class_red_top) == (3, 0)
    assert config.num_classes == 4
    # int(128/12 + 16 u) for u in [0, 1): 10 .. 26.
    assert config.radius_bounds == (10, 26)


def test_class_colors_are_black_yellow_blue_red():
    assert CLASS_COLORS == ((0, 0, 0), (1, 1, 0), (0, 0, 1), (1, 0, 0))


def test_config_is_frozen_and_hashable():
    config = CirclesConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.image_size = 64
    assert hash(config) == hash(CirclesConfig())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image_size", 8),
        ("image_size", 64.0),
        ("image_size", True),
        ("num_circles", -1),
        ("radius_min", -0.1),
        ("radius_min", 0.001),
        ("radius_span", 0.3),
        ("radius_span", float("nan")),
        ("lattice_cells", 0),
        ("lattice_cells", 100),
        ("noise_intensity", 1.5),
        ("p_yellow", 1.2),
        ("p_left", -0.1),
        ("yellow", (1.0, 1.0)),
        ("red", (1.0, 0.0, 2.0)),
        ("class_red_top", -1),
        ("class_yellow_left", 300),
        ("quantize", 1),
    ],
)
def test_bad_values_raise_an_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field) as info:
        CirclesConfig(**{field: value})
    assert str(info.value).startswith("CirclesConfig.")
    assert repr(value) in str(info.value)


def test_dict_round_trip_and_unknown_keys():
    config = CirclesConfig(image_size=96, num_circles=5, red=(0.9, 0.1, 0.0))
    assert CirclesConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown CirclesConfig fields"):
        CirclesConfig.from_dict({"size": 64})
