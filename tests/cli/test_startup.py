"""The command line answers ``--help`` without importing torch, Lightning or matplotlib.

Building every parser (the one behind ``coordbias --help`` and each ``coordbias COMMAND --help``)
reads the option names from light modules; a command imports what it runs when it runs it. Each
check runs in a fresh interpreter, so what this test process already imported does not count.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import coordbias

HEAVY = ("torch", "lightning", "pytorch_lightning", "matplotlib")


def _heavy_modules_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    report = f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    probe = f"{code}\nimport json, sys\n{report}"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_building_every_parser_imports_no_heavy_module():
    code = "from coordbias.cli.main import build_parser\nbuild_parser()"
    assert _heavy_modules_after(code) == []


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["speed", "layers", "--help"]])
def test_help_imports_no_heavy_module(argv):
    code = (
        "import contextlib, io\nfrom coordbias.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})"
    )
    assert _heavy_modules_after(code) == []


def test_import_coordbias_leaves_the_layers_for_first_use():
    assert _heavy_modules_after("import coordbias") == []
    assert "torch" in _heavy_modules_after("from coordbias import CoordBiasConv2d")


def test_every_top_level_name_resolves_and_type_checkers_see_each():
    for name in coordbias.__all__:
        assert getattr(coordbias, name) is not None
        assert name in dir(coordbias)
    # The names the package gives lazily are the names its TYPE_CHECKING block imports.
    tree = ast.parse(Path(coordbias.__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If))
    imported = {alias.asname or alias.name for node in block.body for alias in node.names}
    assert imported == set(coordbias.__all__) - {"__version__"}
    with pytest.raises(AttributeError):
        coordbias.no_such_name  # noqa: B018
