"""The device the layer tests run on, and what a test needs to run unchanged on it.

``$COORDBIAS_TEST_DEVICE`` names it (``coordbias speed gpu-check`` sets it); unset, the CPU. Off
the CPU it is torch's default device while a test runs (``torch.set_default_device``), and the
tests check the layers' arithmetic, not the GPU libraries' shortcuts: TF32 is off, and cuDNN and
cuBLAS pick deterministic algorithms, so that two calls of one layer on one input agree bit for
bit there as on the CPU.
"""

import contextlib
import os

import torch

#: The environment variable that names the device of the layer tests.
DEVICE_VARIABLE = "COORDBIAS_TEST_DEVICE"

DEVICE = torch.device(os.environ.get(DEVICE_VARIABLE, "cpu"))

if DEVICE.type == "cuda":
    # Read when cuBLAS starts (before any test touches the GPU): its deterministic workspace.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


@contextlib.contextmanager
def on_test_device():
    """Make :data:`DEVICE` the default device in the calling thread (a no-op on the CPU).

    torch keeps the default device per thread: a test's own threads enter this too.
    """
    if DEVICE.type == "cpu":
        yield DEVICE
        return
    saved = (
        torch.backends.cudnn.allow_tf32,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.set_default_device(DEVICE)
    try:
        yield DEVICE
    finally:
        torch.set_default_device(None)
        (
            torch.backends.cudnn.allow_tf32,
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark,
        ) = saved


def autocast_bf16() -> torch.autocast:
    """bfloat16 autocast on the test device (the CPU's autocast leaves CUDA tensors alone)."""
    return torch.autocast(DEVICE.type, dtype=torch.bfloat16)


def exact_here() -> bool:
    """Whether results that two compilers round differently must agree bit for bit: on the CPU.

    On a GPU, TorchScript's fuser contracts multiplications and additions into one rounding.
    """
    return DEVICE.type == "cpu"
