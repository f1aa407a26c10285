"""The FCN: shapes, input checks, gradients, parameter counts, padding modes, registry."""

import pytest
import torch
from torch import nn

from coordbias.models import FCN, create_model, list_models

W = 4  # a tiny width keeps every test fast; the architecture does not depend on it


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", [(8, 8), (16, 16), (24, 40), (40, 16)])
def test_output_shape_any_size_divisible_by_8(size):
    model = create_model("fcn", width=W, num_classes=5)
    out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 5, *size)


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((3, 16, 16), "rank 3"),
        ((1, 1, 3, 16, 16), "rank 5"),
        ((1, 1, 16, 16), "1 channels"),
        ((1, 3, 12, 16), "H=12, W=16"),
        ((1, 3, 16, 20), "H=16, W=20"),
        ((1, 3, 0, 16), "H=0"),
    ],
)
def test_bad_input_shape_raises_clear_error(shape, match):
    model = create_model("fcn", width=W)
    with pytest.raises(ValueError, match=match):
        model(torch.zeros(shape))


def test_integer_input_raises_type_error():
    with pytest.raises(TypeError, match="floating-point"):
        create_model("fcn", width=W)(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))


def test_in_channels_option():
    model = create_model("fcn", width=W, in_channels=1)
    assert model(torch.rand(1, 1, 16, 16)).shape == (1, 4, 16, 16)
    with pytest.raises(ValueError, match="in_channels=1"):
        model(torch.rand(1, 3, 16, 16))


def test_registry_lists_names_on_unknown_model():
    assert "fcn" in list_models()
    with pytest.raises(ValueError, match=r"valid names: .*fcn"):
        create_model("resnet50")  # not a registered name


def test_unknown_keyword_lists_accepted_ones():
    with pytest.raises(TypeError, match=r"depth.*accepted: .*width"):
        create_model("fcn", depth=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"conv": "deform"}, ValueError, "conv='deform'.*'coordbias'"),
        ({"conv_scope": "decoder"}, ValueError, "conv_scope='decoder'"),
        ({"width": 0}, ValueError, "width=0"),
        ({"width": 5}, ValueError, "width=5.*even"),
        ({"width": 4.0}, TypeError, "width must be an int"),
        ({"num_classes": 0}, ValueError, "num_classes=0"),
        ({"padding_mode": "replicate"}, ValueError, "padding_mode='replicate'.*'circular'"),
        ({"coords": "corner"}, ValueError, "coords='corner'"),
        ({"coord_init": "normal"}, ValueError, "coord_init='normal'"),
        ({"batch_norm": "yes"}, TypeError, "batch_norm"),
    ],
)
def test_bad_settings_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        create_model("fcn", **{"width": W, **kwargs})


def test_original_architecture_parameter_count():
    # Written out from the original's layer list at width 64 (FACTS.md "The network").
    w, k = 64, 9
    enc = (3 * w + w * w + w * 2 * w + 2 * w * 2 * w + 2 * w * 4 * w + 4 * w * 4 * w) * k
    enc += w + w + 2 * w + 2 * w + 4 * w + 4 * w  # biases
    dec = (4 * w * 2 * w + 2 * w * w + w * w // 2) * k + (2 * w + w + w // 2)
    bn = 2 * (2 * w + w + w // 2)
    head = w // 2 * 4 + 4
    assert _n_params(create_model("fcn")) == enc + dec + bn + head


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "circular"])
def test_padding_mode_applied_to_encoder_convs(padding_mode):
    model = create_model("fcn", width=W, padding_mode=padding_mode)
    convs = [m for m in model.modules() if type(m) is nn.Conv2d and m.kernel_size == (3, 3)]
    assert len(convs) == 6
    assert all(m.padding_mode == padding_mode for m in convs)
    ups = [m for m in model.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(ups) == 3 and all(m.padding_mode == "zeros" for m in ups)


def test_circular_padding_makes_encoder_shift_equivariant():
    # Rolling the input by 8 pixels rolls x3 (stride 8) by one cell with circular padding;
    # zero padding breaks this at the borders (the position leak).
    torch.manual_seed(0)
    x = torch.rand(1, 3, 32, 32)
    rolled = torch.roll(x, shifts=(8, 16), dims=(-2, -1))
    results = {}
    for mode in ("circular", "zeros"):
        torch.manual_seed(1)
        model = create_model("fcn", width=W, padding_mode=mode).eval()
        with torch.no_grad():
            x3 = model.encode(x)[2]
            x3_rolled = model.encode(rolled)[2]
        results[mode] = (torch.roll(x3, shifts=(1, 2), dims=(-2, -1)) - x3_rolled).abs().max()
    assert results["circular"] < 1e-5
    assert results["zeros"] > 1e-3


def test_decoder_leaks_position_only_at_the_bottom_right_border():
    # Documented in coordbias.models.vgg_fcn: circular padding in the encoder, yet the transposed
    # convolutions' cropped last row/column differ, so equivariance holds away from that seam.
    torch.manual_seed(0)
    model = create_model("fcn", width=16, padding_mode="circular").eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        out = torch.roll(model(x), shifts=(8, 8), dims=(-2, -1))
        out_rolled = model(torch.roll(x, shifts=(8, 8), dims=(-2, -1)))
    diff = (out - out_rolled).abs().amax(dim=(0, 1))
    assert diff[16:-16, 16:-16].max() < 1e-5
    assert diff.max() > 1e-3


def test_param_matched_counts():
    base = _n_params(create_model("fcn", width=W))
    enc_out = [W, W, 2 * W, 2 * W, 4 * W, 4 * W]
    dec_out = [2 * W, W, W // 2, 4]
    assert _n_params(create_model("fcn", width=W, conv="param_matched")) == base + 2 * sum(enc_out)
    assert _n_params(create_model("fcn", width=W, conv="param_matched", conv_scope="all")) == (
        base + 2 * sum(enc_out) + 2 * sum(dec_out)
    )


def test_coordconv_counts():
    # Two coordinate input channels per encoder conv: 2 * C_out * k * k extra weights each.
    base = _n_params(create_model("fcn", width=W))
    enc_out = [W, W, 2 * W, 2 * W, 4 * W, 4 * W]
    model = create_model("fcn", width=W, conv="coordconv")
    assert _n_params(model) == base + 2 * 3 * 3 * sum(enc_out)
    assert model(torch.rand(1, 3, 16, 8)).shape == (1, 4, 16, 8)
    # conv_scope="all": the three 3x3 transposed convolutions and the 1x1 classifier too.
    dec_out = [2 * W, W, W // 2]
    everywhere = create_model("fcn", width=W, conv="coordconv", conv_scope="all")
    extra = 2 * 3 * 3 * (sum(enc_out) + sum(dec_out)) + 2 * 4
    assert _n_params(everywhere) == base + extra
    assert everywhere(torch.rand(1, 3, 16, 8)).shape == (1, 4, 16, 8)


def test_vanilla_scope_all_equals_encoder_scope():
    assert _n_params(create_model("fcn", width=W, conv_scope="all")) == _n_params(
        create_model("fcn", width=W)
    )


def _assert_every_parameter_learns(model, size=(16, 24)):
    model.train()
    torch.manual_seed(0)
    x = torch.rand(2, 3, *size)
    target = torch.randint(0, 4, (2, *size))
    out = model(x)
    assert torch.isfinite(out).all()
    nn.functional.cross_entropy(out, target).backward()
    bn_fed = _biases_fed_to_batch_norm(model)
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
        if name in bn_fed:
            # A bias right before BatchNorm is cancelled by the mean subtraction (Ioffe 2015).
            assert p.grad.abs().max() < 1e-5, name
        else:
            assert p.grad.abs().sum() > 0, f"{name} got a zero gradient"


def _biases_fed_to_batch_norm(model):
    names = set()
    for stage_name in ("stage1", "stage2", "stage3"):
        stage = getattr(model, stage_name)
        for i, (a, b) in enumerate(zip(stage, list(stage)[1:])):
            if isinstance(b, nn.BatchNorm2d) and getattr(a, "bias", None) is not None:
                names.add(f"{stage_name}.{i}.bias")
                if hasattr(a, "shift"):  # a per-channel constant as well
                    names.add(f"{stage_name}.{i}.shift")
    return names


# The position kinds with scope "all" are refused by design (test_bad_settings_raise_clear_errors).
CONV_SCOPES = [
    ("vanilla", "encoder"),
    ("vanilla", "all"),
    ("param_matched", "encoder"),
    ("param_matched", "all"),
    ("coordconv", "encoder"),
    ("coordconv", "all"),
    ("coordbias", "encoder"),
    ("coordbias", "all"),
]


@pytest.mark.parametrize(("conv", "scope"), CONV_SCOPES)
@pytest.mark.parametrize("batch_norm", [False, True])
def test_every_parameter_gets_a_gradient(conv, batch_norm, scope):
    torch.manual_seed(0)
    model = create_model("fcn", width=W, conv=conv, batch_norm=batch_norm, conv_scope=scope)
    _assert_every_parameter_learns(model)


def test_batch_norm_encoder_layout():
    model = create_model("fcn", width=W, batch_norm=True)
    kinds = [type(m).__name__ for m in model.stage1]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    kinds = [type(m).__name__ for m in create_model("fcn", width=W).stage1]
    assert kinds == ["Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d"]


def test_config_recorded_and_repr():
    model = create_model("fcn", width=W, conv="param_matched", padding_mode="reflect")
    assert isinstance(model, FCN)
    assert model.config.conv == "param_matched" and model.config.width == W
    assert "padding_mode='reflect'" in repr(model).splitlines()[1]


@pytest.mark.parametrize("scope", ["encoder", "all"])
def test_coordbias_adds_two_weights_per_output_channel(scope):
    base = _n_params(create_model("fcn", width=W))
    enc_out = [W, W, 2 * W, 2 * W, 4 * W, 4 * W]
    dec_out = [2 * W, W, W // 2, 4] if scope == "all" else []
    coord = create_model("fcn", width=W, conv="coordbias", conv_scope=scope)
    matched = create_model("fcn", width=W, conv="param_matched", conv_scope=scope)
    assert _n_params(coord) == base + 2 * (sum(enc_out) + sum(dec_out))
    assert _n_params(coord) == _n_params(matched)


def test_coordinate_layers_lists_every_converted_conv():
    from coordbias.models import coordinate_layers

    enc = dict(coordinate_layers(create_model("fcn", width=W, conv="coordbias")))
    assert list(enc) == ["stage1.0", "stage1.2", "stage2.0", "stage2.2", "stage3.0", "stage3.2"]
    assert [tuple(w.shape) for w in enc.values()] == [(W, 2), (W, 2), (2 * W, 2), (2 * W, 2),
                                                      (4 * W, 2), (4 * W, 2)]  # fmt: skip
    model = create_model("fcn", width=W, conv="coordbias", conv_scope="all")
    names = [name for name, _ in coordinate_layers(model)]
    assert names[6:] == ["up3", "up2", "up1", "classifier"]
    assert all(w is dict(model.named_parameters())[f"{n}.coord_weight"]
               for n, w in coordinate_layers(model))  # fmt: skip
    assert list(coordinate_layers(create_model("fcn", width=W, conv="param_matched"))) == []


@pytest.mark.parametrize(("coords", "coord_init"), [("output", "uniform"), ("center", "zeros")])
def test_coords_and_coord_init_reach_the_layers(coords, coord_init):
    model = create_model(
        "fcn", width=W, conv="coordbias", conv_scope="all", coords=coords, coord_init=coord_init
    )
    from coordbias import CoordBiasConv2d, CoordBiasConvTranspose2d

    layers = [
        m for m in model.modules() if isinstance(m, (CoordBiasConv2d, CoordBiasConvTranspose2d))
    ]
    assert len(layers) == 10
    assert all(m.coords == coords for m in layers)
    weights = torch.cat([m.coord_weight.flatten() for m in layers])
    assert (weights.abs().sum() == 0) == (coord_init == "zeros")


def test_coordinate_weights_before_batch_norm_escape_the_cancellation():
    # Open question 1 of the original: a bias right before BatchNorm gets zero gradient, the
    # coordinate weights do not (BatchNorm removes only their constant part).
    torch.manual_seed(0)
    model = create_model("fcn", width=W, conv="coordbias", batch_norm=True).train()
    x = torch.rand(2, 3, 16, 16)
    target = torch.randint(0, 4, (2, 16, 16))
    nn.functional.cross_entropy(model(x), target).backward()
    first = model.stage1[0]
    assert first.bias.grad.abs().max() < 1e-6
    assert first.coord_weight.grad.abs().max() > 1e-4
