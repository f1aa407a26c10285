"""Every precision TrainConfig offers runs end to end on the CPU (train, evaluate, predict, resume)
or is refused before training, naming what is accepted; what runs is what config.yaml records."""

import pytest
import torch
from PIL import Image

from coordbias._util.errors import UserValueError
from coordbias.training import TrainConfig, train
from coordbias.training.predict import evaluate_run, predict_files
from tests.training.helpers import TINY, replace

SMALL = {**TINY, "train_size": 8, "val_size": 4, "epochs": 1}


@pytest.mark.parametrize("precision", ["64-true", "16-true", "bf16-true"])
def test_a_precision_trains_evaluates_predicts_and_resumes(precision, tmp_path):
    config = TrainConfig(**SMALL, precision=precision, out_dir=str(tmp_path / "run"))
    result = train(config)
    assert result.metrics and len(result.val_loss) == 1
    assert TrainConfig.from_yaml(tmp_path / "run" / "config.yaml").precision == precision

    longer = train(replace(config, epochs=2, resume=True))
    assert len(longer.val_loss) == 2 and longer.val_loss[0] == result.val_loss[0]

    evaluated = evaluate_run(tmp_path / "run", size=2, out=tmp_path / "e.json")
    assert 0.0 <= evaluated["metrics"]["pixel_accuracy"] <= 1.0
    image = tmp_path / "x.png"
    Image.fromarray((torch.rand(32, 32, 3) * 255).byte().numpy()).save(image)
    assert [p.name for p in predict_files(tmp_path / "run", [image], tmp_path / "m")] == [
        "x.mask.png"
    ]


def test_float16_mixed_precision_is_refused_on_the_cpu_before_anything_is_written(tmp_path):
    config = TrainConfig(**SMALL, precision="16-mixed", out_dir=str(tmp_path / "run"))
    with pytest.raises(UserValueError, match=r"precision='16-mixed' needs a GPU.*bf16-mixed"):
        train(config)
    assert not (tmp_path / "run").exists()
