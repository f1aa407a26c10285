"""``coordbias data generate`` and ``coordbias data show`` through the CLI's main()."""

import json

from PIL import Image

from coordbias.cli.main import main


def test_generate_writes_the_layout_and_refuses_a_non_empty_dir(tmp_path, capsys):
    out = tmp_path / "circles"
    args = ["data", "generate", "--out", str(out), "--size", "32", "--train", "3", "--val", "2"]
    assert main([*args, "--seed", "4", "--no-progress"]) == 0
    assert len(list((out / "train" / "images").glob("*.png"))) == 3
    assert len(list((out / "val" / "masks").glob("*.png"))) == 2
    assert json.loads((out / "metadata.json").read_text())["seed"] == 4
    before = (out / "train" / "images" / "000000.png").read_bytes()

    assert main([*args, "--seed", "5", "--no-progress"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "train" / "images" / "000000.png").read_bytes() == before

    assert main([*args, "--seed", "5", "--no-progress", "--overwrite"]) == 0
    assert (out / "train" / "images" / "000000.png").read_bytes() != before


def test_generate_rejects_a_bad_size(tmp_path, capsys):
    code = main(["data", "generate", "--out", str(tmp_path / "x"), "--size", "8", "--train", "1"])
    assert code == 2
    assert "image_size" in capsys.readouterr().err


def test_show_writes_a_png(tmp_path):
    out = tmp_path / "grid.png"
    assert main(["data", "show", "--out", str(out), "--count", "2", "--size", "32"]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG"
