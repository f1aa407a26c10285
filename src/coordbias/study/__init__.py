"""coordbias.study: the study that compares coordinate-aware convolutions with controls.

``run_study(preset="quick", out_dir="runs/study", ...)`` trains every variant over several
seeds, evaluates resolution transfer, runs the open-question experiments and writes
``report.md``, ``report.html`` and ``results.json``; running it again resumes.

The names below are imported on first use, so that the light modules of this package (the
presets, the experiments' names) leave torch unimported: the command line builds its parsers
from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coordbias._util.lazy import lazy_getattr

if TYPE_CHECKING:  # imported on first use (below); named here for type checkers and the API docs
    from coordbias.models.variants import VARIANTS, Variant, get_variant
    from coordbias.study.plan import StudyPlan, plan_study
    from coordbias.study.presets import PRESETS, StudyPreset, get_preset
    from coordbias.study.runner import run_study

#: Each public name and the module that defines it.
_HOMES = {
    "PRESETS": "coordbias.study.presets",
    "StudyPlan": "coordbias.study.plan",
    "StudyPreset": "coordbias.study.presets",
    "VARIANTS": "coordbias.models.variants",
    "Variant": "coordbias.models.variants",
    "get_preset": "coordbias.study.presets",
    "get_variant": "coordbias.models.variants",
    "plan_study": "coordbias.study.plan",
    "run_study": "coordbias.study.runner",
}

__all__ = [
    "PRESETS",
    "VARIANTS",
    "StudyPlan",
    "StudyPreset",
    "Variant",
    "get_preset",
    "get_variant",
    "plan_study",
    "run_study",
]


__getattr__ = lazy_getattr(globals(), _HOMES)
