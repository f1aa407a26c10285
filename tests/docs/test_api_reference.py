"""Every public name is documented and on a reference page, checked without building the site.

The public API is each public module's ``__all__``; griffe reads it the way the site's
mkdocstrings does. The built site is checked by the build itself (``docs/_tools/hooks.py``
compares its object inventory with the same list, with ``missing_from_site`` tested here).
"""

from __future__ import annotations

import importlib
import zlib

import api_names
import pytest
import yaml


@pytest.mark.parametrize("module_path", api_names.PUBLIC_MODULES)
def test_every_public_name_exists_and_has_a_docstring(package, module_path):
    names = [n for n in api_names.public_names(package) if n.rpartition(".")[0] == module_path]
    assert names, f"{module_path}: no public names"
    problems = [p for p in api_names.undocumented(package) if p.split(":", 1)[0] in names]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("module_path", api_names.PUBLIC_MODULES)
def test_griffe_reads_the_all_that_python_has(package, module_path):
    # A computed __all__ (or a name added at run time) would be invisible to the pages.
    runtime = importlib.import_module(module_path).__all__
    assert list(api_names.module(package, module_path).exports) == list(runtime)


def test_each_public_module_has_a_page_rendering_its_all():
    directives = api_names.reference_directives()
    config = yaml.safe_load((api_names.ROOT / "mkdocs.yml").read_text())
    nav_pages = set(_nav_pages(config["nav"]))
    options = api_names.handler_config()["options"]
    # Members come from __all__ (griffe's notion of public), not from a list on a page.
    assert options["filters"] == "public"
    for module_path in api_names.PUBLIC_MODULES:
        assert module_path in directives, f"no '::: {module_path}' on any page of docs/"
        page, block = directives[module_path]
        assert page.removeprefix("docs/") in nav_pages, f"{page} is not in the nav"
        for override in ("members:", "filters:"):
            assert override not in block, f"{page} overrides {override} for {module_path}"


def _nav_pages(nav):
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            yield from _nav_pages(value)
        else:
            yield value


def _write_inventory(site, names):
    lines = "".join(f"{name} py:function 1 reference/x/#{name} -\n" for name in names)
    header = b"# Sphinx inventory version 2\n# Project: t\n# Version: 0\n# zlib\n"
    (site / "objects.inv").write_bytes(header + zlib.compress(lines.encode()))


def test_the_site_check_names_a_public_name_the_inventory_lacks(package, tmp_path):
    names = api_names.public_names(package)
    _write_inventory(tmp_path, names)
    assert api_names.missing_from_site(package, tmp_path) == []
    _write_inventory(tmp_path, [n for n in names if n != "coordbias.data.CirclesDataset"])
    assert api_names.missing_from_site(package, tmp_path) == ["coordbias.data.CirclesDataset"]
