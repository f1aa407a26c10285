"""The sample grid: a PNG with the labels in the original's colours."""

import numpy as np
import pytest
from PIL import Image

from coordbias.data import CirclesConfig
from coordbias.data.show import colorize, save_grid


def test_colorize_uses_the_class_colours():
    rgb = colorize(np.array([[0, 1], [2, 3]]))
    assert rgb.tolist() == [[[0, 0, 0], [1, 1, 0]], [[0, 0, 1], [1, 0, 0]]]


def test_grid_png_is_written(tmp_path):
    out = save_grid(tmp_path / "grid.png", CirclesConfig(image_size=32), count=3, seed=1)
    with Image.open(out) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[1] > pixels.shape[0]  # a wide grid, one column per sample
    # Pure blue (class 2) or pure yellow (class 1) label pixels appear somewhere.
    blue = np.all(pixels == (0, 0, 255), axis=-1).any()
    yellow = np.all(pixels == (255, 255, 0), axis=-1).any()
    assert blue or yellow


def test_grid_rejects_bad_counts_and_folders(tmp_path):
    with pytest.raises(ValueError, match="count"):
        save_grid(tmp_path / "g.png", count=0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_grid(tmp_path / "missing" / "g.png", count=1)


@pytest.mark.parametrize("name", ["g.txt", "g", "g.jpg", "g.png.bak"])
def test_a_name_that_is_not_a_png_is_refused_and_nothing_written(tmp_path, name):
    with pytest.raises(ValueError, match=r"does not end in \.png"):
        save_grid(tmp_path / name, count=1)
    assert not list(tmp_path.iterdir())


def test_an_upper_case_suffix_is_a_png(tmp_path):
    assert save_grid(tmp_path / "G.PNG", count=1, dpi=20).read_bytes()[:4] == b"\x89PNG"
