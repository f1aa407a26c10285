"""The docstrings' Sphinx roles and 'Example:' sections render as mkdocstrings expects."""

from __future__ import annotations

import logging

import napoleon


def test_roles_become_optional_links_to_the_object_they_name(package):
    obj = package["data.folder.FolderDataset"]
    text = napoleon.rewrite(obj, "See :func:`export_dataset` and :class:`~pathlib.Path`.")
    # Resolved in the docstring's scope (an import of data/folder.py), shown as written.
    assert 'identifier="coordbias.data.export.export_dataset" optional' in text
    assert "<code>export_dataset</code>" in text
    assert "`Path`" in text  # pathlib's, not documented here: plain code
    assert ":func:" not in text and ":class:" not in text


def test_a_role_naming_no_object_of_the_package_is_a_warning(package, caplog):
    obj = package["models.registry.create_model"]
    with caplog.at_level(logging.WARNING):
        text = napoleon.rewrite(obj, "Use :func:`crate_model` or :mod:`coordbias.modles`.")
    assert text == "Use `crate_model` or `coordbias.modles`."
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2 and "crate_model" in messages[0] and "modles" in messages[1]
    assert "src/coordbias/models/registry.py" in messages[0]


def test_torch_names_are_code_without_a_warning(package, caplog):
    obj = package["layers.coordconv"]
    with caplog.at_level(logging.WARNING):
        text = napoleon.rewrite(obj, ":class:`torch.nn.Conv2d` and :func:`os.replace`")
    assert text == "`torch.nn.Conv2d` and `os.replace`"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_example_sections_are_read_as_examples(package):
    obj = package["data.config.class_colors"]
    assert "Example:" in obj.docstring.value or "Examples:" in obj.docstring.value
    sections = [s.kind.value for s in obj.docstring.parsed]
    assert sections == ["text", "examples"]
    assert napoleon.rewrite(obj, "Text.\n\n    Example:\n        >>> 1\n        1\n") == (
        "Text.\n\n    Examples:\n        >>> 1\n        1\n"
    )
