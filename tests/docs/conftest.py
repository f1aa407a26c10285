"""The docs build's own modules (``docs/_tools``) are importable by the docs tests."""

import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "docs" / "_tools"
sys.path.insert(0, str(TOOLS))

import api_names  # noqa: E402


@pytest.fixture(scope="session")
def package():
    """``coordbias`` as the site's mkdocstrings sees it (griffe, the site's extensions)."""
    return api_names.load_package()
