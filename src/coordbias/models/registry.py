"""A registry of model builders: ``create_model(name, **kwargs)`` and ``list_models()``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the registry is read before torch is imported
    from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator that registers a model builder under ``name`` (which must be new)."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(f"a model named {name!r} is already registered")
        _MODELS[name] = builder
        return builder

    return decorate


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`, sorted.

    Example:
        >>> "fcn" in list_models()
        True
    """
    return sorted(_MODELS)


def _accepted_kwargs(builder: Callable[..., nn.Module]) -> list[str] | None:
    """Keyword names ``builder`` accepts, or ``None`` when it takes ``**kwargs`` unchecked."""
    params = inspect.signature(builder).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL]


def create_model(name: str = "fcn", **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` with keyword arguments ``kwargs``.

    Args:
        name: one of :func:`list_models` (``"fcn"``: the original study's network).
        **kwargs: the builder's settings, e.g. for ``"fcn"``: ``num_classes``, ``width``, ``conv``,
            ``conv_scope``, ``batch_norm``, ``padding_mode``, ``coords``, ``coord_init``,
            ``in_channels``.

    Returns:
        The model; for ``"fcn"`` it maps ``(B, 3, H, W)`` to logits ``(B, num_classes, H, W)``.

    Raises:
        ValueError: unknown ``name`` (the message lists the valid names) or a bad setting.
        TypeError: an argument the builder does not take (the message lists those it takes).

    Example:
        >>> model = create_model("fcn", width=4, conv="param_matched")
        >>> type(model).__name__
        'FCN'
    """
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")
    builder = _MODELS[name]
    accepted = _accepted_kwargs(builder)
    if accepted is not None:
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise TypeError(
                f"create_model({name!r}) got unexpected argument(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(accepted)}"
            )
    return builder(**kwargs)
