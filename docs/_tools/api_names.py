"""The public names the API reference must document, and the checks that it does.

The public API is each public module's ``__all__``, read statically by griffe with the same
search paths and extensions as the site's mkdocstrings (taken from ``mkdocs.yml``), so what is
checked here is what the pages render. The docs build (``hooks.py``) checks the built site's
object inventory against it; ``tests/docs`` checks docstrings and pages without a build.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import griffe
import yaml

ROOT = Path(__file__).resolve().parents[2]

#: The modules whose ``__all__`` is the documented public API, each on a page (a part with
#: several public modules, such as the scheduler, has one page for them all).
PUBLIC_MODULES = (
    "coordbias",
    "coordbias.functional",
    "coordbias.data",
    "coordbias.models",
    "coordbias.training",
    "coordbias.study",
    "coordbias.benchmark",
    "coordbias.scheduler.execute",
    "coordbias.scheduler.launch",
    "coordbias.scheduler.cluster",
    "coordbias.reporting.markdown",
    "coordbias.reporting.stats",
)


def handler_config(root: Path = ROOT) -> dict:
    """The mkdocstrings python handler's settings in ``mkdocs.yml`` (``paths``, ``options``)."""
    config = yaml.safe_load((root / "mkdocs.yml").read_text())
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            return plugin["mkdocstrings"]["handlers"]["python"]
    raise LookupError("mkdocs.yml has no mkdocstrings plugin")


def load_package(root: Path = ROOT) -> griffe.Module:
    """``coordbias`` as the site's mkdocstrings sees it (static analysis, nothing imported)."""
    handler = handler_config(root)
    extensions = [
        str(root / e) if e.endswith(".py") or ".py:" in e else e
        for e in handler["options"].get("extensions", [])
    ]
    return griffe.load(
        "coordbias",
        search_paths=[str(root / p) for p in handler.get("paths", ["."])],
        extensions=griffe.load_extensions(*extensions),
        docstring_parser=handler["options"].get("docstring_style", "google"),
        resolve_aliases=True,
    )


def module(pkg: griffe.Module, path: str) -> griffe.Module:
    """The module ``path`` (e.g. ``"coordbias.data"``) of the loaded package."""
    return pkg if path == pkg.path else pkg[path.removeprefix(pkg.path + ".")]


def public_names(pkg: griffe.Module) -> list[str]:
    """Full names (``coordbias.data.CirclesDataset``) of every public name, module by module."""
    names = []
    for path in PUBLIC_MODULES:
        exports = module(pkg, path).exports
        if not exports:
            raise LookupError(f"{path} has no __all__ that griffe can read")
        names += [f"{path}.{name}" for name in exports]
    return names


def undocumented(pkg: griffe.Module) -> list[str]:
    """Public names that do not exist or whose object has no docstring, with the reason."""
    problems = []
    for name in public_names(pkg):
        path, _, member = name.rpartition(".")
        try:
            obj = module(pkg, path)[member]
            doc = obj.docstring
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError) as error:
            problems.append(f"{name}: not found ({type(error).__name__}: {error})")
            continue
        if doc is None or not doc.value.strip():
            problems.append(f"{name}: no docstring")
    return problems


def reference_directives(root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """``{module: (page, options block)}`` of every ``::: module`` directive in ``docs/``."""
    found = {}
    for page in sorted((root / "docs").rglob("*.md")):
        text = page.read_text()
        for match in re.finditer(r"^::: *(\S+)\n((?:[ \t]+.*\n|\n)*)", text, flags=re.M):
            found[match.group(1)] = (str(page.relative_to(root)), match.group(2))
    return found


def inventory_names(site: Path) -> set[str]:
    """Object names in a built site's ``objects.inv`` (the Sphinx inventory mkdocstrings writes)."""
    data = (site / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four text lines, then the zlib-compressed body
        header_end = data.index(b"\n", header_end) + 1
    body = zlib.decompress(data[header_end:]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if line.strip()}


def missing_from_site(pkg: griffe.Module, site: Path) -> list[str]:
    """Public names that the built site's inventory lacks."""
    listed = inventory_names(site)
    return [name for name in public_names(pkg) if name not in listed]
