"""Shared by the tests of the study's experiments (speed, bn_gradients, notsoclevr): each runs
once on a tiny config, returns a JSON-able result, draws a figure and writes a report section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tiny_result_fixture(experiment, config, folder: str):
    """A module-scoped fixture ``(out, result)``: ``experiment.run`` with ``config``, seed 0."""

    @pytest.fixture(scope="module")
    def tiny_result(tmp_path_factory):
        out = tmp_path_factory.mktemp(folder)
        return out, experiment.run(out, config=config, seed=0)

    return tiny_result


def assert_documented_result(out: Path, result: dict, keys: tuple[str, ...]) -> None:
    """``result`` has ``keys``, is JSON-able, and its figure is a PNG written atomically."""
    for key in keys:
        assert key in result
    assert (out / result["figure"]).read_bytes()[:8] == PNG_SIGNATURE
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left
    json.dumps(result)


def assert_report_section(text: str, figure_link: str) -> None:
    """``text`` is a sub-section of the report's open questions that shows the figure."""
    assert text.startswith("### ")
    assert f"({figure_link})" in text
