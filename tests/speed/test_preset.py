"""The data and training benchmarks measure at the quick training setting, the study's too."""

import pytest

from coordbias.cli.main import build_parser
from coordbias.study.presets import get_preset
from coordbias.training.settings import QUICK


@pytest.mark.parametrize("benchmark", ["data", "train"])
def test_the_benchmark_flags_default_to_the_quick_setting(benchmark):
    args = build_parser().parse_args(["speed", benchmark])
    assert (args.image_size, args.width, args.batch_size) == (
        QUICK["image_size"],
        QUICK["width"],
        QUICK["batch_size"],
    )


def test_the_quick_preset_trains_with_the_quick_setting():
    assert dict(get_preset("quick").train) == dict(QUICK)


def test_the_old_package_name_still_works_with_a_deprecation_warning():
    import coordbias.bench
    import coordbias.speed.layers

    with pytest.warns(DeprecationWarning, match="moved to coordbias.speed.layers"):
        assert coordbias.bench.layers is coordbias.speed.layers
