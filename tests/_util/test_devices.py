"""--device names: refused at once when unknown or not available here."""

import pytest
import torch

from coordbias._util.devices import available_devices, resolve_device
from coordbias._util.errors import UserValueError


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    auto = resolve_device("auto")
    assert auto == resolve_device(None) and str(auto) in {*available_devices(), "cuda", "mps"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tpu", r"device 'tpu' is not a device name; accepted: auto, cpu, cuda, cuda:N, mps"),
        ("cuda:x", "is not a device name"),
        ("meta", r"device 'meta' is not supported"),
    ],
)
def test_unknown_devices_are_refused(name, message):
    with pytest.raises(UserValueError, match=message):
        resolve_device(name)


def test_a_device_this_machine_lacks_is_refused():
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(UserValueError, match=rf"device 'cuda:{count}' is not available here"):
        resolve_device(f"cuda:{count}")
    if not torch.cuda.is_available():
        missing = r"\(CUDA is not available\); this machine has cpu"
        with pytest.raises(UserValueError, match=missing):
            resolve_device("cuda")
