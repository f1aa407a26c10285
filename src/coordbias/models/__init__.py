"""coordbias.models: the original study's FCN with pluggable convolutions, and study controls.

Example:
    >>> import torch
    >>> from coordbias.models import create_model
    >>> model = create_model("fcn", width=4, conv="vanilla")
    >>> model(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 4, 32, 32])
"""

from __future__ import annotations

from coordbias.models.controls import ParamMatchedConv2d, ParamMatchedConvTranspose2d
from coordbias.models.convs import CONV_KINDS, make_conv, make_conv2d, make_conv_transpose2d
from coordbias.models.fcn import CONV_SCOPES, FCN, FCNConfig, coordinate_layers
from coordbias.models.registry import create_model, list_models, register_model


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
) -> FCN:
    """The original study's VGG9 FCN (see :class:`coordbias.models.fcn.FCN`)."""
    return FCN(
        num_classes=num_classes,
        width=width,
        conv=conv,
        conv_scope=conv_scope,
        batch_norm=batch_norm,
        padding_mode=padding_mode,
        coords=coords,
        coord_init=coord_init,
        in_channels=in_channels,
    )


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
