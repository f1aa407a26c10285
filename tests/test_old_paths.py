"""The module paths that moved still work for one release: each old module gives the new home's
names with a DeprecationWarning, and behaves as a module for a name neither has."""

from __future__ import annotations

import importlib
import warnings

import pytest

# (old module, new home, a name, its name in the new home)
MOVED = [
    ("coordbias.study.launch", "coordbias.scheduler.launch", "run_local", "run_local"),
    ("coordbias.study.cluster", "coordbias.scheduler.cluster", "ClusterOptions", "ClusterOptions"),
    ("coordbias.study.progress", "coordbias.scheduler.progress", "Progress", "Progress"),
    ("coordbias.study.stats", "coordbias.reporting.stats", "welch_test", "welch_test"),
    ("coordbias.study.variants", "coordbias.models.variants", "VARIANTS", "VARIANTS"),
    ("coordbias.data.tasks", "coordbias.data.circles_tasks", "circles_task", "circles_task"),
    (
        "coordbias.study.experiments.notsoclevr.models",
        "coordbias.training.notsoclevr",
        "build_model",
        "build_notsoclevr_model",
    ),
    (
        "coordbias.study.experiments.notsoclevr.models",
        "coordbias.training.notsoclevr",
        "TiledFCN",
        "TiledFCN",
    ),
]


@pytest.mark.parametrize(("old", "new", "name", "target"), MOVED, ids=lambda v: str(v))
def test_an_old_path_gives_the_new_homes_name_with_a_warning(old, new, name, target):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to {new}.{target}"):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), target)


@pytest.mark.parametrize("old", sorted({m[0] for m in MOVED}))
def test_an_unknown_name_is_an_attribute_error_without_a_warning(old):
    # pytest's doctest collection asks every module for pytest_plugins.
    module = importlib.import_module(old)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not hasattr(module, "pytest_plugins")
        assert not hasattr(module, "__wrapped__")


def test_from_import_of_an_old_path_works():
    with pytest.warns(DeprecationWarning):
        from coordbias.study.launch import resolve_parallelism
    from coordbias.scheduler.launch import resolve_parallelism as new

    assert resolve_parallelism is new
