"""coordbias.models: the original study's FCN with pluggable convolutions, and study controls.

The registry also builds the published anchors' networks, each with a pluggable convolution
kind: Kayhan and van Gemert's Red-Green classifier (``"redgreen"``, :class:`RedGreenNet`) and
Liu et al.'s Not-so-Clevr classifier and regressor (``"liu_classifier"``, ``"liu_regressor"``);
the study's Not-so-Clevr painters (``"tiled_fcn"``, :class:`TiledFCN`, and the deconvolution
baseline ``"deconv_painter"``, :class:`DeconvPainter`); and a U-Net of residual units with
instance norm (``"unet"``, :class:`UNet`), for the speed of whole networks (``coordbias speed
networks``).

Example:
    >>> import torch
    >>> from coordbias.models import create_model
    >>> model = create_model("fcn", width=4, conv="vanilla")
    >>> model(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 4, 32, 32])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from coordbias._names import CONV_KINDS, CONV_SCOPES
from coordbias.models.registry import create_model, list_models, register_model

if TYPE_CHECKING:  # imported on first use (below); named here for type checkers and the API docs
    from coordbias.models.controls import ParamMatchedConv2d, ParamMatchedConvTranspose2d
    from coordbias.models.convs import (
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
    from coordbias.models.painters import DeconvPainter, TiledFCN
    from coordbias.models.red_green import CONV_TYPES, RedGreenNet, redgreen_map_sizes
    from coordbias.models.unet import UNET_CONV_KINDS, UNet
    from coordbias.models.vgg_fcn import FCN, FCNConfig, coordinate_layers

#: The names that need torch, and the module of this package that defines each: imported on
#: first use, so that the light modules (``variants``, the registry) leave torch unimported.
_HOMES = {
    "CONV_TYPES": "red_green",
    "DeconvPainter": "painters",
    "FCN": "vgg_fcn",
    "FCNConfig": "vgg_fcn",
    "LIU_CLASSIFIER_SETTINGS": "liu",
    "LIU_REGRESSOR_SETTINGS": "liu",
    "LiuClassifier": "liu",
    "LiuRegressor": "liu",
    "ParamMatchedConv2d": "controls",
    "ParamMatchedConvTranspose2d": "controls",
    "RedGreenNet": "red_green",
    "STACK_SCOPES": "convs",
    "TiledFCN": "painters",
    "UNET_CONV_KINDS": "unet",
    "UNet": "unet",
    "coordinate_layers": "vgg_fcn",
    "he_init": "liu",
    "make_conv": "convs",
    "make_conv2d": "convs",
    "make_conv_transpose2d": "convs",
    "redgreen_map_sizes": "red_green",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    return value


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
    settings = locals()  # first statement: locals() holds exactly the parameters
    from coordbias.models.vgg_fcn import FCN

    return FCN(**settings)


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
    settings = locals()  # first statement: exactly the parameters
    from coordbias.models.red_green import RedGreenNet

    return RedGreenNet(**settings)


@register_model("liu_classifier")
def liu_classifier(
    *,
    conv: str = "coordconv",
    conv_scope: str = "first",
    coords: str = "center",
    coord_init: str = "uniform",
) -> LiuClassifier:
    """Liu et al.'s coordinate classifier (see :class:`coordbias.models.LiuClassifier`)."""
    settings = locals()  # first statement: exactly the parameters
    from coordbias.models.liu import LiuClassifier

    return LiuClassifier(**settings)


@register_model("liu_regressor")
def liu_regressor(
    *,
    conv: str = "coordconv",
    conv_scope: str = "first",
    coords: str = "center",
    coord_init: str = "uniform",
) -> LiuRegressor:
    """Liu et al.'s coordinate regressor (see :class:`coordbias.models.LiuRegressor`)."""
    settings = locals()  # first statement: exactly the parameters
    from coordbias.models.liu import LiuRegressor

    return LiuRegressor(**settings)


@register_model("tiled_fcn")
def tiled_fcn(*, conv: str = "coordbias", width: int = 8) -> TiledFCN:
    """The study's Not-so-Clevr tiled FCN (see :class:`coordbias.models.TiledFCN`)."""
    settings = locals()  # first statement: exactly the parameters
    from coordbias.models.painters import TiledFCN

    return TiledFCN(**settings)


@register_model("deconv_painter")
def deconv_painter(
    *,
    channels: tuple[int, ...] = (8, 8, 8, 8, 8),
    kernel: int = 4,
    batch_norm: bool = False,
    he_init: bool = False,
    pixel_input: bool = False,
) -> DeconvPainter:
    """The study's Not-so-Clevr deconvolution baseline (see
    :class:`coordbias.models.DeconvPainter`)."""
    settings = locals()  # first statement: exactly the parameters
    from coordbias.models.painters import DeconvPainter

    return DeconvPainter(**settings)


@register_model("unet")
def _unet(
    *,
    in_channels: int = 3,
    num_classes: int = 4,
    width: int = 16,
    conv: str = "vanilla",
    coords: str = "center",
    coord_init: str = "uniform",
) -> UNet:
    """A U-Net of residual units with instance norm and transposed convolutions (see
    :class:`coordbias.models.UNet`)."""
    settings = locals()  # first statement: exactly the parameters
    from coordbias.models.unet import UNet

    return UNet(**settings)


__all__ = [
    "CONV_KINDS",
    "CONV_SCOPES",
    "CONV_TYPES",
    "FCN",
    "LIU_CLASSIFIER_SETTINGS",
    "LIU_REGRESSOR_SETTINGS",
    "STACK_SCOPES",
    "UNET_CONV_KINDS",
    "DeconvPainter",
    "FCNConfig",
    "LiuClassifier",
    "LiuRegressor",
    "ParamMatchedConv2d",
    "ParamMatchedConvTranspose2d",
    "RedGreenNet",
    "TiledFCN",
    "UNet",
    "coordinate_layers",
    "create_model",
    "deconv_painter",
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
    "tiled_fcn",
]
