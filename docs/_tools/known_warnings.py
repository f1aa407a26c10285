"""Docstring warnings of the docs build that are known, listed exactly, and tolerated for now.

The docstrings of ``src/coordbias/layers/`` and ``src/coordbias/functional.py`` are being
rewritten in parallel (issue 12) as griffe-clean Google style: one name per ``Args:`` entry.
Until that lands, the build (``hooks.py``) logs these exact (file, message) pairs at INFO level
instead of failing; any other warning fails the strict build, and so does an entry here that no
longer occurs (delete it then).
"""

from __future__ import annotations

import re

KNOWN_WARNINGS: tuple[tuple[str, str], ...] = (
    (
        "src/coordbias/layers/coordbias.py",
        "Failed to get 'name: description' pair from "
        "'in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,'",
    ),
    (
        "src/coordbias/layers/coordbias.py",
        "Failed to get 'name: description' pair from "
        "'in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,'",
    ),
    (
        "src/coordbias/layers/functional.py",
        "No type or annotation for parameter 'stride, padding, dilation, groups'",
    ),
    (
        "src/coordbias/layers/functional.py",
        "Parameter 'stride, padding, dilation, groups' does not appear in the function signature",
    ),
    (
        "src/coordbias/layers/functional.py",
        "No type or annotation for parameter 'stride, padding, output_padding, groups, dilation'",
    ),
    (
        "src/coordbias/layers/functional.py",
        "Parameter 'stride, padding, output_padding, groups, dilation' does not appear in the "
        "function signature",
    ),
)

_RECORD = re.compile(r"^griffe: (?P<file>[^:]+):\d+: (?P<message>.*)$", flags=re.S)


def known_warning(message: str) -> tuple[str, str] | None:
    """The ``KNOWN_WARNINGS`` entry a logged warning (``griffe: FILE:LINE: TEXT``) is, if any."""
    match = _RECORD.match(message)
    if match is None:
        return None
    entry = (match.group("file"), match.group("message"))
    return entry if entry in KNOWN_WARNINGS else None
