"""Where the compiled U-Net's cost over vanilla comes from: the term, and other forms of it.

``coordbias speed networks --paths compile`` reads the U-Net (32 channels, 128 px, batch 8)
above 1.03 of vanilla on the CPU. This times the compiled training step (inductor) of the
converted U-Net with the traced implementation (``coordbias.layers._term.traced_add``, what
``torch.compile`` sees) swapped for other forms, each as a ratio to vanilla compiled in the same
process (median over interleaved rounds, freed memory kept):

* ``coordbias``: the library as it is;
* ``no_term``: the term left out (what the conversion costs without it);
* ``channel_bias``: ``out + coord_weight[:, 0]`` per channel, the simplest learned term added
  after a convolution (less work than the coordinate term; not the same function);
* ``per_sample``: the weights broadcast per sample, so that the weight gradient reduces per
  (sample, channel), as the instance norm after it does;
* ``matmul``: the term as one ``(C, 2) @ (2, H*W)`` product, a map that the partitioner keeps
  rather than recomputes;
* ``eager_op``: the library's eager implementation as an opaque custom op (the add in place,
  not fused into the norm) with inductor's reductions for the weight gradient.

Each form runs in a process of its own: dynamo reuses a graph compiled for one module instance
for another of the same structure, so two forms in one process may time one graph. Run it alone
on a quiet machine (about 2 minutes a form)::

    OMP_NUM_THREADS=1 taskset -c 1 python scripts/compile_term_forms.py
"""

import json
import statistics
import subprocess
import sys
import time
from unittest import mock

import torch
from torch import Tensor

from coordbias._util.memory import keep_freed_memory
from coordbias.layers import _term
from coordbias.layers._coords import Geometry, layer_axes
from coordbias.speed import networks

FORMS = ("coordbias", "no_term", "channel_bias", "per_sample", "matmul", "eager_op")
ROUNDS = 7


def _axes(out: Tensor, geometry: Geometry) -> list[Tensor]:
    dims = len(geometry.kernel)
    return layer_axes(geometry, list(out.shape[out.dim() - dims :]), torch.float32, out.device)


def no_term(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    return out


def channel_bias(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    return out.add_(coord_weight[:, 0].view(1, -1, 1, 1))


def per_sample(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    rows, cols = _axes(out, geometry)
    batch, channels = out.shape[0], out.shape[1]
    weight = coord_weight.unsqueeze(0).expand(batch, channels, 2)
    term = weight[:, :, 0].reshape(batch, channels, 1, 1) * rows.view(1, 1, -1, 1)
    term = term + weight[:, :, 1].reshape(batch, channels, 1, 1) * cols.view(1, 1, 1, -1)
    return out.add_(term)


def matmul(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    rows, cols = _axes(out, geometry)
    height, width = rows.shape[0], cols.shape[0]
    grid = torch.stack([rows.view(-1, 1).expand(height, width).reshape(-1), cols.repeat(height)])
    return out.add_((coord_weight @ grid).view(1, -1, height, width))


@torch.library.custom_op("coordbias_script::add_term_", mutates_args=("out",))
def _add_term_(
    out: Tensor,
    coord_weight: Tensor,
    transposed: bool,
    coords: str,
    size_in: list[int],
    kernel: list[int],
    stride: list[int],
    pad_left: list[int],
    dilation: list[int],
) -> None:
    geometry = Geometry(transposed, coords, size_in, kernel, stride, pad_left, dilation)
    _term._eager_add(out, coord_weight, geometry)


@_add_term_.register_fake
def _(out, coord_weight, *geometry) -> None:
    return None


class _EagerOp(torch.autograd.Function):
    """The eager add as an opaque op; the weight gradient from torch operations."""

    @staticmethod
    def forward(ctx, out, coord_weight, geometry):  # type: ignore[override]
        _add_term_(out, coord_weight, *geometry)
        ctx.mark_dirty(out)
        ctx.geometry = geometry
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        rows, cols = _axes(grad, Geometry(*ctx.geometry))
        by_rows = (grad * rows.view(1, 1, -1, 1)).sum((2, 3))
        by_cols = (grad * cols.view(1, 1, 1, -1)).sum((2, 3))
        return grad, torch.stack([by_rows, by_cols], -1).sum(0), None


def eager_op(out: Tensor, coord_weight: Tensor, geometry: Geometry) -> Tensor:
    return _EagerOp.apply(out, coord_weight, tuple(geometry))


def _step(variant: str, form=None):
    setting = networks.SETTINGS["unet"]
    path = networks.network_path("compile")
    device = torch.device("cpu")
    model = networks.build_network(setting, variant, path, device)
    batch = networks._batch(setting, path, device)
    step = networks.training_step(model, torch.compile(model), path, device, batch)
    if form is None:
        return step

    def patched():
        with mock.patch.object(_term, "traced_add", form):
            return step()

    return patched


def measure(form: str) -> dict[str, float]:
    """The compiled step of the U-Net with ``form`` over vanilla's, side by side."""
    torch.set_num_threads(1)
    keep_freed_memory()
    steps = {
        "vanilla": _step("vanilla"),
        form: _step("coordbias", None if form == "coordbias" else globals()[form]),
    }
    for step in steps.values():  # compile and warm up
        step(), step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    ratios = [t / v for t, v in zip(times[form], times["vanilla"], strict=True)]
    return {
        "form": form,
        "ratio": statistics.median(ratios),
        "low": min(ratios),
        "high": max(ratios),
        "vanilla_ms": 1000 * statistics.median(times["vanilla"]),
    }


def main() -> None:
    if len(sys.argv) > 1:  # one form, in this process
        print(json.dumps(measure(sys.argv[1])))
        return
    print(f"U-Net compiled training step over vanilla's, median of {ROUNDS} rounds (min-max)")
    for form in FORMS:
        line = (
            subprocess.run(
                [sys.executable, __file__, form], capture_output=True, text=True, check=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(line)
        print(
            f"{form:13s} {r['ratio']:.3f} ({r['low']:.3f}-{r['high']:.3f})"
            f"  vanilla {r['vanilla_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
