"""The study's Not-so-Clevr painters, built by the models registry."""

import torch

from coordbias.data.notsoclevr import CANVAS
from coordbias.models import DeconvPainter, TiledFCN, create_model, list_models, painters


def test_the_canvas_is_the_datas():
    assert painters.CANVAS == CANVAS


def test_the_registry_builds_both_painters():
    assert {"tiled_fcn", "deconv_painter"} <= set(list_models())
    coords = torch.zeros(3, 2)
    tiled = create_model("tiled_fcn", conv="coordconv", width=2)
    assert isinstance(tiled, TiledFCN) and tiled(coords).shape == (3, CANVAS * CANVAS)
    deconv = create_model("deconv_painter", channels=(2,) * 5, kernel=3, batch_norm=True)
    assert isinstance(deconv, DeconvPainter) and deconv(coords).shape == (3, CANVAS * CANVAS)
    assert len(deconv.norms) == 5 and deconv.layers[0].kernel_size == (3, 3)
