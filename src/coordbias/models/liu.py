"""Liu et al.'s (2018) Not-so-Clevr networks, as their code builds them, with a pluggable method.

Read in uber-research/CoordConv (``model_builders.py``: ``CoordConvPainter`` and
``ConvRegressor``'s ``coordconv_model``; ``CoordConv.py``: ``AddCoords``; ``tf_plus/__init__.py``:
``he_normal``) and rebuilt from that description:

- :class:`LiuClassifier` (coordinate classification, their ``coordconv_classification``): the two
  input coordinates tiled to a 64 x 64 map, coordinates added once, then 1 x 1 convolutions
  32, 32, 64, 64, each followed by ReLU, and a 1 x 1 convolution to one channel: a logit per
  pixel (their loss: softmax cross-entropy over the 4,096 pixels). 7,553 parameters.
- :class:`LiuRegressor` (coordinate regression, their ``coordconv_regressor``): the one-hot image,
  coordinates added once, then *linear* convolutions (no activation): 1 x 1 (8), 1 x 1 (8),
  1 x 1 (8), 3 x 3 'same' (8), 3 x 3 'same' (2), then the maximum over all pixels: two numbers,
  trained against the centre's location divided by 64 (MSE). 906 parameters.

"Coordinates added once" is their ``AddCoords`` followed by a convolution, which is exactly a
CoordConv layer; so the first convolution is :func:`~coordbias.models.make_conv` of kind ``conv``
(``"coordconv"``: theirs; ``"vanilla"``: the same network without coordinates; any other kind
of :data:`~coordbias.models.CONV_KINDS` puts its method there). ``conv_scope="all"`` gives every
convolution that kind instead. Two details differ from theirs and cannot change what is learnt:
this project's coordinate channels come in (row, column) order after the input, theirs in
(column, row) order; and their locations are stored as (x, y) = (column, row).

Initialisation (:func:`he_init`): every convolution kernel, the coordinate channels of a
CoordConv kernel included, He-normal as TensorFlow 1.13's ``he_normal`` (their
``environment.yml``): a normal truncated at 2 standard deviations, scaled so that the standard
deviation *after* truncation is ``sqrt(2 / fan_in)`` (TensorFlow's docstring for that version;
its source was not read); biases zero. The position weights of the other methods keep their own
initialisation.

Their optimiser settings are :data:`LIU_CLASSIFIER_SETTINGS` and :data:`LIU_REGRESSOR_SETTINGS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import torch
from torch import nn

from coordbias.models.convs import check_stack, make_conv

__all__ = [
    "LIU_CLASSIFIER_SETTINGS",
    "LIU_REGRESSOR_SETTINGS",
    "LiuClassifier",
    "LiuRegressor",
    "he_init",
]

_CANVAS = 64
# std of a standard normal truncated to [-2, 2]: dividing by it makes the truncated std the target.
_TRUNCATED_STD = 0.87962566103423978

#: Their coordinate-classification run (read-only). uber-research/CoordConv ``README.md``:
#: ``train.py --arch coordconv_classification -mb 16 -E 100 -L 0.005 --opt adam --l2 0.001
#: -mul 1``; ``experiment_logs.sh`` runs the same with ``-E 50`` over lr {0.001, 0.005, 0.01} x
#: l2 {0, 0.001}; Adam's betas and eps are ``util.py``'s defaults (0.9, 0.99, 1e-8). ``l2`` is
#: TensorFlow's kernel regulariser ``l2 * sum(w ** 2)`` (``tf_plus/regularizers.py``), on kernels
#: only: Adam's coupled weight decay ``2 * l2`` on the kernels, none on biases. The inputs are
#: the centres' pixel coordinates (4..59, ``train_locations``), the training set reshuffled
#: every epoch (``--shuffletrain`` is on by default).
LIU_CLASSIFIER_SETTINGS: Mapping[str, object] = MappingProxyType(
    {
        "optimizer": "adam",
        "lr": 0.005,
        "lr_grid": (0.001, 0.005, 0.01),
        "betas": (0.9, 0.99),
        "eps": 1e-8,
        "batch_size": 16,
        "epochs": 50,
        "l2": 0.001,
        "l2_grid": (0.0, 0.001),
        "loss": "softmax cross-entropy over the 4,096 pixels",
        "inputs": "pixel coordinates (4..59)",
    }
)
#: Their coordinate-regression run (read-only). uber-research/CoordConv ``experiment_logs.sh``
#: and ``README.md``: ``train.py --epochs 100 --arch coordconv_regressor --lr 0.01 --opt adam
#: --l2 0.00001``; no ``-mb``, so ``util.py``'s default minibatch of 256; Adam's betas (0.9,
#: 0.99) and eps 1e-8 are ``util.py``'s defaults. Loss: MSE against the location divided by 64
#: (``normalized_locations`` of ``data/not_so_clevr_generator.py``) plus ``l2 * sum(w ** 2)`` on
#: the kernels; their distance metric is the mean Euclidean distance times 64, in pixels.
LIU_REGRESSOR_SETTINGS: Mapping[str, object] = MappingProxyType(
    {
        "optimizer": "adam",
        "lr": 0.01,
        "betas": (0.9, 0.99),
        "eps": 1e-8,
        "batch_size": 256,
        "epochs": 100,
        "l2": 1e-5,
        "loss": "MSE against location / 64",
        "inputs": "one-hot image of the centre",
    }
)


def he_init(model: nn.Module) -> nn.Module:
    """He-normal kernels and zero biases in every convolution of ``model``, as Liu et al.

    Each ``nn.Conv2d`` (the coordinate layers are subclasses) gets its ``weight`` drawn from a
    normal truncated at 2 standard deviations whose standard deviation after truncation is
    ``sqrt(2 / fan_in)``, ``fan_in = weight[0].numel()``; its ``bias``, if any, is set to zero.
    Other parameters (a method's position weights) are left as they are.

    Returns:
        ``model``, changed in place.

    Example:
        >>> conv = he_init(nn.Conv2d(3, 8, 1))
        >>> float(conv.weight.detach().abs().max()) <= 2 * (2 / 3) ** 0.5 / 0.8796 + 1e-6
        True
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            std = math.sqrt(2.0 / module.weight[0].numel()) / _TRUNCATED_STD
            nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


class _LiuNet(nn.Module):
    """The common part of Liu et al.'s two networks: a stack of convolutions given by ``_SPECS``.

    ``_SPECS`` lists each convolution's ``(in, out, kernel)``, 'same' padding; the first (or,
    with ``conv_scope="all"``, every) convolution is of kind ``conv``, the others plain; He-normal
    initialisation (:func:`he_init`). The subclasses set ``_SPECS`` and their ``forward``.
    """

    _SPECS: tuple[tuple[int, int, int], ...] = ()

    def __init__(
        self,
        conv: str = "coordconv",
        *,
        conv_scope: str = "first",
        coords: str = "center",
        coord_init: str = "uniform",
    ) -> None:
        super().__init__()
        check_stack(conv, conv_scope, coords, coord_init)
        self.convs = nn.ModuleList(
            make_conv(
                conv if conv_scope == "all" or k == 0 else "vanilla",
                c_in,
                c_out,
                kernel,
                padding=kernel // 2,
                coords=coords,
                coord_init=coord_init,
                map_size=_CANVAS,
            )
            for k, (c_in, c_out, kernel) in enumerate(self._SPECS)
        )
        he_init(self)


class LiuClassifier(_LiuNet):
    """Liu et al.'s CoordConv classifier (their ``CoordConvPainter``, ``-mul 1``).

    Args:
        conv: kind of the first convolution (``"coordconv"``: theirs), one of
            :data:`coordbias.models.CONV_KINDS`.
        conv_scope: ``"first"`` (theirs) or ``"all"``.
        coords: coordinate convention of the kinds that take one.
        coord_init: initialisation of the position weights of the kinds that have them.

    Shape:
        - Input: ``(B, 2)`` coordinates (theirs: the centre's pixel coordinates, 4..59).
        - Output: ``(B, 4096)`` logits, one per pixel of the 64 x 64 canvas, row-major.

    Example:
        >>> model = LiuClassifier()
        >>> model(torch.zeros(3, 2)).shape, sum(p.numel() for p in model.parameters())
        (torch.Size([3, 4096]), 7553)
    """

    _SPECS = ((2, 32, 1), (32, 32, 1), (32, 64, 1), (64, 64, 1), (64, 1, 1))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, 4096)`` for coordinates ``(B, 2)``."""
        x = coords[:, :, None, None].expand(-1, -1, _CANVAS, _CANVAS)
        for k, layer in enumerate(self.convs):
            x = layer(x)
            if k < len(self.convs) - 1:
                x = torch.relu(x)
        return x.flatten(1)


class LiuRegressor(_LiuNet):
    """Liu et al.'s CoordConv regressor (their ``ConvRegressor``, ``coordconv_model``).

    Its arguments ``conv``, ``conv_scope``, ``coords`` and ``coord_init`` are
    :class:`LiuClassifier`'s.

    Shape:
        - Input: ``(B, 1, 64, 64)`` one-hot images.
        - Output: ``(B, 2)``, the maximum of each output channel over the pixels (theirs is
          trained against the location divided by 64).

    Example:
        >>> model = LiuRegressor()
        >>> model(torch.zeros(3, 1, 64, 64)).shape, sum(p.numel() for p in model.parameters())
        (torch.Size([3, 2]), 906)
    """

    _SPECS = ((1, 8, 1), (8, 8, 1), (8, 8, 1), (8, 8, 3), (8, 2, 3))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Two outputs ``(B, 2)`` for one-hot images ``(B, 1, 64, 64)``."""
        x = images
        for layer in self.convs:
            x = layer(x)
        return torch.amax(x, dim=(2, 3))
