"""The data and training benchmarks measure at the quick training setting, the study's too."""

import pytest

from coordbias.cli.main import build_parser
from coordbias.study.presets import get_preset
from coordbias.training.settings import QUICK


@pytest.mark.parametrize("benchmark", ["data", "train"])
def test_the_benchmark_flags_default_to_the_quick_setting(benchmark):
    args = build_parser().parse_args(["bench", benchmark])
    assert (args.image_size, args.width, args.batch_size) == (
        QUICK["image_size"],
        QUICK["width"],
        QUICK["batch_size"],
    )


def test_the_quick_preset_trains_with_the_quick_setting():
    assert dict(get_preset("quick").train) == dict(QUICK)
