"""The environment of a run (versions, device, threads), recorded as ``env.json`` in its folder."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from typing import Any

import torch

_PACKAGES = ("coordbias", "torch", "lightning", "torchmetrics", "numpy", "matplotlib", "pyyaml")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment(device: torch.device | str | None = None, **extra: Any) -> dict[str, Any]:
    """Versions, platform, the device used and thread counts, as a JSON-ready ``dict``.

    Example:
        >>> info = environment("cpu")
        >>> info["device"], info["torch_version"] == torch.__version__
        ('cpu', True)
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "versions": {name: _version(name) for name in _PACKAGES},
        "torch_version": torch.__version__,
        "device": str(device),
        "device_name": None,
        "cuda": torch.version.cuda,
        "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    }
    if device.type == "cuda" and torch.cuda.is_available():
        info["device_name"] = torch.cuda.get_device_name(device)
    elif device.type == "cpu":
        info["device_name"] = info["processor"] or info["machine"]
    info.update(extra)
    return info
