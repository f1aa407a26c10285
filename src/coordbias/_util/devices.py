"""The one reading of a ``--device`` name: a torch device that exists on this machine.

``torch.device("tpu")`` fails with a parser message and ``torch.device("cuda")`` succeeds on a
machine without CUDA (the failure comes later, deep in the first copy); :func:`resolve_device`
refuses both at once, naming the value, what is accepted and what this machine has.
"""

from __future__ import annotations

from typing import Any

from coordbias._util.errors import UserValueError

__all__ = ["available_devices", "resolve_device"]

ACCEPTED = "auto, cpu, cuda, cuda:N, mps"


def _backend(kind: str) -> Any:
    import torch

    if kind == "mps":
        return getattr(torch.backends, "mps", None)
    return getattr(torch, kind, None)


def _count(kind: str) -> int:
    backend = _backend(kind)
    if backend is None or not backend.is_available():
        return 0
    counter = getattr(backend, "device_count", None)
    return int(counter()) if counter is not None else 1


def available_devices() -> list[str]:
    """The devices this machine offers, e.g. ``['cpu']`` or ``['cpu', 'cuda:0', 'cuda:1']``.

    Example:
        >>> available_devices()[0]
        'cpu'
    """
    names = ["cpu"]
    names += [f"cuda:{i}" for i in range(_count("cuda"))]
    if _count("mps"):
        names.append("mps")
    return names


def resolve_device(name: Any = None) -> Any:
    """The ``torch.device`` that ``name`` names, checked against this machine.

    ``None`` or ``"auto"`` picks the first of CUDA, MPS and the CPU that is available.

    Raises:
        UserValueError: ``name`` is no device torch knows, is not one this project runs on, or is
            not available here (no CUDA, an index past the last GPU); the message lists what this
            machine has.

    Example:
        >>> resolve_device("cpu"), resolve_device(None).type in ("cpu", "cuda", "mps")
        (device(type='cpu'), True)
    """
    import torch

    if isinstance(name, torch.device):
        device = name
    elif name is None or name == "auto":
        kind = next((k for k in ("cuda", "mps") if _count(k)), "cpu")
        return torch.device(kind)
    else:
        try:
            device = torch.device(str(name))
        except (RuntimeError, ValueError):
            raise UserValueError(
                f"device {name!r} is not a device name; accepted: {ACCEPTED} "
                f"(this machine has {', '.join(available_devices())})"
            ) from None
    if device.type == "cpu":
        return device
    if device.type not in ("cuda", "mps"):
        raise UserValueError(
            f"device {str(name)!r} is not supported; accepted: {ACCEPTED} "
            f"(this machine has {', '.join(available_devices())})"
        )
    count = _count(device.type)
    if count == 0 or (device.index is not None and device.index >= count):
        what = f"{device.type.upper()} is not available" if count == 0 else f"only {count} found"
        raise UserValueError(
            f"device {str(name)!r} is not available here ({what}); this machine has "
            f"{', '.join(available_devices())}"
        )
    return device
