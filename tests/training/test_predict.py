"""evaluate_run and predict_files on a saved (untrained) model: inputs are checked early."""

import numpy as np
import pytest
import torch
from PIL import Image

import coordbias.training as training
from coordbias.training import TrainConfig, build_model
from coordbias.training.checkpoint import save_model
from coordbias.training.metrics import evaluate
from coordbias.training.predict import colorize, evaluate_run, predict_files, read_image


@pytest.fixture
def saved(tmp_path):
    config = TrainConfig(width=4, image_size=16, val_size=2, train_size=2)
    torch.manual_seed(0)
    save_model(tmp_path / "model.pt", build_model(config), config)
    return tmp_path / "model.pt"


def test_evaluate_is_exported_from_the_package():
    assert training.evaluate is evaluate


def test_read_image_gives_unit_range_rgb(tmp_path):
    pixels = np.zeros((8, 16), dtype=np.uint8)
    pixels[:, 8:] = 255
    Image.fromarray(pixels, mode="L").save(tmp_path / "grey.png")
    image = read_image(tmp_path / "grey.png")
    assert image.shape == (3, 8, 16) and image.dtype == torch.float32
    assert image[:, :, :8].max() == 0 and image[:, :, 8:].min() == 1


def test_colorize_uses_the_label_colours():
    from coordbias.data import CLASS_COLORS

    mask = torch.tensor([[3, 2, 1, 0]])
    rgb = colorize(mask)
    assert [tuple(c) for c in rgb[0]] == [
        tuple(int(255 * v) for v in CLASS_COLORS[k]) for k in (3, 2, 1, 0)
    ]


def test_predict_checks_its_inputs(saved, tmp_path):
    with pytest.raises(ValueError, match="images is empty"):
        predict_files(saved, [], tmp_path / "out")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"broken\.png' cannot be read"):
        predict_files(saved, [tmp_path / "broken.png"], tmp_path / "out")
    with pytest.raises(FileNotFoundError, match=r"image .*missing\.png' does not exist"):
        predict_files(saved, [tmp_path / "missing.png"], tmp_path / "out")


def test_predict_keeps_the_image_size(saved, tmp_path):
    Image.new("RGB", (24, 16), (200, 10, 10)).save(tmp_path / "wide.png")
    [written] = predict_files(saved, [tmp_path / "wide.png"], tmp_path / "out", device="cpu")
    assert np.asarray(Image.open(written)).shape == (16, 24, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": "test"}, r"split='test' is not supported; accepted: train, val"),
        ({"image_size": 20}, r"image_size=20 must be a positive multiple of 8"),
        ({"size": 0}, r"size=0 must be a positive integer"),
        ({"batch_size": 0}, r"batch_size=0"),
        ({"data_dir": "/no/such/dir"}, r"data_dir='/no/such/dir' is not a folder"),
    ],
)
def test_evaluate_run_checks_its_arguments(saved, kwargs, match):
    with pytest.raises(ValueError, match=match):
        evaluate_run(saved, **kwargs)


def test_evaluate_run_counts_every_pixel(saved, tmp_path):
    result = evaluate_run(saved, size=2, image_size=24, device="cpu", out=tmp_path / "e.json")
    assert sum(map(sum, result["metrics"]["confusion"])) == 2 * 24 * 24
    assert (tmp_path / "e.json").is_file()


def test_images_of_one_name_in_two_folders_keep_their_folders(saved, tmp_path):
    """a/x.png and b/x.png used to both write OUT/x.mask.png: the first mask was lost."""
    for folder, colour in (("a", (200, 10, 10)), ("b", (10, 10, 200))):
        (tmp_path / "in" / folder).mkdir(parents=True)
        Image.new("RGB", (16, 16), colour).save(tmp_path / "in" / folder / "x.png")
    images = [tmp_path / "in" / "a" / "x.png", tmp_path / "in" / "b" / "x.png"]
    written = predict_files(saved, images, tmp_path / "out", device="cpu")
    assert written == [tmp_path / "out" / "a" / "x.mask.png", tmp_path / "out" / "b" / "x.mask.png"]
    assert all(path.is_file() for path in written)
    flat = predict_files(saved, [images[0]], tmp_path / "flat", device="cpu")
    assert flat == [tmp_path / "flat" / "x.mask.png"]  # one folder: no subfolders


def test_two_images_for_one_mask_are_refused_before_anything_is_written(saved, tmp_path):
    Image.new("RGB", (16, 16)).save(tmp_path / "x.png")
    Image.new("RGB", (16, 16)).save(tmp_path / "x.jpg")
    with pytest.raises(ValueError, match=r"x\.png' and '.*x\.jpg' would both write the mask"):
        predict_files(saved, [tmp_path / "x.png", tmp_path / "x.jpg"], tmp_path / "out")
    with pytest.raises(ValueError, match=r"x\.png' is given twice"):
        predict_files(saved, [tmp_path / "x.png", tmp_path / "./x.png"], tmp_path / "out")
    assert not (tmp_path / "out").exists()
