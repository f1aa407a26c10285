"""The README's Python example runs as written (the first thing a user copies)."""

import re
from pathlib import Path

import torch

import coordbias

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_layer_example_runs_and_says_what_it_does():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    assert namespace["y"].shape == (8, 16, 64, 96)
    assert namespace["conv"].coord_weight.shape == (16, 2)
    model = namespace["model"]
    assert isinstance(model[0], coordbias.CoordBiasConv2d)
    assert type(model[2]) is torch.nn.Conv2d  # excluded
    assert namespace["out"].shape == (1, 16, 32, 32)
