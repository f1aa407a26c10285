"""A griffe extension: the docstrings as Sphinx's napoleon reads them, rendered by mkdocstrings.

The docstrings are Google style written for napoleon, and two of its habits griffe does not
share; on the page (the source and ``help()`` keep them as written):

- Sphinx roles, ``:func:`add_coords``` or ``:class:`~coordbias.data.FolderDataset```, which
  Markdown would print as is, become a link to the object where the site documents it, and
  plain code otherwise (torch's layers, a private helper). A role naming a ``coordbias`` object
  that does not exist (a typo, a renamed function) is logged as a warning: the strict build fails.
- An ``Example:`` section is read as ``Examples:`` (griffe knows only the plural and would render
  the ``>>>`` lines as text).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_logger = griffe.get_logger("coordbias_docs")

EXAMPLE_HEADER = re.compile(r"^([ \t]*)Example:[ \t]*$", flags=re.M)
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|const|mod|obj|exc):`(?P<target>[^`]+)`")


def _exists(obj: griffe.Object, path: str) -> bool:
    try:
        obj.modules_collection.get_member(path)
    except KeyError:
        return False
    return True


def _lookup(obj: griffe.Object, name: str) -> str | None:
    """The path ``name`` means in ``obj``'s scope, or ``None`` when it names nothing known."""
    if _exists(obj, name):  # a full path, ``coordbias.data.FolderDataset``
        return name
    head, dot, rest = name.partition(".")
    try:
        base = obj.resolve(head)  # a name in scope (a member, an import), as Python would
    except (griffe.NameResolutionError, ValueError):
        return None
    path = f"{base}{dot}{rest}"
    if not dot or _exists(obj, path) or not base.startswith(obj.package.name + "."):
        return path  # found, or outside this package (torch's objects: shown, not checked)
    return None


def rewrite(obj: griffe.Object, text: str) -> str:
    """``obj``'s docstring ``text`` as mkdocstrings should read it (see the module)."""

    def replace(match: re.Match) -> str:
        target = match.group("target").strip()
        shown = target.split(".")[-1] if target.startswith("~") else target
        target = target.lstrip("~!")
        path = _lookup(obj, target)
        if path is None:
            if target.split(".")[0] == obj.package.name or "." not in target:
                where = f"{obj.relative_filepath}:{obj.lineno or 1}"
                _logger.warning(f"{where}: {match.group(0)} in {obj.path} names no known object")
            return f"`{shown}`"
        return f'<autoref identifier="{path}" optional><code>{shown}</code></autoref>'

    return EXAMPLE_HEADER.sub(r"\1Examples:", ROLE.sub(replace, text))


def _documented(obj: griffe.Object) -> Any:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _documented(member)


class Napoleon(griffe.Extension):
    """Rewrites every docstring of a loaded package (see the module)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _documented(pkg):
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj, obj.docstring.value)
