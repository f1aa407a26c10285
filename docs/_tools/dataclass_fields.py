"""A griffe extension: dataclass fields written with the project's ``_f(default, help, ...)``.

``coordbias.training.TrainConfig`` declares each field as ``name: T = _f(default, "help")`` so
that the command line reads its help from the field's metadata. Read literally, the page would
show ``_f(...)`` calls as the defaults of the signature; with this extension it shows the
default itself, and the help text becomes the field's docstring.
"""

from __future__ import annotations

import ast
from typing import Any

import griffe

#: The name of the field helper (``coordbias.training.config._f``).
HELPER = "_f"


class FieldHelp(griffe.Extension):
    """Rewrites ``x: T = _f(default, "help", ...)`` to ``x: T = default`` with the help as docs."""

    def on_attribute_instance(
        self, *, node: ast.AST | griffe.ObjectNode, attr: griffe.Attribute, agent: Any, **kwargs
    ) -> None:
        call = getattr(node, "value", None)
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == HELPER
            and len(call.args) >= 2
        ):
            return
        attr.value = griffe.safe_get_expression(call.args[0], parent=attr.parent)
        help_text = call.args[1]
        if attr.docstring is None and isinstance(help_text, ast.Constant):
            attr.docstring = griffe.Docstring(
                str(help_text.value),
                lineno=attr.lineno,
                endlineno=attr.endlineno,
                parent=attr,
                parser=agent.docstring_parser,
                parser_options=agent.docstring_options,
            )
