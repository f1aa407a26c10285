"""coordbias.benchmark: every way of giving a CNN position (the network variants that change the
convolution) on every task, over seeds, in one table.

Why a command of its own (``coordbias benchmark``) rather than a preset of ``coordbias study``:
a study run is one ``TrainConfig`` of the circles FCN trained with Lightning, and the study's
report is about that one task; a benchmark cell is a method on one of several tasks with
different networks and metrics (segmentation, Not-so-Clevr classification and regression), and
its report is one table. Both run their work through the scheduler (``coordbias.scheduler``:
the cell is a :class:`~coordbias.benchmark.run.CellTask`, with its lock and its folder;
``--jobs``, child processes, resuming from disk), so only what differs is new. The benchmark and
the study import nothing of each other: what both use lies below them (the variants in
``coordbias.models.variants``, every network in the models registry, the one training loop
``coordbias.training.loop.fit``, the table writer and the statistics in ``coordbias.reporting``).

- :mod:`.spec`: the tasks, the methods (taken from the network variants), the scales;
- :mod:`.nets`: each task's network for a method; :mod:`.cells`: one cell, and the timing;
- :mod:`.table`: the table (summaries, comparisons, Holm, verdicts), with
  ``coordbias.reporting.stats``; :mod:`.figures`: the effects and the learning curves;
  :mod:`.report`: ``report.md`` (:func:`~coordbias.benchmark.report.write_report`);
- :mod:`.run`: the cell as a task (``CellTask``), :func:`plan_benchmark`, :func:`run_benchmark`.
"""

from coordbias.benchmark.run import (
    BenchmarkFailed,
    BenchmarkPlan,
    plan_benchmark,
    run_benchmark,
)
from coordbias.benchmark.spec import (
    BASELINE,
    SCALES,
    TASKS,
    BenchmarkScale,
    TaskSpec,
    benchmark_methods,
    get_scale,
)

__all__ = [
    "BASELINE",
    "SCALES",
    "TASKS",
    "BenchmarkFailed",
    "BenchmarkPlan",
    "BenchmarkScale",
    "TaskSpec",
    "benchmark_methods",
    "get_scale",
    "plan_benchmark",
    "run_benchmark",
]
