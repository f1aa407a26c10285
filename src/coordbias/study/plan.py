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


def recorded_config(run_dir: Path) -> dict[str, Any]:
    """The fields in ``run_dir/config.yaml`` (empty when there is none)."""
    import yaml

    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    recorded = yaml.safe_load(path.read_text()) or {}
    return recorded if isinstance(recorded, dict) else {}


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
        """Whether the run finished as planned: its ``result.json`` exists and it trained the
        planned epochs (a run of fewer epochs trains further when resumed)."""
        if not (self.run_dir / "result.json").is_file():
            return False
        recorded = recorded_config(self.run_dir)
        return recorded.get("epochs", self.config.epochs) == self.config.epochs


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
