"""``coordbias speed networks``: the floor is vanilla plus its maps, converted networks train,
and a tiny run writes a table with every cell."""

import json

import pytest
import torch
from torch import nn

from coordbias.cli.main import main
from coordbias.speed import networks
from coordbias.speed.floor import MapAdd, add_floor

TINY = networks.NetworkSetting("fcn", image_size=16, batch_size=2, width=4)
CPU = torch.device("cpu")


@pytest.mark.parametrize("network", networks.NETWORKS)
def test_the_floor_network_computes_vanilla_plus_its_maps(network):
    setting = networks.NetworkSetting(network, 16, 2, 4)
    fp32 = networks.network_path("fp32")
    plain = networks.build_network(setting, "vanilla", fp32, CPU)
    floor = networks.build_network(setting, "floor", fp32, CPU)
    x = torch.randn(2, 3, 16, 16)
    # zero maps: the same network, bit for bit
    assert torch.equal(floor(x), plain(x))
    # random maps: plain with every map added after its convolution by a hook, bit for bit
    wrapped = {n: m for n, m in floor.named_modules() if isinstance(m, MapAdd)}
    convs = sum(type(m) in (nn.Conv2d, nn.ConvTranspose2d) for m in plain.modules())
    assert len(wrapped) == convs > 0
    torch.manual_seed(1)
    with torch.no_grad():
        for m in wrapped.values():
            m.position_map.normal_()
    for name, m in wrapped.items():
        plain.get_submodule(name).register_forward_hook(
            lambda _m, _a, out, map_=m.position_map: out + map_
        )
    assert torch.equal(floor(x), plain(x))


def test_add_floor_sizes_each_map_by_its_output_and_takes_the_dtype():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ConvTranspose2d(4, 2, 2, 2))
    out = add_floor(net, torch.zeros(1, 3, 8, 8), dtype=torch.bfloat16)
    assert out is net
    assert net[0].position_map.shape == (1, 4, 4, 4)
    assert net[1].position_map.shape == (1, 2, 8, 8)
    assert net[0].position_map.dtype == torch.bfloat16
    single = add_floor(nn.Conv2d(3, 4, 1), torch.zeros(1, 3, 5, 5))
    assert isinstance(single, MapAdd) and single.position_map.shape == (1, 4, 5, 5)
    with pytest.raises(ValueError, match="init"):
        add_floor(nn.Conv2d(3, 4, 1), torch.zeros(1, 3, 5, 5), init="ones")


@pytest.mark.parametrize("network", networks.NETWORKS)
@pytest.mark.parametrize("variant", ["coordbias", "coordconv", "floor"])
def test_converted_networks_train(network, variant):
    setting = networks.NetworkSetting(network, 16, 2, 4)
    path = networks.network_path("channels_last")
    model = networks.build_network(setting, variant, path, CPU)
    batch = networks._batch(setting, path, CPU)
    step = networks.training_step(model, model, path, CPU, batch)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    loss = step()
    assert torch.isfinite(loss)
    position = [
        (n, p)
        for n, p in model.named_parameters()
        if n.endswith(("coord_weight", "position_map"))
        or (variant == "coordconv" and ".weight" in n)
    ]
    assert position
    for name, param in position:
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    if variant == "coordbias":
        grads = [p.grad for n, p in position]
        assert all(g.abs().sum() > 0 for g in grads)  # the coordinate weights learn
        assert any(not torch.equal(before[n], p) for n, p in position)  # and the step moves them


def test_autocast_path_lays_the_floor_in_the_autocast_dtype():
    path = networks.network_path("autocast_bf16")
    model = networks.build_network(TINY, "floor", path, CPU)
    maps = [m.position_map for m in model.modules() if isinstance(m, MapAdd)]
    assert maps and all(m.dtype == torch.bfloat16 for m in maps)
    loss = networks.training_step(model, model, path, CPU, networks._batch(TINY, path, CPU))()
    assert torch.isfinite(loss)


def test_replay_check_compares_compiled_calls_with_eager_ones():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    inputs = [torch.randn(1, 3, 8, 8) for _ in range(2)]
    same = networks.replay_check(model, model, inputs, cudagraphs=False)
    assert same == {"max_rel_diff": 0.0, "calls": 4, "ok": True}

    first = model(inputs[0]).detach()

    def stale(x):  # an output that ignores its input, as overwritten memory would
        return first.clone().requires_grad_()

    assert not networks.replay_check(model, stale, inputs, cudagraphs=False)["ok"]


def test_a_tiny_run_writes_every_cell(tmp_path, capsys):
    argv = ["speed", "networks", "--out", str(tmp_path), "--image-size", "16"]
    argv += ["--batch-size", "2", "--width", "4", "--rounds", "2", "--min-run-time", "0.001"]
    argv += ["--paths", "fp32,autocast_bf16,cudagraphs"]
    assert main(argv) == 0
    data = json.loads((tmp_path / "networks.json").read_text())
    assert list(data["networks"]) == list(networks.NETWORKS)
    assert data["failed"] == []
    table = (tmp_path / "networks.md").read_text()
    for network, entry in data["networks"].items():
        assert entry["setting"]["image_size"] == 16
        assert list(entry["paths"]) == ["fp32", "autocast_bf16", "cudagraphs"]
        assert "skipped on cpu" in entry["paths"]["cudagraphs"]["skipped"]
        for name in ("fp32", "autocast_bf16"):
            result = entry["paths"][name]
            assert set(result["ms"]) == set(networks.VARIANTS)
            for variant in networks.COMPARED:
                ratio = result["ratio"][variant]
                assert len(ratio["rounds"]) == 2
                assert ratio["low"] <= ratio["median"] <= ratio["high"]
            rounds = zip(result["ratio"]["coordbias"]["rounds"], result["ratio"]["floor"]["rounds"])
            above = [c - f for c, f in rounds]
            assert result["coordbias_above_floor"]["rounds"] == above
            row = next(
                line
                for line in table.splitlines()
                if line.startswith(f"| {network} (") and f"| {name} |" in line
            )
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert all(cells[2:7]), row  # ms, three ratios, coordbias - floor
    assert table.count("skipped on cpu") == 2
    assert "fcn (4 ch, 16 px, batch 2)" in capsys.readouterr().out


def _smallest_fcn_run(folder, path: str, **options) -> dict:
    """The FCN at its smallest on one path, one round of one step."""
    return networks.measure_networks(
        folder,
        networks=["fcn"],
        paths=[path],
        image_size=16,
        batch_size=1,
        width=2,
        rounds=1,
        min_run_time=0.001,
        **options,
    )


def test_the_profile_counts_what_each_variant_adds_to_a_step(tmp_path):
    data = _smallest_fcn_run(tmp_path, "fp32", profile=True)
    profile = data["networks"]["fcn"]["paths"]["fp32"]["profile"]
    assert set(profile) == set(networks.VARIANTS)
    calls = {v: p["aten_calls"] for v, p in profile.items()}
    # Each variant adds work after every convolution: the floor one add forward and one sum
    # backward, a coordinate term more (its product and the reduction for its weights).
    assert calls["vanilla"] < calls["floor"] < calls["coordbias"]
    for got in profile.values():
        assert got["host_ms"] > 0 and got["device_ms"] is None and got["kernels"] == 0
        assert len(got["top"]) == 6 and all(calls > 0 for _, calls, _ in got["top"])
    table = (tmp_path / "networks.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| fcn | fp32 | floor |"))
    assert row.endswith(f"| 0 | {calls['floor']:g} |")


def test_the_profile_names_what_coordbias_adds_over_vanilla(tmp_path):
    data = _smallest_fcn_run(tmp_path, "fp32", profile=True, alternatives=["traced", "native"])
    result = data["networks"]["fcn"]["paths"]["fp32"]
    profile = result["profile"]
    assert set(profile) == {*networks.VARIANTS, "coordbias_traced", "coordbias_native"}
    # Both alternatives add the term by torch's own operations: no autograd node of ours.
    assert "_AddCoordTerm" in profile["coordbias"]["ops"]
    for variant in ("coordbias_traced", "coordbias_native"):
        assert "_AddCoordTerm" not in profile[variant]["ops"]
        assert variant in result["ratio"]
    added = networks.added_work(profile, "coordbias")
    assert "_AddCoordTerm" in [name for name, _, _ in added]
    assert all(us > 0 for _, _, us in added)
    assert [us for _, _, us in added] == sorted((us for _, _, us in added), reverse=True)
    table = (tmp_path / "networks.md").read_text()
    assert "| coordbias_traced | coordbias_native | note |" in table
    assert "| fcn | fp32 | host | _AddCoordTerm |" in table


def test_added_work_keeps_only_what_grew():
    profiles = {
        "vanilla": {"ops": {"conv": [1.0, 10.0], "add_": [2.0, 3.0], "gone": [1.0, 5.0]}},
        "coordbias": {"ops": {"conv": [1.0, 9.0], "add_": [3.0, 4.5], "mm": [2.0, 6.0]}},
    }
    assert networks.added_work(profiles, "coordbias") == [["mm", 2.0, 6.0], ["add_", 1.0, 1.5]]
    assert networks.added_work(profiles, "coordbias", top=1) == [["mm", 2.0, 6.0]]


def test_the_compile_path_runs(tmp_path):
    data = _smallest_fcn_run(tmp_path, "compile", compile_backend="eager")
    assert data["failed"] == []
    assert "torch.compile" in data["networks"]["fcn"]["paths"]["compile"]["setup"]
    torch._dynamo.reset()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--networks", "resnet"], "--networks"),
        (["--paths", "fp64"], "--paths"),
        (["--image-size", "12"], "multiple of 8"),
        (["--rounds", "0"], "--rounds"),
        (["--width", "3"], "--width"),
        (["--alternatives", "fused"], "--alternatives"),
    ],
)
def test_bad_options_are_one_line(tmp_path, capsys, argv, message):
    assert main(["speed", "networks", "--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coordbias speed networks: error:") and message in err
    assert not (tmp_path / "o").exists()
