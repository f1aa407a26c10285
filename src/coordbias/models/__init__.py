"""coordbias.models: the original study's FCN with pluggable convolutions, and study controls.

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
    from coordbias.models.convs import make_conv, make_conv2d, make_conv_transpose2d
    from coordbias.models.vgg_fcn import FCN, FCNConfig, coordinate_layers

#: The names that need torch, and the module of this package that defines each: imported on
#: first use, so that the light modules (``variants``, the registry) leave torch unimported.
_HOMES = {
    "FCN": "vgg_fcn",
    "FCNConfig": "vgg_fcn",
    "ParamMatchedConv2d": "controls",
    "ParamMatchedConvTranspose2d": "controls",
    "coordinate_layers": "vgg_fcn",
    "make_conv": "convs",
    "make_conv2d": "convs",
    "make_conv_transpose2d": "convs",
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


__all__ = [
    "CONV_KINDS",
    "CONV_SCOPES",
    "FCN",
    "FCNConfig",
    "ParamMatchedConv2d",
    "ParamMatchedConvTranspose2d",
    "coordinate_layers",
    "create_model",
    "fcn",
    "list_models",
    "make_conv",
    "make_conv2d",
    "make_conv_transpose2d",
    "register_model",
]
