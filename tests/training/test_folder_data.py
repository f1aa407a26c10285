"""Training from an image/mask folder (``data_dir``) instead of generated data."""

import pytest

from coordbias.data import CirclesConfig, export_dataset
from coordbias.training import make_datasets, train
from tests.training.helpers import replace


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


def _write_user_folder(root, classes, size=16, count=3):
    """A user's own data: noise images whose masks use every class 0..classes-1."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        (root / split / "images").mkdir(parents=True)
        (root / split / "masks").mkdir(parents=True)
        for i in range(count):
            image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            mask = (np.arange(size * size).reshape(size, size) + i) % classes
            Image.fromarray(image).save(root / split / "images" / f"{i:06d}.png")
            Image.fromarray(mask.astype(np.uint8), mode="L").save(
                root / split / "masks" / f"{i:06d}.png"
            )


def test_a_user_folder_with_six_classes_trains_evaluates_and_predicts(tiny_config, tmp_path):
    from coordbias.training.predict import predict_files

    folder = tmp_path / "mine"
    _write_user_folder(folder, classes=6)
    config = replace(tiny_config, data_dir=str(folder), num_classes=6, epochs=1)
    result = train(config)
    assert len(result.metrics["recall"]) == 6
    assert len(result.metrics["confusion"]) == 6
    written = predict_files(result.run_dir, [folder / "val" / "images" / "000000.png"], tmp_path)
    assert written[0].is_file()


def test_num_classes_other_than_four_needs_a_folder(tiny_config):
    with pytest.raises(ValueError, match=r"num_classes=6 needs a --data folder"):
        replace(tiny_config, num_classes=6).validate()
    with pytest.raises(ValueError, match=r"num_classes=1 must be at least 2"):
        replace(tiny_config, num_classes=1).validate()
