"""What a study will do, before it does it: ``plan_study`` and its ``StudyPlan`` of runs
(``RunSpec``).

``plan_study`` resolves the preset, variants, seeds, overrides and experiments into a plan and
writes nothing; ``coordbias.study.runner`` carries it out, ``coordbias.study.estimate`` costs it,
and the report's modules (results, figures, markdown) read it back. They import these types
from here, so the report never imports the runner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coordbias._util.errors import UserError, UserValueError, check_readable_file
from coordbias._util.experiment import resolve_seeds
from coordbias.models.variants import resolve_variants
from coordbias.study.presets import StudyPreset, coerce_overrides, get_preset, run_config
from coordbias.training.config import read_run_config
from coordbias.training.run import CONFIG_FILE, RESULT_FILE, TrainResult


def recorded_config(run_dir: Path) -> dict[str, Any]:
    """The fields ``run_dir/config.yaml`` records, validated (``read_run_config``); empty when
    there is none or it is damaged (``config_damage`` says why: the run then counts as unfinished
    and its training, which checks the folder against its checkpoints, decides what is safe).

    Raises:
        UserValueError: the file is there but cannot be read (a permission): not damage.
    """
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        return {}
    check_readable_file(path, "the run's")
    try:
        return read_run_config(path).to_dict()
    except UserError:  # damaged: a wrong value (UserValueError) or type (UserTypeError)
        return {}


def config_damage(run_dir: Path) -> str | None:
    """Why ``run_dir/config.yaml`` is damaged (cut short, not YAML, lacking or holding wrong
    fields), or ``None`` when it is whole or absent."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        read_run_config(path)
    except UserError as error:
        return str(error)
    return None


#: What the study reads of an evaluation (a run's ``metrics``, each transfer size's).
_METRICS = {"recall": list, "miou": (int, float), "pixel_accuracy": (int, float)}


def metrics_damage(metrics: Any) -> str | None:
    """What an evaluation dict lacks of what the study reads (``None``: nothing)."""
    if not isinstance(metrics, dict):
        return f"its metrics are a {type(metrics).__name__}, not a mapping"
    for key, kind in _METRICS.items():
        value = metrics.get(key)
        if isinstance(value, bool) or not isinstance(value, kind):
            return (
                f"its metrics hold no {key}"
                if value is None
                else f"its {key} is a {type(value).__name__}"
            )
    return None


def result_damage(run_dir: Path) -> str | None:
    """Why ``run_dir/result.json`` is damaged (``TrainResult.load``'s checks, and the metrics
    the study reads), or ``None`` when it is whole or absent."""
    path = run_dir / RESULT_FILE
    if not path.is_file():
        return None
    try:
        result = TrainResult.load(run_dir)
    except UserValueError as error:
        # Without the advice to train again with --resume: the study does that itself.
        return str(error).split("; train the run again")[0]
    why = metrics_damage(result.metrics)
    return f"{str(path)!r} is damaged ({why})" if why else None


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
        """Whether the run finished as planned: its ``result.json`` and ``config.yaml`` read
        whole and it trained the planned epochs (a run of fewer epochs trains further when
        resumed; a damaged record makes it unfinished)."""
        if not (self.run_dir / RESULT_FILE).is_file() or result_damage(self.run_dir):
            return False
        if config_damage(self.run_dir):
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


def _resolve_experiments(experiments: Sequence[str] | None, default: Sequence[str]) -> list[str]:
    from coordbias.study.presets import EXPERIMENTS

    names = list(default if experiments is None else experiments)
    for name in names:
        if name not in EXPERIMENTS:
            raise ValueError(f"experiments must be among {', '.join(EXPERIMENTS)}; got {name!r}")
    return names


def plan_study(
    preset: str | StudyPreset = "quick",
    out_dir: str | Path = "runs/study",
    *,
    seeds: int | Sequence[int] | None = None,
    variants: Sequence[str] | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    experiments: Sequence[str] | None = None,
) -> StudyPlan:
    """Resolve a study's runs without running or writing anything.

    Args:
        preset: ``quick``, ``seed``, ``full``, ``test`` or a ``StudyPreset``.
        out_dir: the study folder.
        seeds: a count (seeds 0..n-1) or a list of seeds; ``None``: the preset's count.
        variants: variant names (list or comma-separated); ``None``: the preset's.
        overrides: ``TrainConfig`` fields to change in every run (e.g. ``{"epochs": 1}``).
        experiments: experiments to run; ``None``: the preset's, ``[]``: none.

    Raises:
        ValueError: an unknown preset, variant, experiment or field, or an invalid value.
    """
    preset = get_preset(preset)
    out = Path(out_dir)
    names = resolve_variants(variants, preset.variants)
    seed_list = resolve_seeds(seeds, preset.seeds)
    clean = coerce_overrides(overrides)
    runs = []
    for name in names:
        for seed in seed_list:
            run_dir = out / "runs" / name / f"seed{seed}"
            config = run_config(preset, name, seed, run_dir, clean)
            runs.append(RunSpec(name, seed, run_dir, config))
    exps = _resolve_experiments(experiments, preset.experiments)
    return StudyPlan(preset, out, names, seed_list, runs, exps, clean)


def check_not_stale(run: RunSpec) -> None:
    """Refuse to reuse a run folder whose recorded settings differ from the plan's in a field
    that shapes the result (``coordbias.training.config.IDENTITY_FIELDS``, a smaller epochs)."""
    from coordbias.training.config import resume_conflicts

    conflicts = resume_conflicts(recorded_config(run.run_dir), run.config)
    if conflicts:
        raise UserValueError(
            f"{run.run_dir} holds a run with {'; '.join(conflicts)} by this study's plan; "
            "choose another --out or delete that folder"
        )
