"""The package's import graph: no circle anywhere, and the arrows of docs/ARCHITECTURE.md.

The graph holds every import statement of every module of ``coordbias``, read from the source
(``ast``), wherever it stands: at the top, inside a function (a lazy import) or under
``if TYPE_CHECKING:``. An edge goes to the module an import names (``from a.b import c`` is an
edge to ``a.b.c`` when that is a module, else to ``a.b``); the parent packages that Python
imports on the way are not edges.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import coordbias

ROOT = Path(coordbias.__file__).parent

# Which parts each part may import (docs/ARCHITECTURE.md). A part is a sub-package of coordbias;
# "coordbias" is the top-level package with the layers' re-exports (coordbias/__init__.py,
# coordbias/functional.py); "_util" (the writer, the timing harness, ...) and "_version" are
# shared modules that import no part; "_names" (the option names, importable without torch) is
# one too, and the only one the layers use besides _version; the layers use neither _util nor
# anything above them. The
# scheduler runs tasks and knows nothing of the study or the benchmark; "reporting" (the Markdown
# table writer, the statistics) serves both; the study and the benchmark stand side by side and
# import nothing of each other.
LAYERS = {"layers", "coordbias"}
SHARED = {"_util", "_version", "_names"}
BELOW_EXPERIMENTS = LAYERS | {"data", "models", "training", "scheduler", "reporting"} | SHARED
ALLOWED = {
    "layers": {"coordbias", "_names"},
    "coordbias": {"layers", "_version", "_names"},
    "data": SHARED,
    "models": LAYERS | {"_names"},
    "training": LAYERS | {"data", "models"} | SHARED,
    "scheduler": SHARED,
    "reporting": SHARED,
    "study": BELOW_EXPERIMENTS,
    "benchmark": BELOW_EXPERIMENTS,
    "speed": LAYERS | {"data", "models", "training"} | SHARED,
    "bench": set(),  # the deprecated name of "speed": loads it by name, imports nothing
    "cli": BELOW_EXPERIMENTS | {"study", "benchmark", "speed"},
    "__main__": {"cli"},
    "_util": set(),
    "_version": set(),
    "_names": set(),
}


def module_names(root: Path, package: str) -> dict[str, Path]:
    """``{dotted module name: file}`` of every ``.py`` file under ``root`` (a package)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` from every import statement."""
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:
                        edges.add(f"{source}.{alias.name}")
                    elif source in modules:
                        edges.add(source)
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (its modules in order, the first repeated), or None."""
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        return list(err.args[1])
    return None


def room(module: str) -> str:
    """The room of a module inside its part: the module itself, or the sub-package of the part
    that holds it (``coordbias.study.experiments.speed`` is in ``coordbias.study.experiments``),
    drawn as one room as a reader of the part sees it."""
    return ".".join(module.split(".")[:3])


def room_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """``{room: rooms of the same part it imports}``."""
    rooms: dict[str, set[str]] = {}
    for module, targets in graph.items():
        here = room(module)
        rooms.setdefault(here, set()).update(
            room(t) for t in targets if part(t) == part(module) and room(t) != here
        )
    return rooms


def part(module: str) -> str:
    """The part of ``coordbias.<part>.<...>``: its first component below ``coordbias``."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[1] != "functional" else "coordbias"


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(module_names(ROOT, "coordbias"))


def test_the_graph_sees_every_kind_of_import(graph):
    # A top-level import of a name from a module...
    assert "coordbias.study.plan" in graph["coordbias.study.runner"]
    # ... imports inside a function: a module, and a name from a package (``train``)...
    assert "coordbias.study.report" in graph["coordbias.study.runner"]
    assert "coordbias.training" in graph["coordbias.study.estimate"]
    # ... and a package that imports its own modules.
    assert "coordbias.study.runner" in graph["coordbias.study"]


def test_find_cycle_finds_a_circle_through_a_lazy_or_type_only_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import f\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import c\n"
    )
    (package / "c.py").write_text("def g():\n    from . import a\n")
    graph = import_graph(module_names(package, "pkg"))
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}}
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {"pkg.a", "pkg.b", "pkg.c"}
    (package / "c.py").write_text("")
    assert find_cycle(import_graph(module_names(package, "pkg"))) is None


def test_no_import_circle_in_the_package(graph):
    assert find_cycle(graph) is None


def test_every_part_is_drawn(graph):
    assert {part(module) for module in graph} == set(ALLOWED)


def test_every_import_points_the_way_the_architecture_draws(graph):
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if part(target) != part(module) and part(target) not in ALLOWED[part(module)]
    )
    assert wrong == []


def test_no_room_of_a_part_imports_one_that_imports_it_back(graph):
    # Inside each part, a sub-package counts as one room: the rooms' graph has no circle, so
    # every import inside a part runs down (no package and module of one part import each other).
    assert find_cycle(room_graph(graph)) is None


def test_room_circles_are_found():
    graph = {
        "coordbias.study.experiments._common": {"coordbias.study.markdown"},
        "coordbias.study.markdown": {"coordbias.study.experiments"},
        "coordbias.study.experiments": set(),
    }
    assert find_cycle(graph) is None  # no circle of modules...
    assert find_cycle(room_graph(graph)) is not None  # ... but one of rooms
