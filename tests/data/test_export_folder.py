"""Export to PNG folders and load back: equal to on the fly; clear errors for bad folders."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from coordbias.data import CirclesConfig, CirclesDataset, FolderDataset, export_dataset

SMALL = CirclesConfig(image_size=32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("circles")
    export_dataset(out, SMALL, train=6, val=4, seed=2, progress=False)
    return out


def test_layout_and_file_formats(exported):
    for split, count in (("train", 6), ("val", 4)):
        names = sorted(p.name for p in (exported / split / "images").iterdir())
        assert names == [f"{i:06d}.png" for i in range(count)]
        with Image.open(exported / split / "images" / "000000.png") as image:
            assert image.mode == "RGB" and image.size == (32, 32)
        with Image.open(exported / split / "masks" / "000000.png") as mask:
            assert mask.mode == "L" and mask.size == (32, 32)
    assert not list(exported.rglob("*.tmp"))


def test_export_then_load_equals_on_the_fly(exported):
    for split in ("train", "val"):
        folder = FolderDataset(exported, split=split)
        live = CirclesDataset(SMALL, split=split, length=len(folder), seed=2)
        for i in range(len(folder)):
            image, mask = folder[i]
            live_image, live_mask = live[i]
            assert image.dtype == torch.float32 and mask.dtype == torch.int64
            assert torch.equal(image, live_image)
            assert torch.equal(mask, live_mask)


def test_metadata_lists_every_circle_and_matches_the_masks(exported):
    meta = json.loads((exported / "metadata.json").read_text())
    assert meta["seed"] == 2 and meta["config"]["image_size"] == 32 and meta["version"]
    assert CirclesConfig.from_dict(meta["config"]) == SMALL
    samples = meta["splits"]["train"]["samples"]
    assert [s["index"] for s in samples] == list(range(6))
    for sample in samples:
        mask = np.asarray(Image.open(exported / "train" / "masks" / f"{sample['index']:06d}.png"))
        circles = sample["circles"]
        assert len(circles) == 3
        top = circles[-1]  # drawn last, so its centre pixel carries its class
        (cx, cy), r = top["center"], top["radius"]
        assert r >= 1 and top["color"] in ("yellow", "red")
        assert mask[cy, cx] == top["class"]


def test_export_does_not_depend_on_the_number_of_writer_threads(tmp_path, exported):
    export_dataset(tmp_path, SMALL, train=6, val=4, seed=2, workers=1, progress=False)
    for path in (exported / "train").rglob("*.png"):
        twin = tmp_path / path.relative_to(exported)
        assert twin.read_bytes() == path.read_bytes()


def test_non_empty_folder_is_refused_unless_overwrite(tmp_path):
    (tmp_path / "note.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="overwrite"):
        export_dataset(tmp_path, SMALL, train=1, val=1, progress=False)
    export_dataset(tmp_path, SMALL, train=3, val=1, progress=False, overwrite=True)
    # A smaller second export leaves no stale samples behind; other files stay.
    export_dataset(tmp_path, SMALL, train=2, val=1, progress=False, overwrite=True)
    assert len(FolderDataset(tmp_path, "train")) == 2
    assert (tmp_path / "note.txt").read_text() == "keep me"


def test_interrupted_overwrite_leaves_no_metadata_of_the_old_export(tmp_path):
    export_dataset(tmp_path, SMALL, train=2, val=1, progress=False)
    assert (tmp_path / "metadata.json").is_file()

    def stop(count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_dataset(tmp_path, SMALL, train=2, val=1, seed=5, progress=False,
                       overwrite=True, on_batch=stop)  # fmt: skip
    # metadata.json is written last: without it the folder does not pass for a finished export.
    assert not (tmp_path / "metadata.json").exists()


def _hashes(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "damage",
    ["killed in val", "killed in train, a temporary file left", "killed before any file"],
)
def test_an_export_killed_partway_is_finished_by_the_same_command(tmp_path, exported, damage):
    """What the refusal of a partial export says ("run it again") works as written."""
    out = tmp_path / "circles"
    calls = []

    def stop(count):
        calls.append(count)
        if len(calls) == (2 if damage == "killed in val" else 1):  # one batch per split here
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_dataset(out, SMALL, train=6, val=4, seed=2, progress=False, on_batch=stop)
    if damage == "killed before any file":
        for png in out.rglob("*.png"):
            png.unlink()
    if damage.endswith("left"):
        (out / "train" / "images" / ".000005.png.123.abcd.tmp").write_bytes(b"half")
    export_dataset(out, SMALL, train=6, val=4, seed=2, progress=False)  # no overwrite
    assert _hashes(out) == _hashes(exported)


def test_a_folder_with_other_files_is_still_refused(tmp_path):
    (tmp_path / "train" / "images").mkdir(parents=True)
    (tmp_path / "train" / "images" / "photo.jpg").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="overwrite"):
        export_dataset(tmp_path, SMALL, train=1, val=1, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"train": -1}, "train"), ({"seed": -1}, "seed"), ({"workers": 0}, "workers")],
)
def test_export_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        export_dataset(tmp_path / "x", SMALL, progress=False, **kwargs)


def _pair(root, name, image, mask, split="train"):
    for kind in ("images", "masks"):
        (root / split / kind).mkdir(parents=True, exist_ok=True)
    if image is not None:
        Image.fromarray(image).save(root / split / "images" / name)
    if mask is not None:
        Image.fromarray(mask, mode="L").save(root / split / "masks" / name)


def test_user_folder_loads(tmp_path):
    image = np.zeros((8, 12, 3), np.uint8)
    image[..., 0] = 255
    mask = np.zeros((8, 12), np.uint8)
    mask[2:4, 3:5] = 3
    _pair(tmp_path, "a.png", image, mask)
    data = FolderDataset(tmp_path, "train")
    got_image, got_mask = data[0]
    assert got_image.shape == (3, 8, 12) and torch.all(got_image[0] == 1)
    assert torch.equal(got_mask, torch.from_numpy(mask.astype(np.int64)))


def test_missing_pair_is_reported(tmp_path):
    _pair(tmp_path, "a.png", np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8))
    _pair(tmp_path, "b.png", np.zeros((8, 8, 3), np.uint8), None)
    with pytest.raises(ValueError, match=r"no mask.*b\.png"):
        FolderDataset(tmp_path, "train")


def test_size_mismatch_is_reported(tmp_path):
    _pair(tmp_path, "a.png", np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9), np.uint8))
    data = FolderDataset(tmp_path, "train")
    with pytest.raises(ValueError, match="size mismatch"):
        data[0]
    with pytest.raises(ValueError, match="size mismatch"):
        data.validate()


def test_label_outside_the_classes_is_reported(tmp_path):
    mask = np.zeros((8, 8), np.uint8)
    mask[0, 0] = 4
    _pair(tmp_path, "a.png", np.zeros((8, 8, 3), np.uint8), mask)
    with pytest.raises(ValueError, match=r"label 4, outside \[0, 4\)"):
        FolderDataset(tmp_path, "train")[0]
    assert int(FolderDataset(tmp_path, "train", num_classes=5)[0][1].max()) == 4


def test_missing_folders_and_empty_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="images folder"):
        FolderDataset(tmp_path, "train")
    (tmp_path / "val" / "images").mkdir(parents=True)
    (tmp_path / "val" / "masks").mkdir()
    with pytest.raises(ValueError, match="no PNG pairs"):
        FolderDataset(tmp_path, "val")
    with pytest.raises(ValueError, match="split"):
        FolderDataset(tmp_path, "everything")
    with pytest.raises(ValueError, match="num_classes"):
        FolderDataset(tmp_path, "val", num_classes=0)


def test_rgb_mask_is_refused(tmp_path):
    _pair(tmp_path, "a.png", np.zeros((8, 8, 3), np.uint8), None)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "train" / "masks" / "a.png")
    with pytest.raises(ValueError, match="mask mode 'RGB'"):
        FolderDataset(tmp_path, "train")[0]


def test_images_of_different_sizes_are_named(tmp_path):
    export_dataset(tmp_path / "a", CirclesConfig(image_size=16), train=2, val=1, progress=False)
    export_dataset(tmp_path / "b", CirclesConfig(image_size=24), train=1, val=1, progress=False)
    for kind in ("images", "masks"):  # a third pair of another size joins the first folder
        src = tmp_path / "b" / "train" / kind / "000000.png"
        src.rename(tmp_path / "a" / "train" / kind / "000009.png")
    assert FolderDataset(tmp_path / "a", "val").common_size() == (16, 16)
    with pytest.raises(ValueError, match=r"000009.png is 24x24 but 000000.png is 16x16"):
        FolderDataset(tmp_path / "a", "train").common_size()
