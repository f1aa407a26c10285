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
from coordbias.models.registry import create_model, list_models, register_class, register_model

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


# Each network's class is registered by name and imported on its first build (these lines import
# no torch); each public builder below is create_model of its name.
register_class("fcn", "coordbias.models.vgg_fcn:FCN")
register_class("redgreen", "coordbias.models.red_green:RedGreenNet")
register_class("liu_classifier", "coordbias.models.liu:LiuClassifier")
register_class("liu_regressor", "coordbias.models.liu:LiuRegressor")
register_class("unet", "coordbias.models.unet:UNet")
register_class("tiled_fcn", "coordbias.models.painters:TiledFCN")
register_class("deconv_painter", "coordbias.models.painters:DeconvPainter")


def fcn(**settings: Any) -> FCN:
    """The original study's VGG9 FCN: ``create_model("fcn", **settings)``.

    The settings are the fields of :class:`coordbias.models.FCNConfig`.
    """
    return create_model("fcn", **settings)


def redgreen(**settings: Any) -> RedGreenNet:
    """Kayhan and van Gemert's Red-Green classifier: ``create_model("redgreen", **settings)``.

    The settings are :class:`coordbias.models.RedGreenNet`'s.
    """
    return create_model("redgreen", **settings)


def liu_classifier(**settings: Any) -> LiuClassifier:
    """Liu et al.'s coordinate classifier: ``create_model("liu_classifier", **settings)``.

    The settings are :class:`coordbias.models.LiuClassifier`'s.
    """
    return create_model("liu_classifier", **settings)


def liu_regressor(**settings: Any) -> LiuRegressor:
    """Liu et al.'s coordinate regressor: ``create_model("liu_regressor", **settings)``.

    The settings are :class:`coordbias.models.LiuRegressor`'s.
    """
    return create_model("liu_regressor", **settings)


def tiled_fcn(**settings: Any) -> TiledFCN:
    """The study's Not-so-Clevr tiled FCN: ``create_model("tiled_fcn", **settings)``.

    The settings are :class:`coordbias.models.TiledFCN`'s.
    """
    return create_model("tiled_fcn", **settings)


def deconv_painter(**settings: Any) -> DeconvPainter:
    """The study's Not-so-Clevr deconvolution baseline: ``create_model("deconv_painter",
    **settings)``.

    The settings are :class:`coordbias.models.DeconvPainter`'s.
    """
    return create_model("deconv_painter", **settings)


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
