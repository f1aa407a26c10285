"""Loading runs and checkpoints: clear errors for missing, corrupt and foreign files."""

import pytest
import torch

from coordbias.training import TrainConfig, build_model, load_run
from coordbias.training.checkpoint import check_same_model, load_model, save_model


def test_model_file_round_trip(tmp_path):
    config = TrainConfig(width=4, conv="coordbias")
    torch.manual_seed(1)
    model = build_model(config)
    save_model(tmp_path / "model.pt", model, config)
    loaded_config, loaded = load_run(tmp_path)
    assert loaded_config == config
    assert not loaded.training
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    assert not list(tmp_path.glob(".*.tmp"))


def test_missing_run_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_run(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"holds neither model\.pt nor checkpoints"):
        load_run(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a checkpoint at all", b"PK\x03\x04 truncated zip"],
    ids=["empty", "text", "zip"],
)
def test_corrupt_checkpoint(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"model\.pt' cannot be read .* corrupt"):
        load_model(path)


def test_truncated_checkpoint(tmp_path):
    config = TrainConfig(width=4)
    save_model(tmp_path / "model.pt", build_model(config), config)
    data = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot be read"):
        load_run(tmp_path)


def test_a_foreign_checkpoint_is_named(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="was not written by coordbias"):
        load_model(tmp_path / "other.pt")


@pytest.mark.parametrize(
    ("saved", "wanted"),
    [({"width": 8}, {"width": 16}), ({"conv": "vanilla"}, {"conv": "coordbias"})],
)
def test_weights_of_another_model_do_not_load(tmp_path, saved, wanted):
    saved_config = TrainConfig(**{"width": 8, **saved})
    wanted_config = TrainConfig(**{"width": 8, **wanted})
    save_model(tmp_path / "model.pt", build_model(saved_config), saved_config)
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    payload["config"] = wanted_config.to_dict()  # a file whose weights disagree with its config
    torch.save(payload, tmp_path / "lying.pt")
    with pytest.raises(ValueError, match=r"does not fit this model.*different architecture"):
        load_model(tmp_path / "lying.pt")
    field = next(iter(saved))
    with pytest.raises(ValueError, match=rf"different model: it was trained with {field}="):
        check_same_model(saved_config, wanted_config, tmp_path / "model.pt")
