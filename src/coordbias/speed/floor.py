"""The floor of a learned position term: an in-place add of a learned ``(1, C, H, W)`` map after
every convolution.

Any learned position-dependent term of a convolution's output must, in eager PyTorch, at least
read the term and read-modify-write the output once forward, and reduce the output gradient over
the batch once backward. :class:`MapAdd` does exactly that and nothing else: its map is stored
ready to add, in the output's dtype and memory format (no coordinates to build, no product to
form), and an in-place add saves nothing for backward. A coordinate bias computes the same kind of
term from ``2 * C`` weights, so in eager mode it can come close to the floor but not go below it.
The floor is a reference, not a contender: its ``C * H * W`` parameters per layer tie it to one
input size. (``coordbias speed layers`` has the same floor for one layer.)
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CONVOLUTIONS", "MapAdd", "add_floor"]

#: The modules :func:`add_floor` wraps: those ``coordbias.convert`` converts (exact types).
CONVOLUTIONS = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


class MapAdd(nn.Module):
    """``conv(x)`` followed by an in-place add of the learned map ``position_map``.

    Args:
        conv: the convolution.
        position_map: the initial map, ``(1, C_out, *spatial_out)``.
    """

    def __init__(self, conv: nn.Module, position_map: torch.Tensor) -> None:
        super().__init__()
        self.conv = conv
        self.position_map = nn.Parameter(position_map)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).add_(self.position_map)


def add_floor(
    model: nn.Module,
    example: torch.Tensor,
    *,
    dtype: torch.dtype | None = None,
    init: str = "zeros",
) -> nn.Module:
    """Put the floor into ``model`` (in place): every convolution becomes a :class:`MapAdd`.

    Each map has the size of its convolution's output for ``example`` (one forward reads the
    sizes), the device of the convolution's weight and ``dtype`` (default: the weight's; under
    autocast pass the autocast dtype, so the add casts nothing). ``model.to(memory_format=
    torch.channels_last)`` afterwards lays the maps out as the outputs.

    Args:
        model: the network; its convolutions (:data:`CONVOLUTIONS`) are wrapped where they are.
        example: an input of the size the network will see.
        dtype: dtype of the maps.
        init: ``"zeros"`` (the network computes what it computed before, bit for bit) or
            ``"normal"`` (standard normal maps, for tests).

    Returns:
        ``model`` (or the wrapper, when ``model`` is itself a convolution).

    Example:
        >>> net = add_floor(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1)), torch.zeros(1, 3, 8, 8))
        >>> type(net[0]).__name__, net[0].position_map.shape
        ('MapAdd', torch.Size([1, 4, 8, 8]))
    """
    if init not in ("zeros", "normal"):
        raise ValueError(f"init must be 'zeros' or 'normal', got {init!r}")
    convs = {n: m for n, m in model.named_modules() if type(m) in CONVOLUTIONS}
    sizes: dict[str, tuple[int, ...]] = {}

    def recorder(name: str):
        def hook(_module: nn.Module, _args: tuple, out: torch.Tensor) -> None:
            sizes[name] = tuple(out.shape[1:])

        return hook

    handles = [m.register_forward_hook(recorder(n)) for n, m in convs.items()]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    for name, conv in convs.items():
        if name not in sizes:
            continue  # not called on this input: nothing to size its map by
        kw = {"device": conv.weight.device, "dtype": dtype or conv.weight.dtype}
        size = (1, *sizes[name])
        start = torch.zeros(size, **kw) if init == "zeros" else torch.randn(size, **kw)
        wrapped = MapAdd(conv, start)
        if not name:
            return wrapped
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, wrapped)
    return model
