"""Checks shared by the export tests of the CoordConv and the position layers.

Each exports ``module`` with dynamic spatial sizes at the input ``x`` and compares the program
with eager at ``x`` and at ``y``, a second size: a size baked in as a constant would fail at ``y``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.export import Dim


def assert_export_matches_eager(module, x, y, *, rtol=1e-5, atol=1e-5):
    """``torch.export`` with every spatial dim dynamic, then the program against eager."""
    # AUTO lets export add the convolution's own constraints (e.g. an input no smaller than the
    # kernel without padding) instead of failing on them.
    spatial = {i: Dim.AUTO for i in range(2, x.dim())}
    program = torch.export.export(module, (x,), dynamic_shapes=({**spatial},))
    exported = program.module()
    for inp in (x, y):
        torch.testing.assert_close(exported(inp), module(inp), rtol=rtol, atol=atol)


def assert_onnx_matches_eager(module, x, y, path: Path, *, rtol=1e-5, atol=1e-5):
    """The dynamo ONNX exporter with dynamic spatial sizes, run in onnxruntime against eager."""
    import onnxruntime  # in the dev extra

    spatial = {i: f"s{i}" for i in range(2, x.dim())}
    program = torch.onnx.export(
        module, (x,), dynamo=True, dynamic_shapes=({**spatial},), input_names=["x"], verbose=False
    )
    program.save(str(path))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for inp in (x, y):
        (out,) = session.run(None, {"x": inp.numpy()})
        torch.testing.assert_close(torch.from_numpy(out), module(inp), rtol=rtol, atol=atol)
