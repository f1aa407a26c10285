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
    config = replace(tiny_config, data_dir=str(folder), num_classes=6, epochs=1, own_data=True)
    result = train(config)
    assert len(result.metrics["recall"]) == 6
    assert len(result.metrics["confusion"]) == 6
    written = predict_files(result.run_dir, [folder / "val" / "images" / "000000.png"], tmp_path)
    assert written[0].is_file()


def test_num_classes_other_than_four_needs_a_folder(tiny_config):
    with pytest.raises(ValueError, match=r"num_classes=6 needs a --data folder"):
        replace(tiny_config, num_classes=6).validate()
    with pytest.raises(ValueError, match=r"num_classes=1 .*accepted: an integer >= 2"):
        replace(tiny_config, num_classes=1).validate()


def test_a_folder_without_metadata_needs_own_data(tiny_config, tmp_path):
    """An export killed partway has no metadata.json, just like a folder of one's own: only the
    user can tell them apart."""
    folder = tmp_path / "mine"
    _write_user_folder(folder, classes=4, size=16)
    config = replace(tiny_config, data_dir=str(folder), batch_size=1)
    with pytest.raises(ValueError, match=r"has no metadata\.json: .*--own-data \(own_data=True\)"):
        make_datasets(config)
    train_set, val_set = make_datasets(replace(config, own_data=True))
    assert (len(train_set), len(val_set)) == (3, 3)


def test_a_partial_or_changed_export_is_refused(tiny_config, tmp_path):
    folder = tmp_path / "export"
    export_dataset(folder, CirclesConfig(image_size=32), train=4, val=2, workers=1, progress=False)
    config = replace(tiny_config, data_dir=str(folder))
    assert [len(d) for d in make_datasets(config)] == [4, 2]
    for kind in ("images", "masks"):
        (folder / "val" / kind / "000001.png").unlink()
    with pytest.raises(ValueError, match=r"val holds 1 image/mask pairs but its metadata\.json"):
        make_datasets(config)
    assert [len(d) for d in make_datasets(replace(config, own_data=True))] == [4, 1]
    (folder / "metadata.json").unlink()
    with pytest.raises(ValueError, match=r"has no metadata\.json"):
        make_datasets(config)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda p: p.write_bytes(b""), "cannot identify image file"),
        (lambda p: p.write_text("not a png"), "cannot identify image file"),
        (lambda p: p.write_bytes(p.read_bytes()[:100]), "Truncated"),
    ],
)
def test_broken_files_are_named_before_training(tiny_config, tmp_path, damage, match):
    folder = tmp_path / "export"
    export_dataset(folder, CirclesConfig(image_size=32), train=2, val=1, workers=1, progress=False)
    damage(folder / "train" / "masks" / "000001.png")
    named = rf"mask '.*000001\.png' cannot be read as a PNG .*{match}"
    with pytest.raises(ValueError, match=named):
        make_datasets(replace(tiny_config, data_dir=str(folder), batch_size=1))
