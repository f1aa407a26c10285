"""Training from an image/mask folder (``data_dir``) instead of generated data."""

import pytest

from coordbias.data import CirclesConfig, export_dataset
from coordbias.training import make_datasets, train
from tests.training.conftest import replace


def test_an_exported_folder_trains_like_the_generated_data(tiny_config, tmp_path):
    config = replace(tiny_config, train_size=8, val_size=4, epochs=1)
    folder = tmp_path / "exported"
    export_dataset(
        folder,
        CirclesConfig(image_size=config.image_size),
        train=8,
        val=4,
        seed=config.data_seed,
        workers=1,
        progress=False,
    )
    generated = train(config)
    from_folder = train(replace(config, data_dir=str(folder), out_dir=str(tmp_path / "folder")))
    # Exported PNGs hold the 8-bit samples the generator yields, so the runs agree closely.
    assert from_folder.train_loss == pytest.approx(generated.train_loss, abs=1e-5)
    assert from_folder.metrics["confusion"] == generated.metrics["confusion"]


def test_folder_with_sizes_not_divisible_by_8_is_refused(tiny_config, tmp_path):
    folder = tmp_path / "odd"
    export_dataset(folder, CirclesConfig(image_size=36), train=1, val=1, workers=1, progress=False)
    with pytest.raises(ValueError, match=r"train images are 36 x 36; the FCN needs sides"):
        make_datasets(replace(tiny_config, data_dir=str(folder)))
