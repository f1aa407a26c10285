"""What the benchmark compares: its tasks, its methods (the study's variants) and its scales.

- :data:`TASKS`: every task, its family (``circles``: segmentation of the circles data set;
  ``nsc_class`` / ``nsc_reg``: Liu et al.'s Not-so-Clevr coordinate classification and
  regression), the split or data variant, the metric and whether higher is better.
- :func:`benchmark_methods`: the methods are the study's variants that change only the
  convolution (:data:`coordbias.models.variants.VARIANTS` whose other model fields keep their
  defaults: encoder scope, no BatchNorm, the preset's padding), in their order. A variant added
  there (a new layer of the library) is a method here without a change of this code.
- :data:`SCALES`: how big each cell is (``quick``: the README's table; ``test``: seconds, for the
  tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from coordbias.models.variants import VARIANTS, variant_fields

__all__ = [
    "BASELINE",
    "SCALES",
    "TASKS",
    "BenchmarkScale",
    "TaskSpec",
    "benchmark_methods",
    "get_scale",
    "resolve_names",
]

#: The method every other is compared with (Welch's test, time ratio, added parameters).
BASELINE = "vanilla"


@dataclass(frozen=True)
class TaskSpec:
    """One task of the benchmark.

    Attributes:
        name: key in folders, tables and ``results.json``.
        family: ``"circles"``, ``"nsc_class"`` or ``"nsc_reg"``.
        variant: the circles task (:data:`coordbias.data.CIRCLES_TASKS`) or the Not-so-Clevr
            split (``"uniform"``, ``"quadrant"``).
        metric: the name of the reported metric.
        higher_is_better: the direction of ``metric``.
        description: one line for the report.
        outcome: ``"continuous"`` (reported as a mean with its 95 % interval) or ``"success"``
            (a bimodal outcome: a seed either solves the task or not; reported as the share of
            seeds that succeed and the median).
        success: the threshold of a success (``metric`` at least this when higher is better,
            below it otherwise); ``None`` for a continuous outcome.
        margin: the equivalence margin in the metric's units: a difference whose interval lies
            inside ``(-margin, margin)`` is a tie, not a finding.
    """

    name: str
    family: str
    variant: str
    metric: str
    higher_is_better: bool
    description: str
    outcome: str = "continuous"
    success: float | None = None
    margin: float = 0.0


def _task(name: str, family: str, variant: str, description: str) -> TaskSpec:
    metric, higher, outcome, success, margin = {
        "circles": ("mIoU", True, "continuous", None, 0.01),
        "nsc_class": ("test accuracy", True, "success", 0.99, 0.05),
        "nsc_reg": ("test error (px)", False, "success", 1.0, 0.5),
    }[family]
    return TaskSpec(name, family, variant, metric, higher, description, outcome, success, margin)


#: Every task, by name, in table order (read-only).
TASKS: Mapping[str, TaskSpec] = MappingProxyType(
    {
        t.name: t
        for t in (
            _task("circles", "circles", "circles", "the circles: classes by colour and position"),
            _task("colour", "circles", "colour", "the same images, classes by colour only"),
            _task(
                "shifted",
                "circles",
                "shifted",
                "colour classes, circles in the left half for training, the right half for test",
            ),
            _task(
                "nsc_class_uniform",
                "nsc_class",
                "uniform",
                "Not-so-Clevr: coordinates in, centre pixel out; a random quarter held out",
            ),
            _task(
                "nsc_class_quadrant",
                "nsc_class",
                "quadrant",
                "Not-so-Clevr classification, the bottom-right quadrant held out",
            ),
            _task(
                "nsc_reg_uniform",
                "nsc_reg",
                "uniform",
                "Not-so-Clevr: one-hot image in, coordinates out; a random quarter held out",
            ),
            _task(
                "nsc_reg_quadrant",
                "nsc_reg",
                "quadrant",
                "Not-so-Clevr regression, the bottom-right quadrant held out",
            ),
        )
    }
)


def benchmark_methods() -> list[str]:
    """The study's variants that change the convolution alone, in the registry's order.

    Example:
        >>> benchmark_methods()[:3]
        ['vanilla', 'coordbias', 'coordconv']
    """
    out = []
    for name, variant in VARIANTS.items():
        fields = variant_fields(name)
        if fields["conv_scope"] != "encoder" or fields["batch_norm"]:
            continue
        if "padding_mode" in variant.model:
            continue
        out.append(name)
    return out


@dataclass(frozen=True)
class BenchmarkScale:
    """How big each cell of the benchmark is.

    Attributes:
        name: ``quick`` or ``test``.
        description: one line for ``--help`` and the report.
        seeds: seeds per cell by default (0..seeds-1).
        image_size: side of the circles images (training and test).
        width: FCN width ``w`` on the circles tasks.
        train_size: training images of a circles task.
        test_size: test images of a circles task.
        batch_size: batch of the circles tasks.
        lr: Adam learning rate of the circles tasks.
        epochs: epochs of the circles tasks.
        transfer_size: the other resolution every circles cell is evaluated at.
        transfer_test_size: test images at that resolution.
        nsc_width: hidden channels of the Not-so-Clevr networks.
        nsc_epochs: epochs of the Not-so-Clevr tasks.
        nsc_batch_size: their batch (Liu et al.: 16).
        nsc_lr: their Adam learning rate (Liu et al.: 0.005).
        nsc_weight_decay: their Adam weight decay (Liu et al.: 1e-3).
        nsc_max_steps: stop each Not-so-Clevr run after this many steps (0: no limit).
        nsc_eval_size: evaluate on the first this many centres of each split (0: all of them).
        timing_rounds: interleaved rounds of the step-time measurement.
        timing_min_run_time: seconds each single timing runs for at least.
        threads_per_run: torch threads per cell (``coordbias.scheduler.launch.resolve_parallelism``
            runs ``cores // threads_per_run`` cells at once by default).
    """

    name: str
    description: str
    seeds: int = 3
    image_size: int = 64
    width: int = 8
    train_size: int = 1000
    test_size: int = 250
    batch_size: int = 8
    lr: float = 3e-3
    epochs: int = 2
    transfer_size: int = 96
    transfer_test_size: int = 100
    nsc_width: int = 8
    nsc_epochs: int = 2
    nsc_batch_size: int = 16
    nsc_lr: float = 0.005
    nsc_weight_decay: float = 1e-3
    nsc_max_steps: int = 0
    nsc_eval_size: int = 0
    timing_rounds: int = 7
    timing_min_run_time: float = 0.2
    threads_per_run: int = 1


#: The scales by name (read-only).
SCALES: Mapping[str, BenchmarkScale] = MappingProxyType(
    {
        "quick": BenchmarkScale(
            name="quick",
            description="every method x task x 3 seeds at the quick study's setting",
        ),
        "test": BenchmarkScale(
            name="test",
            description="seconds: tiny networks and data, for the tests",
            seeds=2,
            image_size=32,
            width=4,
            train_size=16,
            test_size=8,
            batch_size=4,
            lr=1e-2,
            epochs=1,
            transfer_size=48,
            transfer_test_size=4,
            nsc_width=4,
            nsc_epochs=1,
            nsc_max_steps=4,
            nsc_eval_size=32,
            timing_rounds=2,
            timing_min_run_time=0.01,
        ),
    }
)


def get_scale(name: str | BenchmarkScale) -> BenchmarkScale:
    """The scale called ``name`` (a :class:`BenchmarkScale` passes through).

    Raises:
        ValueError: an unknown name; the message lists the scales.
    """
    if isinstance(name, BenchmarkScale):
        return name
    if not isinstance(name, str) or name not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {name!r}")
    return SCALES[name]


def resolve_names(
    kind: str, names: list[str] | str | None, known: list[str] | tuple[str, ...]
) -> list[str]:
    """Check a list of method or task names (a list or one comma-separated string; ``None``:
    all of ``known``), keeping the order, without duplicates.

    Raises:
        ValueError: an unknown name or an empty list, naming ``kind`` and the known names.

    Example:
        >>> resolve_names("tasks", "colour,circles,colour", list(TASKS))
        ['colour', 'circles']
    """
    if names is None:
        return list(known)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    out: list[str] = []
    for name in names:
        if name not in known:
            raise ValueError(f"{kind} must be among {', '.join(known)}; got {name!r}")
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError(f"{kind} must name at least one of {', '.join(known)}; got none")
    return out
