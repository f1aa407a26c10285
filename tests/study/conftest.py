"""Fixtures of the study's launcher tests."""

import pytest

from coordbias.study import run_study
from tests.study.helpers import SETTING, metrics


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """``results.json`` (timings stripped) of ``helpers.SETTING``'s runs done one after another
    in this process at one torch thread: what every launcher must reproduce."""
    out = tmp_path_factory.mktemp("one_at_a_time")
    run_study("test", out, jobs=1, threads=1, log=lambda line: None, **SETTING)
    return metrics(out)
