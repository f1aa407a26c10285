"""The benchmark: every way of giving a CNN position (the study's variants that change the
convolution) on every task, over seeds, in one table.

Why a command of its own (``coordbias benchmark``) rather than a preset of ``coordbias study``:
a study run is one ``TrainConfig`` of the circles FCN trained with Lightning, and the study's
report is about that one task; a benchmark cell is a method on one of several tasks with
different networks and metrics (segmentation, Not-so-Clevr classification and regression), and
its report is one table. Both go through the same machinery of units of work
(``coordbias.study.tasks``: the cell is a ``CellTask``, with its lock, its folder and
``execute_task``) and launchers (``coordbias.study.launch``: ``--jobs``, child processes,
resuming from disk), so only what differs is new.

- :mod:`.spec`: the tasks, the methods (taken from the study's variants), the scales;
- :mod:`.nets`: each task's network for a method; :mod:`.cells`: one cell, and the timing;
- :mod:`.table`: the table from disk, with the study's statistics; :mod:`.report`: ``report.md``;
- :mod:`.run`: :func:`plan_benchmark`, :func:`run_benchmark`.
"""

from coordbias.study.benchmark.run import (
    BenchmarkFailed,
    BenchmarkPlan,
    plan_benchmark,
    run_benchmark,
)
from coordbias.study.benchmark.spec import (
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
