"""coordbias.study: the study that compares coordinate-aware convolutions with controls.

``run_study(preset="quick", out_dir="runs/study", ...)`` trains every variant over several
seeds, evaluates resolution transfer, runs the open-question experiments and writes
``report.md``, ``report.html`` and ``results.json``; running it again resumes.
"""

from coordbias.models.variants import VARIANTS, Variant, get_variant
from coordbias.study.plan import StudyPlan, plan_study
from coordbias.study.presets import PRESETS, StudyPreset, get_preset
from coordbias.study.runner import run_study

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
