"""Sub-commands of ``coordbias`` for the study part (see coordbias.cli.main)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to ``subparsers``."""
