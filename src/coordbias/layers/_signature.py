"""The torch layer's constructor signature, shared by every coordinate layer.

Each coordinate layer subclasses a torch convolution and takes its arguments in the same order,
plus keyword-only options of its own. Instead of writing torch's twelve-argument signature out
once per base class, the layers' ``__init__`` takes ``*args, **kwargs``, binds them against the
torch layer's own signature (:func:`bind`) for the checks that must run before torch's
``__init__``, and publishes the combined signature (:class:`TorchSignature`) for ``inspect`` and
the documentation. Construction-time only: nothing here runs in ``forward``.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

__all__ = ["TorchSignature", "bind", "torch_layer"]


def torch_layer(cls: type) -> type[nn.Module]:
    """The torch convolution class that ``cls`` subclasses (``nn.Conv2d``, ...)."""
    for base in cls.__mro__:
        if base.__module__ == nn.Conv2d.__module__ and issubclass(base, nn.Module):
            return base
    raise TypeError(f"{cls.__name__} does not subclass a torch convolution")


def bind(cls: type, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The torch layer's arguments of a call ``cls(*args, **kwargs)``, defaults filled in.

    Raises:
        TypeError: The arguments do not fit the torch layer's signature (named as ``cls``).
    """
    signature = inspect.signature(torch_layer(cls))
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{cls.__name__}: {error}; the signature is {cls.__signature__}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


class TorchSignature:
    """Class attribute ``__signature__``: the torch layer's parameters, then ``options``.

    ``inspect.signature(CoordBiasConv2d)`` then reads like torch's own, plus the keyword-only
    options. Seen from an instance it does not exist (``inspect.signature(layer)`` stays that of
    ``forward``).
    """

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __get__(self, instance: object, owner: type) -> inspect.Signature:
        if instance is not None:
            raise AttributeError("__signature__")
        torch_params = list(inspect.signature(torch_layer(owner)).parameters.values())
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
            for name, default in self.options.items()
        ]
        return inspect.Signature([*torch_params, *extra])
