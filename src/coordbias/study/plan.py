"""What a study will do, before it does it: ``StudyPlan`` and its runs (``RunSpec``).

``coordbias.study.runner.plan_study`` builds a plan; the runner carries it out and the report's
modules (results, figures, markdown) read it back. They import these types from here, so the
report never imports the runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coordbias.study.presets import StudyPreset


@dataclass(frozen=True)
class RunSpec:
    """One planned training run.

    Attributes:
        variant: the variant name.
        seed: the run's seed.
        run_dir: ``DIR/runs/<variant>/seed<seed>``.
        config: the resolved ``TrainConfig``.
    """

    variant: str
    seed: int
    run_dir: Path
    config: Any

    @property
    def done(self) -> bool:
        """Whether the run finished: its ``result.json`` exists."""
        return (self.run_dir / "result.json").is_file()


@dataclass(frozen=True)
class StudyPlan:
    """Everything ``run_study`` will do, before it does it."""

    preset: StudyPreset
    out_dir: Path
    variants: list[str]
    seeds: list[int]
    runs: list[RunSpec]
    experiments: list[str]
    overrides: dict[str, Any]
