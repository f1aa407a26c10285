"""TrainConfig's fields show their defaults and help on the page, not ``_f(...)`` calls."""

from __future__ import annotations


def test_fields_have_their_default_as_value_and_their_help_as_docstring(package):
    config = package["training.config.TrainConfig"]
    assert str(config.members["lr"].value) == "0.001"
    assert config.members["lr"].docstring.value == "learning rate"
    assert str(config.members["data_dir"].value) == "None"
    assert config.members["data_dir"].docstring.value.startswith("read images and masks")
    # griffe's dataclass support builds the signature from those values.
    params = {p.name: p.default for p in config.all_members["__init__"].parameters}
    assert params["model"] == "'fcn'" and params["lr"] == "0.001"
    assert not [name for name, default in params.items() if "_f(" in str(default)]
