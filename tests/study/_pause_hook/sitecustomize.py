"""A test hook: pause chosen training runs at a chosen optimizer step (test_study_parallel.py).

Python imports ``sitecustomize`` at start-up from the first folder of ``PYTHONPATH`` that holds
one; the tests put this folder first for the ``coordbias study`` processes they start (and so
for the fork server and the children those start). With ``COORDBIAS_TEST_PAUSE`` set to
``{"<run folder>": {"step": N, "marker": "<file>", "go": "<file>" | null}}``, the process that
trains that run writes its pid to ``marker`` right after optimizer step ``N`` and waits there
until the file ``go`` exists (with ``go`` null, until it is killed). Nothing else changes: the
hook wraps ``SegmentationModule.on_train_batch_end`` when that module is first imported, so a
process that never trains pays nothing.
"""

import importlib.abc
import importlib.util
import json
import os
import sys
import time

_SPEC = json.loads(os.environ.get("COORDBIAS_TEST_PAUSE") or "{}")
_TARGET = "coordbias.training.module"
_MAX_WAIT_S = 600.0


def _patch(module):
    cls = module.SegmentationModule
    original = getattr(cls, "on_train_batch_end", None)
    paused = set()

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if original is not None:
            original(self, outputs, batch, batch_idx)
        run_dir = os.path.abspath(self.trainer.default_root_dir)
        spec = _SPEC.get(run_dir)
        if spec is None or run_dir in paused or self.trainer.global_step < spec["step"]:
            return
        paused.add(run_dir)
        with open(spec["marker"] + ".tmp", "w") as handle:
            handle.write(str(os.getpid()))
        os.replace(spec["marker"] + ".tmp", spec["marker"])
        deadline = time.monotonic() + _MAX_WAIT_S
        while not (spec["go"] and os.path.exists(spec["go"])):
            if time.monotonic() > deadline:
                os._exit(3)  # the test is gone: do not linger
            time.sleep(0.05)

    cls.on_train_batch_end = on_train_batch_end


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module):
            run(module)
            _patch(module)

        loader.exec_module = exec_module
        return spec


if _SPEC:
    sys.meta_path.insert(0, _Finder())
