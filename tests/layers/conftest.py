"""Shared helpers for the layer tests: the six coordinate-bias classes, tolerances, a reference;
and the device every layer test runs on."""

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import coordbias as cb
from coordbias.layers import _term
from tests.layers._device import on_test_device


@pytest.fixture(autouse=True)
def device() -> Iterator[torch.device]:
    """The device of every layer test (:mod:`tests.layers._device`): the CPU by default.

    Off the CPU it is torch's default device while the test runs, so the tensors and layers a test
    makes without naming a device are made there and every layer test runs on it unchanged; a test
    that needs the device by name takes this fixture. On the CPU (the normal run) nothing changes.
    """
    with on_test_device() as chosen:
        yield chosen


@dataclass(frozen=True)
class LayerSpec:
    """One coordinate-bias class and the torch layer it extends."""

    cls: type
    torch_cls: type
    dims: int
    transposed: bool

    @property
    def id(self) -> str:
        return self.cls.__name__


SPECS = [
    LayerSpec(cb.CoordBiasConv1d, nn.Conv1d, 1, False),
    LayerSpec(cb.CoordBiasConv2d, nn.Conv2d, 2, False),
    LayerSpec(cb.CoordBiasConv3d, nn.Conv3d, 3, False),
    LayerSpec(cb.CoordBiasConvTranspose1d, nn.ConvTranspose1d, 1, True),
    LayerSpec(cb.CoordBiasConvTranspose2d, nn.ConvTranspose2d, 2, True),
    LayerSpec(cb.CoordBiasConvTranspose3d, nn.ConvTranspose3d, 3, True),
]


@pytest.fixture(scope="session", params=SPECS, ids=lambda s: s.id)
def spec(request) -> LayerSpec:
    """Each of the six coordinate-bias classes in turn."""
    return request.param


# Tolerances against a float64 reference, by dtype (low precision accumulates in the conv).
TOLERANCES = {
    torch.float64: {"atol": 1e-10, "rtol": 1e-10},
    torch.float32: {"atol": 1e-5, "rtol": 1e-5},
    torch.bfloat16: {"atol": 5e-2, "rtol": 2e-2},
    torch.float16: {"atol": 1e-2, "rtol": 1e-2},
}


def torch_twin(layer: nn.Module, spec: LayerSpec) -> nn.Module:
    """The plain torch layer with the same hyper-parameters and weights (coord_weight dropped)."""
    kwargs = {
        "stride": layer.stride,
        "padding": layer.padding,
        "dilation": layer.dilation,
        "groups": layer.groups,
        "bias": layer.bias is not None,
        "padding_mode": layer.padding_mode,
        "dtype": layer.weight.dtype,
    }
    if spec.transposed:
        kwargs["output_padding"] = layer.output_padding
    twin = spec.torch_cls(layer.in_channels, layer.out_channels, layer.kernel_size, **kwargs)
    state = {k: v for k, v in layer.state_dict().items() if k != "coord_weight"}
    twin.load_state_dict(state)
    return twin


def conv_positions_reference(
    size_in: int, size_out: int, k: int, stride: int, pad_left: int, dilation: int
) -> list[float]:
    """Kernel-centre coordinate of each output index, straight from the documented formula."""
    coords = []
    for o in range(size_out):
        p = o * stride - pad_left + dilation * (k - 1) / 2
        coords.append((p - (size_in - 1) / 2) * 2 / max(size_in - 1, 1))
    return coords


def output_positions_reference(size_out: int, centered: bool) -> list[float]:
    if centered:
        return [(o - (size_out - 1) / 2) * 2 / max(size_out - 1, 1) for o in range(size_out)]
    return [o / max(size_out - 1, 1) for o in range(size_out)]


def reference_axes(layer: nn.Module, spec: LayerSpec, size_in: list[int], size_out: list[int]):
    """The coordinate of every output index along each axis, straight from the documented rule."""
    per_axis = []
    for i in range(spec.dims):
        if spec.transposed or layer.coords == "output":
            centered = layer.coords == "center"
            per_axis.append(output_positions_reference(size_out[i], centered))
            continue
        k = layer.kernel_size[i]
        d = layer.dilation[i]
        if layer.padding == "same":
            pad_left = d * (k - 1) // 2
        elif layer.padding == "valid":
            pad_left = 0
        else:
            pad_left = layer.padding[i]
        per_axis.append(
            conv_positions_reference(size_in[i], size_out[i], k, layer.stride[i], pad_left, d)
        )
    return per_axis


def reference_forward(layer: nn.Module, spec: LayerSpec, x: torch.Tensor) -> torch.Tensor:
    """Naive float64 forward: torch's conv for the filter part, then the coordinate term added
    by a Python loop over every output position."""
    twin = torch_twin(layer, spec).double()
    unbatched = x.dim() == spec.dims + 1
    with torch.no_grad():
        base = twin(x.double())
    if unbatched:
        base = base.unsqueeze(0)
    out = base.clone()
    size_out = list(base.shape[2:])
    per_axis = reference_axes(layer, spec, list(x.shape[-spec.dims :]), size_out)
    cw = layer.coord_weight.detach().double()
    for position in itertools.product(*(range(n) for n in size_out)):
        for f in range(base.shape[1]):
            value = sum(cw[f, i].item() * per_axis[i][position[i]] for i in range(spec.dims))
            out[(slice(None), f, *position)] += value
    return out.squeeze(0) if unbatched else out


def reference_coord_grad(layer, spec, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The float64 gradient of ``coord_weight`` for the output gradient ``grad``:
    ``sum over samples and positions of grad[:, f, *p] * c_i(p_i)``."""
    grad = grad.double() if grad.dim() == spec.dims + 2 else grad.double().unsqueeze(0)
    size_out = list(grad.shape[2:])
    per_axis = reference_axes(layer, spec, list(x.shape[-spec.dims :]), size_out)
    columns = []
    for i, coords in enumerate(per_axis):
        shape = [1] * spec.dims
        shape[i] = -1
        c = torch.tensor(coords, dtype=torch.float64).reshape(shape)
        columns.append((grad * c).sum(dim=[0, *range(2, 2 + spec.dims)]))
    return torch.stack(columns, 1)


def make_layer(spec: LayerSpec, in_channels=4, out_channels=6, kernel_size=3, **kwargs):
    return spec.cls(in_channels, out_channels, kernel_size, **kwargs)


def random_input(spec: LayerSpec, batch=2, channels=4, size=7, dtype=torch.float32):
    sizes = [size + i for i in range(spec.dims)]  # non-square / non-cubic on purpose
    return torch.randn(batch, channels, *sizes, dtype=dtype)


@contextlib.contextmanager
def use_path(path: str) -> Iterator[None]:
    """Add the coordinate term by its eager implementation (``"fast"``) or by the traced one
    (``"general"``, what TorchScript, compilers and exporters run) in every eager call."""
    if path not in ("fast", "general"):
        raise ValueError(f"path must be 'fast' or 'general', got {path!r}")
    with _term.forced(eager=path == "fast"):
        yield


PATHS = ("fast", "general")


@pytest.fixture(params=PATHS)
def path(request) -> Iterator[str]:
    """Each implementation of the coordinate term in turn: the eager one and the traced one."""
    with use_path(request.param):
        yield request.param


@pytest.fixture(scope="session")
def ref() -> SimpleNamespace:
    """The helpers above, for test modules (conftest modules are not importable by name)."""
    return SimpleNamespace(
        SPECS=SPECS,
        TOLERANCES=TOLERANCES,
        torch_twin=torch_twin,
        reference_forward=reference_forward,
        reference_coord_grad=reference_coord_grad,
        make_layer=make_layer,
        random_input=random_input,
        conv_positions=conv_positions_reference,
        output_positions=output_positions_reference,
        use_path=use_path,
        PATHS=PATHS,
    )
