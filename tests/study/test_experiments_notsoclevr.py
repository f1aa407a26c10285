"""Not-so-Clevr coordinate classification: data splits, models, run and report."""

import copy
import dataclasses
import itertools
import json

import pytest
import torch

from coordbias.study.experiments import notsoclevr as nsc
from tests.study import _experiment_checks as checks

TINY = nsc.NotSoClevrConfig(
    width=2, epochs=2, batch_size=128, max_steps=3, models=("vanilla", "coordbias")
)


tiny_result = checks.tiny_result_fixture(nsc, TINY, "nsc")


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
    model = nsc.build_notsoclevr_model(name, 2)
    out = model(nsc.encode(nsc.centres()[:3]))
    assert out.shape == (3, 4096)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_plain_tiled_net_cannot_tell_interior_positions_apart():
    # A constant input: only the border pixels differ, whatever the weights.
    model = nsc.build_notsoclevr_model("vanilla", 4)
    logits = model(nsc.encode(torch.tensor([[30, 30]]))).reshape(64, 64)
    interior = logits[2:-2, 2:-2]
    assert torch.allclose(interior, interior[0, 0].expand_as(interior))


def test_run_returns_documented_keys_and_writes_figure(tiny_result):
    out, result = tiny_result
    keys = ("config", "split_sizes", "runs", "paper", "figure", "seconds", "seed")
    checks.assert_documented_result(out, result, keys)
    assert result["split_sizes"]["uniform"] == {"train": 2352, "test": 784}
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
    checks.assert_report_section(text, "figs/notsoclevr.png")
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


# ---------------------------------------------------------------------------------------------
# The deconvolution baselines: ours and Liu et al.'s, and the ablation between them
# ---------------------------------------------------------------------------------------------
def _deconv_params(chans, k, batch_norm):
    """Weights + biases of the transposed convolutions, BatchNorm's scale and shift."""
    convs = sum(k * k * a * b + b for a, b in itertools.pairwise(chans))
    return convs + (2 * sum(chans[1:-1]) if batch_norm else 0)


@pytest.mark.parametrize(("width", "mul"), [(16, 1), (32, 2)])
def test_deconv_paper_matches_liu_et_al_layer_list(width, mul):
    # their DeconvPainter: 64*mul, 64*mul, 64*mul, 32*mul, 32*mul, 1 channels, 3x3, BatchNorm
    chans = [2, 64 * mul, 64 * mul, 64 * mul, 32 * mul, 32 * mul, 1]
    model = nsc.build_notsoclevr_model("deconv_paper", width)
    n = sum(p.numel() for p in model.parameters())
    assert n == _deconv_params(chans, 3, True)
    assert n == {1: 103_585, 2: 409_921}[mul]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 5


def test_deconv_is_ours_without_batchnorm():
    model = nsc.build_notsoclevr_model("deconv", 16)
    assert sum(p.numel() for p in model.parameters()) == _deconv_params([2] + [16] * 5 + [1], 4, 0)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


@pytest.mark.parametrize("kernel", [3, 4])
def test_every_transposed_convolution_doubles_the_side(kernel):
    spec = nsc.DeconvRecipe(channels=(3,) * 5, kernel=kernel)
    model = nsc.DeconvNet(spec)
    x = nsc.encode(nsc.centres()[:2])[:, :, None, None]
    for layer in model.layers:
        y = nsc.upsample(layer, x)
        assert y.shape[-2:] == (2 * x.shape[-2], 2 * x.shape[-1])
        x = torch.relu(y)


def test_kernel_3_follows_tensorflow_same_alignment():
    # TensorFlow's 'same' transposed convolution: input row o reaches rows 2o .. 2o + 2, the
    # row past the end is cut (PyTorch's padding=1, output_padding=1 would reach 2o - 1 .. 2o + 1)
    layer = torch.nn.ConvTranspose2d(1, 1, 3, stride=2)
    torch.nn.init.ones_(layer.weight)
    torch.nn.init.zeros_(layer.bias)
    for o, rows in ((0, [0, 1, 2]), (3, [6, 7])):
        x = torch.zeros(1, 1, 4, 4)
        x[0, 0, o, 0] = 1.0
        with torch.no_grad():
            y = nsc.upsample(layer, x)[0, 0]
        assert torch.nonzero(y.sum(1)).flatten().tolist() == rows


def test_pixel_input_feeds_the_centre_pixel_coordinates():
    c = nsc.centres()[[0, 1000, 3135]]
    for pixel_input, expected in ((True, c.float()), (False, nsc.encode(c))):
        model = nsc.DeconvNet(nsc.DeconvRecipe(channels=(3,) * 5, pixel_input=pixel_input))
        seen: list[torch.Tensor] = []
        model.layers[0].register_forward_pre_hook(lambda _m, args, seen=seen: seen.append(args[0]))
        model(nsc.encode(c))
        assert torch.allclose(seen[0].flatten(1), expected, atol=1e-5)


def test_he_init_follows_tensorflow_fan_in_and_zero_biases():
    torch.manual_seed(0)
    model = nsc.DeconvNet(nsc.DeconvRecipe(channels=(64,) * 5, kernel=3, he_init=True))
    for layer in model.layers:
        std = (2.0 / (layer.out_channels * 9)) ** 0.5
        w = layer.weight.detach()
        assert float(w.abs().max()) <= 2 * std + 1e-7
        assert float(w.std()) == pytest.approx(0.88 * std, rel=0.2 if w.numel() > 500 else 0.6)
        assert not layer.bias.any()


def test_recipe_optimizer_puts_l2_on_the_kernels_only():
    model = nsc.build_notsoclevr_model("deconv_paper", 2)
    opt = nsc.make_optimizer(model, 0.005, 1e-3, nsc.recipe("deconv_paper", 2))
    kernels, others = opt.param_groups
    assert all(p.dim() == 4 for p in kernels["params"]) and len(kernels["params"]) == 6
    assert kernels["weight_decay"] == pytest.approx(2e-3) and others["weight_decay"] == 0.0
    assert kernels["lr"] == 0.01 and kernels["betas"] == (0.9, 0.99)
    (ours,) = nsc.make_optimizer(model, 0.005, 1e-3, nsc.recipe("deconv", 2)).param_groups
    assert (ours["lr"], ours["weight_decay"], ours["betas"]) == (0.005, 1e-3, (0.9, 0.999))


def test_bad_recipes_raise_clear_errors():
    with pytest.raises(ValueError, match="channels"):
        nsc.DeconvRecipe(channels=(4, 4))
    with pytest.raises(ValueError, match="kernel"):
        nsc.DeconvRecipe(channels=(4,) * 5, kernel=5)
    with pytest.raises(ValueError, match="beta2"):
        nsc.DeconvRecipe(channels=(4,) * 5, beta2=1.0)
    with pytest.raises(ValueError, match="deconv_paper"):
        nsc.recipe("vanilla", 4)


def test_baselines_train_for_their_own_epochs_and_drop_the_lr():
    config = nsc.NotSoClevrConfig(
        width=2, epochs=1, batch_size=2352, baseline_epochs=3, baseline_lr_drop=2
    )
    deconv = nsc.train_one("deconv", "uniform", config, seed=0)
    plain = nsc.train_one("vanilla", "uniform", config, seed=0)
    assert (deconv["steps"], len(deconv["test_acc_per_epoch"])) == (3, 3)
    assert deconv["final_lr"] == pytest.approx(config.lr / 10)
    assert (plain["steps"], plain["final_lr"]) == (1, config.lr)
    assert nsc.FULL.epochs_of("deconv") > nsc.FULL.epochs_of("coordconv")
    assert nsc.QUICK.epochs_of("deconv") == nsc.QUICK.epochs
    with pytest.raises(ValueError, match="baseline_lr_drop"):
        nsc.NotSoClevrConfig(baseline_epochs=3, baseline_lr_drop=3).validate()
    with pytest.raises(TypeError, match="baseline_epochs"):
        nsc.NotSoClevrConfig(baseline_epochs=2.5).validate()


@pytest.mark.parametrize("name", nsc.MODELS)
def test_every_model_comes_from_the_registry(name):
    from coordbias.models import create_model

    torch.manual_seed(0)
    model = nsc.build_notsoclevr_model(name, 2)
    torch.manual_seed(0)
    if name in nsc.BASELINES:
        same = create_model("deconv_painter", **nsc.recipe(name, 2).network_settings())
    else:
        same = create_model("tiled_fcn", conv=name, width=2)
    assert type(model) is type(same)
    for (key, a), (_, b) in zip(model.state_dict().items(), same.state_dict().items(), strict=True):
        assert torch.equal(a, b), key
    # The ablation's recipe, too: a DeconvNet of a recipe is the registry's painter of its fields.
    spec = nsc.DeconvRecipe(channels=(3,) * 5, kernel=3, he_init=True)
    torch.manual_seed(1)
    ablated = nsc.build_notsoclevr_model("deconv", 2, spec)
    torch.manual_seed(1)
    assert torch.equal(ablated.layers[0].weight, nsc.DeconvNet(spec).layers[0].weight)


def test_a_run_is_the_one_loops_run_with_liu_et_als_protocol():
    # The experiment's run, redone by hand through coordbias.training.loop.fit: the seeded model,
    # the optimiser, batch order seed + 1, no model selection (the last epoch is tested).
    from coordbias.training.loop import fit

    config = nsc.NotSoClevrConfig(width=2, epochs=2, batch_size=512)
    got = nsc.train_one("coordbias", "quadrant", config, seed=3)
    c = nsc.centres()
    train_idx, test_idx = nsc.split_indices("quadrant", 3)
    train_c, test_c = c[train_idx], c[test_idx]
    torch.manual_seed(3)
    model = nsc.build_notsoclevr_model("coordbias", 2)
    run = fit(
        model,
        nsc.make_optimizer(model, config.lr, config.weight_decay),
        lambda m, idx: torch.nn.functional.cross_entropy(
            m(nsc.encode(train_c[idx])), nsc.targets(train_c[idx])
        ),
        len(train_c),
        lambda m: {"test_acc": nsc.accuracy(m, test_c)},
        batch_size=512,
        max_epochs=2,
        seed=4,
        monitor=None,
    )
    assert got["steps"] == run.steps == 2 * -(-len(train_c) // 512)
    assert got["test_acc_per_epoch"] == [row["test_acc"] for row in run.curve]
    assert got["train_acc"] == nsc.accuracy(model, train_c)


def test_ablation_stores_resumes_and_tabulates(tmp_path):
    config = nsc.NotSoClevrConfig(width=16, batch_size=512, max_steps=1)
    path = tmp_path / "abl" / "runs.json"
    lines = []
    runs = nsc.ablation(path, rows=(2, 3), seeds=(0,), config=config, log=lines.append)
    assert [r["label"] for r in runs] == [nsc.ABLATION[2][0], nsc.ABLATION[3][0]]
    assert runs[1]["recipe"]["batch_norm"] and not runs[0]["recipe"]["batch_norm"]
    assert all(r["steps"] == 1 for r in runs) and len(lines) == 2
    stored = json.loads(path.read_text())
    assert len(stored) == 2
    again = nsc.ablation(path, rows=(2, 3), seeds=(0,), config=config, log=lines.append)
    assert len(lines) == 2 and again == runs  # resumed: nothing trained twice
    text = nsc.ablation_markdown(runs)
    assert nsc.ABLATION[3][0] in text and nsc.fmt_pct(runs[1]["test_acc"]) in text
    with pytest.raises(ValueError, match="rows"):
        nsc.ablation(path, rows=(99,), config=config)


def test_ablation_rows_change_one_thing_from_the_reference():
    _, changes, epochs, drop = nsc.ABLATION[2]
    assert (changes, epochs, drop) == (
        {},
        nsc.ABLATION_BASE["epochs"],
        nsc.ABLATION_BASE["lr_drop"],
    )
    for _, changes, epochs, drop in nsc.ABLATION[3:-2]:
        assert len(changes) == 1 and (epochs, drop) == (60, 45)
    assert nsc.ABLATION[-1][1] == dataclasses.asdict(nsc.recipe("deconv_paper", 16))


def test_ablation_command_rejects_a_bad_row(tmp_path, capsys):
    # A coordbias sub-command: the command line's one boundary reports the user's mistake.
    from coordbias.cli.main import main

    assert main(["notsoclevr-ablation", str(tmp_path / "x.json"), "--rows", "99"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coordbias notsoclevr-ablation: error: rows must be indices 0..12")
    with pytest.warns(DeprecationWarning, match="coordbias notsoclevr-ablation"):
        assert nsc.main([str(tmp_path / "x.json"), "--split", "diagonal"]) == 2
    assert "split must be one of uniform, quadrant" in capsys.readouterr().err


def test_report_says_how_the_baselines_were_trained(tiny_result):
    _, result = tiny_result
    longer = copy.deepcopy(result)
    longer["config"].update(
        models=["deconv_paper", "coordbias"], baseline_epochs=60, baseline_lr_drop=45
    )
    for r in longer["runs"]:
        if r["model"] == "vanilla":
            r["model"] = "deconv_paper"
            r["test_acc"] = 0.236 if r["split"] == "uniform" else 0.0
    text = nsc.markdown(longer, "")
    assert "`deconv_paper` is Liu et al.'s" in text
    assert "They train for 60 epochs, the learning rate divided by 10 from epoch 46" in text
    assert "`deconv_paper` gets 23.6% (uniform) and 0.0% (quadrant)" in text
    assert "is not reached in this budget" in text
    longer["runs"][0]["test_acc"] = 0.99
    assert "is exceeded" in nsc.markdown(longer, "")
    assert "deconvolution baselines" not in nsc.markdown(result, "")


def test_the_old_name_of_build_notsoclevr_model_still_works_with_a_warning():
    with pytest.warns(DeprecationWarning, match="now build_notsoclevr_model"):
        assert nsc.build_model is nsc.build_notsoclevr_model
