"""Not-so-Clevr coordinate classification: data splits, models, run and report."""

import copy
import json

import pytest
import torch

from coordbias.study.experiments import notsoclevr as nsc

TINY = nsc.NotSoClevrConfig(
    width=2, epochs=2, batch_size=128, max_steps=3, models=("vanilla", "coordbias")
)


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("nsc")
    return out, nsc.run(out, config=TINY, seed=0)


def test_centres_cover_the_canvas_once():
    c = nsc.centres()
    assert c.shape == (3136, 2)
    assert len({tuple(p) for p in c.tolist()}) == 3136
    assert int(c.min()) == 4 and int(c.max()) == 59
    # a 9 x 9 square around every centre fits in the 64 x 64 canvas
    assert int(c.min()) - 4 >= 0 and int(c.max()) + 4 <= 63


def test_targets_are_the_centre_pixels():
    c = nsc.centres()
    t = nsc.targets(c)
    assert torch.equal(torch.stack([t // 64, t % 64], 1), c)


@pytest.mark.parametrize("split", nsc.SPLITS)
def test_splits_are_disjoint_and_complete(split):
    train, test = nsc.split_indices(split, seed=3)
    assert len(set(train.tolist()) & set(test.tolist())) == 0
    assert sorted(train.tolist() + test.tolist()) == list(range(3136))


def test_uniform_split_is_a_seeded_quarter():
    train, test = nsc.split_indices("uniform", seed=0)
    assert (len(train), len(test)) == (2352, 784)
    assert torch.equal(test, nsc.split_indices("uniform", seed=0)[1])
    assert not torch.equal(test, nsc.split_indices("uniform", seed=1)[1])


def test_quadrant_split_follows_the_rule():
    expected = sum(
        1 for i in range(4, 60) for j in range(4, 60) if (i - 4) / 55 > 0.5 and (j - 4) / 55 > 0.5
    )
    train, test = nsc.split_indices("quadrant", seed=5)
    assert len(test) == expected
    c = nsc.centres()
    assert bool((c[test] >= 32).all())
    assert not bool(((c[train, 0] >= 32) & (c[train, 1] >= 32)).any())


@pytest.mark.parametrize("name", nsc.MODELS)
def test_models_output_one_logit_per_pixel(name):
    model = nsc.build_model(name, 2)
    out = model(nsc.encode(nsc.centres()[:3]))
    assert out.shape == (3, 4096)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_plain_tiled_net_cannot_tell_interior_positions_apart():
    # A constant input: only the border pixels differ, whatever the weights.
    model = nsc.build_model("vanilla", 4)
    logits = model(nsc.encode(torch.tensor([[30, 30]]))).reshape(64, 64)
    interior = logits[2:-2, 2:-2]
    assert torch.allclose(interior, interior[0, 0].expand_as(interior))


def test_run_returns_documented_keys_and_writes_figure(tiny_result):
    out, result = tiny_result
    for key in ("config", "split_sizes", "runs", "paper", "figure", "seconds", "seed"):
        assert key in result
    assert result["split_sizes"]["uniform"] == {"train": 2352, "test": 784}
    assert (out / result["figure"]).read_bytes()[:4] == b"\x89PNG"
    json.dumps(result)
    assert len(result["runs"]) == 4
    for r in result["runs"]:
        assert r["steps"] == 3
        assert 0.0 <= r["train_acc"] <= 1.0 and 0.0 <= r["test_acc"] <= 1.0
        assert r["test_acc"] == r["test_acc_per_epoch"][-1]


def test_run_is_deterministic(tiny_result, tmp_path):
    _, result = tiny_result
    config = nsc.NotSoClevrConfig(
        width=2, epochs=1, batch_size=128, max_steps=3, models=("coordbias",)
    )
    again = nsc.train_one("coordbias", "uniform", config, seed=0)
    first = next(r for r in result["runs"] if r["model"] == "coordbias" and r["split"] == "uniform")
    assert again["final_loss"] == first["final_loss"]
    assert again["test_acc"] == first["test_acc"]


def test_markdown_uses_the_numbers(tiny_result):
    _, result = tiny_result
    text = nsc.markdown(result, "figs/")
    assert text.startswith("### ")  # a sub-section of the report's open questions
    assert "(figs/notsoclevr.png)" in text
    for r in result["runs"]:
        assert nsc.fmt_pct(r["test_acc"]) in text
    solved = copy.deepcopy(result)
    for r in solved["runs"]:
        r["test_acc"] = 1.0 if r["model"] == "coordbias" else 0.0
    assert "`coordbias` solves the task on both splits" in nsc.markdown(solved, "")
    assert "in line with the paper" in nsc.markdown(solved, "")


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="split"):
        nsc.split_indices("diagonal")
    with pytest.raises(ValueError, match="models"):
        nsc.run(tmp_path, config=nsc.NotSoClevrConfig(models=("resnet",)))
    with pytest.raises(TypeError, match="epochs"):
        nsc.run(tmp_path, config=nsc.NotSoClevrConfig(epochs=1.5))
