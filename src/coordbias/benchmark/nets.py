"""Each task's network for a method at a placement, all from the models registry
(:func:`coordbias.models.create_model`), by the rule of :mod:`coordbias.benchmark.spec`.

- circles: the original study's FCN (``"fcn"``). ``encoder`` and ``all`` are its
  ``conv_scope``; ``first`` is the FCN with plain convolutions but its first one, which is the
  method's (the FCN's own scopes have no ``first``, so that one layer is put in here).
- Red-Green: Kayhan and van Gemert's network (``"redgreen"``) with "same" zero padding for the
  methods (their S-Conv, the convolution that leaks position); ``encoder`` and ``all`` are
  its four convolutions. The
  anchor's rows are their convolution types with plain convolutions.
- Not-so-Clevr: Liu et al.'s classifier and regressor (``"liu_classifier"``,
  ``"liu_regressor"``), the method's kind in the first convolution (``first``) or in every one
  (``encoder``, ``all``), He-normal kernels as theirs.
"""

from __future__ import annotations

import torch
from torch import nn

from coordbias.models import create_model, make_conv
from coordbias.models.variants import variant_fields

__all__ = ["build_network"]


def _fcn(conv: str, placement: str, width: int, num_classes: int, image_size: int) -> nn.Module:
    if placement != "first":
        return create_model(
            "fcn",
            num_classes=num_classes,
            width=width,
            map_size=image_size,
            conv=conv,
            conv_scope=placement,
        )
    model = create_model("fcn", num_classes=num_classes, width=width, map_size=image_size)
    plain = model.stage1[0]
    model.stage1[0] = make_conv(
        conv, plain.in_channels, plain.out_channels, 3, padding=1, map_size=image_size
    )
    return model


def build_network(
    family: str,
    method: str,
    placement: str,
    *,
    width: int = 8,
    num_classes: int = 4,
    image_size: int = 64,
    anchor: bool = False,
) -> nn.Module:
    """The network of a task family for ``method`` at ``placement``.

    Args:
        family: ``circles``, ``redgreen``, ``nsc_class`` or ``nsc_reg``.
        method: a benchmark method (a network variant), or with ``anchor`` on Red-Green a
            convolution type (:data:`coordbias.models.CONV_TYPES`).
        placement: ``first``, ``encoder`` or ``all``.
        width: the FCN's width (circles only).
        num_classes: the FCN's classes (circles only).
        image_size: the circles images' side (for a learned position map).
        anchor: build an anchor's row ``method``: for Red-Green a convolution type; the other
            anchors' rows are methods, built as without ``anchor``.

    Raises:
        ValueError: the method's convolution has no form this network needs (the cell is then
            "n/a" with this message), or an unknown family.
    """
    if anchor and family == "redgreen":
        return create_model("redgreen", conv_type=method)
    conv = variant_fields(method)["conv"]
    if family == "circles":
        return _fcn(conv, placement, width, num_classes, image_size)
    scope = "first" if placement == "first" else "all"
    if family == "redgreen":
        return create_model("redgreen", conv_type="same", conv=conv, conv_scope=scope)
    # channels_last: their 1 x 1 convolutions become plain matrix products. The classifier's
    # training step takes 0.62 to 0.72 of its contiguous time (vanilla 97 against 161 ms, one
    # thread, the machine quiet: `OMP_NUM_THREADS=1 python scripts/classifier_layout.py`); the
    # regressor's was measured 2x faster.
    if family == "nsc_class":
        model = create_model("liu_classifier", conv=conv, conv_scope=scope)
        return model.to(memory_format=torch.channels_last)
    if family == "nsc_reg":
        model = create_model("liu_regressor", conv=conv, conv_scope=scope)
        return model.to(memory_format=torch.channels_last)
    raise ValueError(f"family must be circles, redgreen, nsc_class or nsc_reg; got {family!r}")
