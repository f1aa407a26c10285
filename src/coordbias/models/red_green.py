"""Kayhan and van Gemert's Red-Green network (CVPR 2020), with their convolution types.

Four 3 x 3 convolutions without bias (32, 32, 64, 64 channels, strides 1, 2, 2, 2), each followed
by ReLU, a global max pool and a linear layer to the two classes (their
``full_conv/Exp2_Red_Green/red_and_green.py`` in oskyhn/CNNs-Without-Borders, rebuilt from its
description). The convolution type sets every layer's padding (:data:`CONV_TYPES`):

- ``valid`` (V-Conv): no padding; 32 -> 30 -> 14 -> 6 -> 2.
- ``same`` (S-Conv): zero padding 1; 32 -> 32 -> 16 -> 8 -> 4.
- ``circular`` (S-Conv, circular padding): circular padding **1**; 32 -> 32 -> 16 -> 8 -> 4.
- ``full`` (F-Conv): zero padding 2 (k - 1); 32 -> 34 -> 18 -> 10 -> 6.
- ``circular2``: circular padding 2, what their code's setting means in torch >= 1.5 (below).

Their code asks for ``padding=2, padding_mode="circular"``. The torch of their time (1.1 to 1.4,
their requirements say ``pytorch>=1.2.0``) padded a circular convolution by ``(p + 1) // 2``
before and ``p // 2`` after on each axis, so ``p = 2`` gave 1 on each side: a "same" circular
convolution. Torch 1.5 replaced this with ``p`` on each side (``_reversed_padding_repeated_twice``;
the old rule is quoted in pytorch issues #20981 and #29712, the change in #36089). Sources read:
those issue threads; pytorch's own history was not at hand to check, so the rule rests on them.
``circular`` is the layer their table was measured with; ``circular2`` is kept so the difference
can be shown: with circular padding 1 and a total stride of 8 the network is exactly equivariant
to the 16-row shift of the "dissimilar" test set (the maps keep their sizes and the shift is a
multiple of 8), which is why their similar and dissimilar accuracies are equal; with padding 2 the
maps grow and the equivariance is lost.

The convolutions are built by :func:`coordbias.models.make_conv`, so any position method
(:data:`coordbias.models.CONV_KINDS`) can take their place: ``conv`` is the kind and
``conv_scope`` says which layers get it (``"all"`` four, or the ``"first"`` only, the others
plain: :data:`~coordbias.models.STACK_SCOPES`). The initialisation is torch's default, as theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import torch
from torch import nn
from torch.nn import functional as F

from coordbias.models.convs import (
    check_choice,
    check_stack,
    make_conv,
)

__all__ = [
    "CONV_TYPES",
    "RedGreenNet",
    "redgreen_map_sizes",
]

#: Their convolution types: name -> (padding, padding_mode, the paper's name), read-only.
CONV_TYPES: Mapping[str, tuple[int, str, str]] = MappingProxyType(
    {
        "valid": (0, "zeros", "V-Conv"),
        "same": (1, "zeros", "S-Conv"),
        "circular": (1, "circular", "S-Conv circular"),
        "full": (2, "zeros", "F-Conv"),
        "circular2": (2, "circular", "circular padding 2 (torch >= 1.5's reading)"),
    }
)

_CHANNELS = (32, 32, 64, 64)
_STRIDES = (1, 2, 2, 2)
_KERNEL = 3


def redgreen_map_sizes(conv_type: str, image_size: int = 32) -> tuple[int, ...]:
    """The side of each convolution's output map for a square input of ``image_size``.

    Example:
        >>> redgreen_map_sizes("valid"), redgreen_map_sizes("full")
        ((30, 14, 6, 2), (34, 18, 10, 6))
    """
    check_choice("conv_type", conv_type, CONV_TYPES)
    padding = CONV_TYPES[conv_type][0]
    sizes, side = [], image_size
    for stride in _STRIDES:
        side = (side + 2 * padding - _KERNEL) // stride + 1
        sizes.append(side)
    return tuple(sizes)


class RedGreenNet(nn.Module):
    """Kayhan and van Gemert's four-convolution Red-Green classifier.

    Args:
        conv_type: the padding of every convolution, one of :data:`CONV_TYPES`.
        conv: the convolution kind, one of :data:`coordbias.models.CONV_KINDS` (``"vanilla"``:
            theirs).
        conv_scope: ``"all"`` (every convolution is of kind ``conv``) or ``"first"``.
        coords: coordinate convention of the kinds that take one.
        coord_init: initialisation of the position weights of the kinds that have them.
        num_classes: output classes (2).
        image_size: the input side the learned maps of ``position_map`` are sized for.

    Shape:
        - Input: ``(B, 3, H, W)``, H and W at least 9 for ``valid``.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> model = RedGreenNet("full")
        >>> model(torch.zeros(2, 3, 32, 32)).shape, sum(p.numel() for p in model.parameters())
        (torch.Size([2, 2]), 65506)
    """

    def __init__(
        self,
        conv_type: str = "full",
        *,
        conv: str = "vanilla",
        conv_scope: str = "all",
        coords: str = "center",
        coord_init: str = "uniform",
        num_classes: int = 2,
        image_size: int = 32,
    ) -> None:
        super().__init__()
        check_choice("conv_type", conv_type, CONV_TYPES)
        check_stack(conv, conv_scope, coords, coord_init)
        padding, padding_mode, _ = CONV_TYPES[conv_type]
        sizes = redgreen_map_sizes(conv_type, image_size)
        self.conv_type, self.conv, self.conv_scope = conv_type, conv, conv_scope
        layers = []
        c_in = 3
        for k, (c_out, stride, side) in enumerate(zip(_CHANNELS, _STRIDES, sizes)):
            kind = conv if conv_scope == "all" or k == 0 else "vanilla"
            layers.append(
                make_conv(
                    kind,
                    c_in,
                    c_out,
                    _KERNEL,
                    stride=stride,
                    padding=padding,
                    padding_mode=padding_mode,
                    bias=False,
                    coords=coords,
                    coord_init=coord_init,
                    map_size=side,
                )
            )
            c_in = c_out
        self.convs = nn.ModuleList(layers)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(B, num_classes)`` of images ``(B, 3, H, W)``."""
        for layer in self.convs:
            x = F.relu(layer(x))
        return self.fc(torch.amax(x, dim=(2, 3)))

    def extra_repr(self) -> str:
        return f"conv_type={self.conv_type!r}, conv={self.conv!r}, conv_scope={self.conv_scope!r}"
