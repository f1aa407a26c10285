"""The model variants the study compares, each a set of model fields of a ``TrainConfig``.

A variant changes only how the network is built (``conv``, ``conv_scope``, ``batch_norm``,
``padding_mode``); data, optimiser and seed come from the preset, so every variant sees the same
images in the same order and differs from ``vanilla`` in the one property its name says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One network variant of the study.

    Attributes:
        name: the key used in folders, tables and ``results.json``.
        description: one line for the report.
        model: ``TrainConfig`` model fields that this variant sets.
    """

    name: str
    description: str
    model: Mapping[str, Any] = field(default_factory=dict)


def _variant(name: str, description: str, **model: Any) -> Variant:
    return Variant(name, description, MappingProxyType(dict(model)))


#: Every variant the study can train, by name (read-only).
VARIANTS: Mapping[str, Variant] = MappingProxyType(
    {
        v.name: v
        for v in (
            _variant("vanilla", "plain 3x3 convolutions (the original's baseline)", conv="vanilla"),
            _variant(
                "coordbias",
                "coordinate bias in every encoder conv (the original's network)",
                conv="coordbias",
                conv_scope="encoder",
            ),
            _variant(
                "coordconv",
                "CoordConv (Liu et al. 2018) in every encoder conv",
                conv="coordconv",
                conv_scope="encoder",
            ),
            _variant(
                "param_matched",
                "vanilla plus as many extra parameters per layer as coordbias adds, "
                "carrying no position",
                conv="param_matched",
                conv_scope="encoder",
            ),
            _variant(
                "vanilla_bn", "vanilla with BatchNorm after every encoder conv", batch_norm=True
            ),
            _variant(
                "coordbias_bn",
                "coordbias with BatchNorm after every encoder conv",
                conv="coordbias",
                batch_norm=True,
            ),
            _variant(
                "coordbias_all",
                "coordinate bias in the encoder and the decoder",
                conv="coordbias",
                conv_scope="all",
            ),
            _variant(
                "vanilla_circular",
                "vanilla with circular encoder padding, which leaks no position (a lower bound)",
                padding_mode="circular",
            ),
            _variant(
                "fourier",
                "Fourier coordinate bias (y, x and sin/cos of 2 frequencies per axis) in every "
                "encoder conv",
                conv="fourier",
                conv_scope="encoder",
            ),
            _variant(
                "position_map",
                "a learned per-channel row + column position map in every encoder conv, "
                "interpolated at other sizes",
                conv="position_map",
                conv_scope="encoder",
            ),
            _variant(
                "coordgate",
                "CoordGate (Howard et al. 2024): every encoder conv gated per channel by an MLP "
                "of (y, x)",
                conv="coordgate",
                conv_scope="encoder",
            ),
            _variant(
                "fourier_coordconv",
                "Fourier-feature CoordConv (sin/cos coordinate channels, as Xu et al. 2021) in "
                "every encoder conv",
                conv="fourier_coordconv",
                conv_scope="encoder",
            ),
        )
    }
)

#: The position methods beyond the original study's (issue 11), one variant each.
METHOD_VARIANTS = ("fourier", "position_map", "coordgate", "fourier_coordconv")
#: The variants of the original study's questions: every variant but :data:`METHOD_VARIANTS`.
STUDY_VARIANTS = tuple(name for name in VARIANTS if name not in METHOD_VARIANTS)

# Fields a variant may set; everything else a variant leaves at the preset's value.
MODEL_FIELDS = ("conv", "conv_scope", "batch_norm", "padding_mode")
_MODEL_DEFAULTS = {"conv": "vanilla", "conv_scope": "encoder", "batch_norm": False}


def get_variant(name: str) -> Variant:
    """The variant called ``name``.

    Raises:
        ValueError: ``name`` is not a known variant; the message lists the known ones.

    Example:
        >>> get_variant("coordbias").model["conv"]
        'coordbias'
    """
    if not isinstance(name, str) or name not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {name!r}")
    return VARIANTS[name]


def resolve_variants(names: Iterable[str] | str | None, default: Iterable[str]) -> list[str]:
    """Check and normalise a list of variant names, keeping their order, without duplicates.

    Args:
        names: names (a list, or one comma-separated string); ``None`` takes ``default``.
        default: the preset's variants.

    Raises:
        ValueError: an unknown name or an empty list.

    Example:
        >>> resolve_variants("coordbias,vanilla,coordbias", default=["vanilla"])
        ['coordbias', 'vanilla']
    """
    if names is None:
        names = list(default)
    elif isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    out: list[str] = []
    for name in names:
        get_variant(name)
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError(f"variants must name at least one of {', '.join(VARIANTS)}; got none")
    return out


def variant_fields(name: str) -> dict[str, Any]:
    """The ``TrainConfig`` model fields of variant ``name`` (all four of MODEL_FIELDS but padding).

    ``padding_mode`` is set only by variants that change it, so a preset's padding stays in force
    for the others.

    Example:
        >>> variant_fields("coordbias_all")
        {'conv': 'coordbias', 'conv_scope': 'all', 'batch_norm': False}
    """
    fields = dict(_MODEL_DEFAULTS)
    fields.update(get_variant(name).model)
    return fields
