"""The study report: ``results.json``, figures, ``report.md`` and a self-contained ``report.html``.

:func:`write_report` puts together the four parts, one module each:

- :mod:`coordbias.study.results`: the ``results.json`` dict, built from what is on disk;
- :mod:`coordbias.study.figures`: the figures;
- :mod:`coordbias.study.markdown`: the Markdown text;
- :mod:`coordbias.study.html`: the HTML page with the figures inlined.

The names this module held before the split stay importable from here.
"""

from __future__ import annotations

from typing import Any

from coordbias._util.files import write_json, write_text
from coordbias.study.figures import (
    plot_coord_weights,
    plot_loss,
    plot_recall_bars,
    plot_transfer,
    plot_variant_predictions,
    write_figures,
)
from coordbias.study.html import render_html
from coordbias.study.markdown import render_markdown, reproduce_command
from coordbias.study.plan import StudyPlan
from coordbias.study.results import (
    CLASS_LABELS,
    COMPARISONS,
    ORIGINAL,
    TIMING_KEYS,
    build_results,
    collect,
    coord_weight_summary,
)

__all__ = [
    "CLASS_LABELS",
    "COMPARISONS",
    "ORIGINAL",
    "TIMING_KEYS",
    "build_results",
    "collect",
    "coord_weight_summary",
    "plot_coord_weights",
    "plot_loss",
    "plot_recall_bars",
    "plot_transfer",
    "plot_variant_predictions",
    "render_html",
    "render_markdown",
    "reproduce_command",
    "write_report",
]


def write_report(plan: StudyPlan, wall_time_s: float) -> dict[str, Any]:
    """Build ``results.json``, the figures, ``report.md`` and ``report.html`` from disk.

    Returns:
        The ``results.json`` dict.
    """
    out = plan.out_dir
    results = build_results(plan, wall_time_s)
    figures = write_figures(plan, results, collect(plan))
    text = render_markdown(plan, results, figures)
    write_json(out / "results.json", results)
    write_text(out / "report.md", text)
    write_text(out / "report.html", render_html(text, out, f"coordbias study ({plan.preset.name})"))
    return results
