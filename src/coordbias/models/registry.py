"""A registry of model builders: ``create_model(name, **kwargs)`` and ``list_models()``."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the registry is read before torch is imported
    from torch import nn

#: Each name's builder, or the ``"module:Class"`` it names, imported on the first build.
_MODELS: dict[str, Callable[..., nn.Module] | str] = {}


def _register(name: str, builder: Callable[..., nn.Module] | str) -> None:
    if name in _MODELS:
        raise ValueError(f"a model named {name!r} is already registered")
    _MODELS[name] = builder


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator that registers a model builder under ``name`` (which must be new)."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _register(name, builder)
        return builder

    return decorate


def register_class(name: str, target: str) -> None:
    """Register the model class ``target``, ``"module:Class"``, under ``name`` (which must be new).

    The module is imported on the first :func:`create_model` of ``name``, so that registering
    imports nothing (torch included); the class's keyword arguments are its settings, checked as
    a builder's are.

    Example:
        >>> register_class("unet", "coordbias.models.unet:UNet")
        Traceback (most recent call last):
        ValueError: a model named 'unet' is already registered
    """
    module, sep, attribute = target.partition(":")
    if not (sep and module and attribute):
        raise ValueError(f"target must be 'module:Class', got {target!r}")
    _register(name, target)


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
    if isinstance(builder, str):
        module, _, attribute = builder.partition(":")
        builder = getattr(importlib.import_module(module), attribute)
    accepted = _accepted_kwargs(builder)
    if accepted is not None:
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise TypeError(
                f"create_model({name!r}) got unexpected argument(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(accepted)}"
            )
    return builder(**kwargs)
