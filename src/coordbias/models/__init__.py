"""coordbias.models: the original study's FCN with pluggable convolutions, and study controls.

The registry also builds the published anchors' networks, each with a pluggable convolution
kind: Kayhan and van Gemert's Red-Green classifier (``"redgreen"``, :class:`RedGreenNet`) and
Liu et al.'s Not-so-Clevr classifier and regressor (``"liu_classifier"``, ``"liu_regressor"``).

Example:
    >>> import torch
    >>> from coordbias.models import create_model
    >>> model = create_model("fcn", width=4, conv="vanilla")
    >>> model(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 4, 32, 32])
"""

from __future__ import annotations

from coordbias.models.controls import ParamMatchedConv2d, ParamMatchedConvTranspose2d
from coordbias.models.convs import (
    CONV_KINDS,
    STACK_SCOPES,
    make_conv,
    make_conv2d,
    make_conv_transpose2d,
)
from coordbias.models.liu import (
    LIU_CLASSIFIER_SETTINGS,
    LIU_REGRESSOR_SETTINGS,
    LiuClassifier,
    LiuRegressor,
    he_init,
)
from coordbias.models.redgreen import CONV_TYPES, RedGreenNet, redgreen_map_sizes
from coordbias.models.registry import create_model, list_models, register_model
from coordbias.models.vgg_fcn import CONV_SCOPES, FCN, FCNConfig, coordinate_layers


@register_model("fcn")
def fcn(
    *,
    num_classes: int = 4,
    width: int = 64,
    conv: str = "vanilla",
    conv_scope: str = "encoder",
    batch_norm: bool = False,
    padding_mode: str = "zeros",
    coords: str = "center",
    coord_init: str = "uniform",
    in_channels: int = 3,
    map_size: int = 64,
) -> FCN:
    """The original study's VGG9 FCN (see :class:`coordbias.models.FCN`).

    The signature names the settings for :func:`create_model`'s check; they pass on unchanged.
    """
    return FCN(**locals())  # first statement: locals() holds exactly the parameters


@register_model("redgreen")
def redgreen(
    *,
    conv_type: str = "full",
    conv: str = "vanilla",
    conv_scope: str = "all",
    coords: str = "center",
    coord_init: str = "uniform",
    num_classes: int = 2,
    image_size: int = 32,
) -> RedGreenNet:
    """Kayhan and van Gemert's Red-Green classifier (see :class:`coordbias.models.RedGreenNet`)."""
    return RedGreenNet(**locals())


@register_model("liu_classifier")
def liu_classifier(
    *,
    conv: str = "coordconv",
    conv_scope: str = "first",
    coords: str = "center",
    coord_init: str = "uniform",
) -> LiuClassifier:
    """Liu et al.'s coordinate classifier (see :class:`coordbias.models.LiuClassifier`)."""
    return LiuClassifier(**locals())


@register_model("liu_regressor")
def liu_regressor(
    *,
    conv: str = "coordconv",
    conv_scope: str = "first",
    coords: str = "center",
    coord_init: str = "uniform",
) -> LiuRegressor:
    """Liu et al.'s coordinate regressor (see :class:`coordbias.models.LiuRegressor`)."""
    return LiuRegressor(**locals())


__all__ = [
    "CONV_KINDS",
    "CONV_SCOPES",
    "CONV_TYPES",
    "FCN",
    "LIU_CLASSIFIER_SETTINGS",
    "LIU_REGRESSOR_SETTINGS",
    "STACK_SCOPES",
    "FCNConfig",
    "LiuClassifier",
    "LiuRegressor",
    "ParamMatchedConv2d",
    "ParamMatchedConvTranspose2d",
    "RedGreenNet",
    "coordinate_layers",
    "create_model",
    "fcn",
    "he_init",
    "list_models",
    "liu_classifier",
    "liu_regressor",
    "make_conv",
    "make_conv2d",
    "make_conv_transpose2d",
    "redgreen",
    "redgreen_map_sizes",
    "register_model",
]
