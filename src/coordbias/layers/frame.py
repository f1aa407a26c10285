"""``coordinate_frame``: tell every coordinate layer where its input lies in a larger image.

Outside a frame every layer computes the coordinates of the tensor it sees. Inside one, the
model's input is a *tile* (a crop, a patch, a sliding window) of a larger image, and every
coordinate layer (the coordinate-bias convolutions, CoordConv and its transposed form,
``AddCoords``) computes the coordinates its locations have in that image instead, at its own
resolution: a layer whose grid has ``n`` pixels where the tile has ``tile`` reads the frame at
scale ``n / tile``. The geometry is :func:`coordbias.layers._coords.framed_axes`.

That scale is exact for networks that keep the tile's alignment (each stage's feature map covers
the tile, as with ``"same"``-style padding, pooling by the stride and transposed convolutions
that undo it: the study's FCN, U-Nets) and tiles whose origins are multiples of the network's
total stride; there a tile's coordinates equal those of the whole image bit for bit, and the
model's output on a tile equals the whole image's output away from the tile's border by the
receptive field. A network whose feature maps shrink (unpadded convolutions) is not supported.

Where it works: eager mode and ``torch.compile`` (the frame's origin is a tensor, so new tiles
do not recompile). Where it cannot: TorchScript code cannot read the frame, and ``torch.jit.trace``,
``torch.export`` or ONNX export inside a frame would bake one tile's coordinates into the program;
all of these raise a ``RuntimeError`` inside a frame rather than ignore it (export outside the
frame, or run the eager or compiled model inside it).

The frame holds for the thread, or the async task, that entered it (a context variable, as torch
keeps grad mode and autocast per thread): other threads and sibling tasks see none, so one model
may serve tiles of several images at once; a task created inside a frame inherits it, as it
inherits every context variable.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from coordbias.layers import _coords
from coordbias.layers._broadcast import add_axes_term
from coordbias.layers._coords import Frame, Geometry

__all__ = ["coordinate_frame", "current_frame"]

# The classes that read the frame, as TorchScript records them (``original_name``).
_FRAMED_LAYERS = frozenset(
    f"{family}{d}d"
    for family in ("CoordBiasConv", "CoordBiasConvTranspose", "CoordConv", "CoordConvTranspose")
    for d in (1, 2, 3)
) | {"AddCoords"}


def _as_table(name: str, value: object, dims: int | None) -> Tensor:
    """``value`` as a ``(G, D)`` float64 tensor (G = 1 for one place for the whole batch)."""
    if isinstance(value, Tensor):
        table = value.detach()
        if table.dim() == 1:
            table = table.unsqueeze(0)
        if table.dim() != 2 or table.shape[0] == 0 or table.is_complex():
            raise ValueError(
                f"coordinate_frame: {name} must be a (D,) or (B, D) real tensor, got shape "
                f"{list(value.shape)}, dtype {value.dtype}"
            )
        table = table.to(torch.float64)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise TypeError(f"coordinate_frame: {name} must be numbers, got {value!r}")
        table = torch.tensor([list(value)], dtype=torch.float64)
    else:
        raise TypeError(
            f"coordinate_frame: {name} must be a sequence of numbers or a (D,) / (B, D) tensor, "
            f"got {type(value).__name__}"
        )
    if dims is not None and table.shape[1] != dims:
        raise ValueError(
            f"coordinate_frame: {name} has {table.shape[1]} spatial dims, tile has {dims}"
        )
    if not bool(torch.isfinite(table).all()):
        raise ValueError(f"coordinate_frame: {name} must be finite, got {value!r}")
    return table


def _check_tile(tile: object) -> list[int]:
    if (
        not isinstance(tile, Sequence)
        or isinstance(tile, str)
        or not 1 <= len(tile) <= 3
        or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 1 for t in tile)
    ):
        raise ValueError(
            f"coordinate_frame: tile must be 1 to 3 positive ints (the spatial size of the "
            f"model's input, e.g. crop.shape[-2:]), got {tile!r}"
        )
    return [int(t) for t in tile]


# The key of the global forward pre-hook below in torch's dict of them, one for the process.
_HOOK_KEY = RemovableHandle(nn.modules.module._global_forward_pre_hooks).id
# How many frames are open, in all threads and tasks together (the hook is installed while any
# is), and the lock that guards the count and the hook's installation.
_open_frames = 0
_hook_lock = threading.Lock()


def _refuse_scripted(module: nn.Module, args: object) -> None:
    # A global forward pre-hook, installed only while a frame is open in some thread: a
    # TorchScript module cannot read the frame, so one with coordinate layers called inside a
    # frame raises instead of ignoring it (a thread outside any frame runs it as usual).
    if (
        isinstance(module, torch.jit.ScriptModule)
        and current_frame() is not None
        and any(getattr(m, "original_name", None) in _FRAMED_LAYERS for m in module.modules())
    ):
        raise RuntimeError(
            f"coordinate_frame: the TorchScript module {module.original_name} has coordinate "
            f"layers, and TorchScript code cannot see the frame; run the eager or torch.compile'd "
            f"model inside coordinate_frame (or script it and run it outside any frame)"
        )


@contextlib.contextmanager
def coordinate_frame(
    origin: Sequence[float] | Tensor, size: Sequence[float] | Tensor, tile: Sequence[int]
) -> Iterator[None]:
    """Run coordinate layers as if their input were a tile of a larger image.

    All positions are in pixels of the model's input, per spatial dimension in torch's order
    (2-D: rows, then columns). See the module docstring for what the layers do inside the frame,
    where it is exact, and where it raises.

    Args:
        origin: The image pixel of the tile's first pixel: ``D`` numbers, or a ``(B, D)`` tensor
            giving one origin per sample of the batch (a batch of crops from different places).
        size: The image's size: ``D`` numbers, or a ``(B, D)`` tensor (one per sample).
        tile: The tile's size, the spatial size of the model's input (``crop.shape[-D:]``); the
            layers divide it by their own grid's size to find their resolution.

    Raises:
        TypeError: An argument of the wrong type.
        ValueError: Sizes that do not fit together, a non-positive size or tile, a non-finite
            origin.

    Example:
        >>> import torch
        >>> from coordbias import AddCoords
        >>> image = torch.zeros(1, 0, 8, 8)
        >>> whole = AddCoords()(image)
        >>> with coordinate_frame(origin=(4, 0), size=(8, 8), tile=(4, 8)):
        ...     tile = AddCoords()(image[:, :, 4:])
        >>> torch.equal(tile, whole[:, :, 4:])
        True
    """
    tile_size = _check_tile(tile)
    dims = len(tile_size)
    origins = _as_table("origin", origin, dims)
    sizes = _as_table("size", size, dims)
    if not bool((sizes >= 1).all()):
        raise ValueError(f"coordinate_frame: size must be at least 1 pixel, got {size!r}")
    groups = {origins.shape[0], sizes.shape[0]} - {1}
    if len(groups) > 1:
        raise ValueError(
            f"coordinate_frame: origin has {origins.shape[0]} rows and size {sizes.shape[0]}; "
            f"per-sample rows must be as many as the batch in both"
        )
    rows = max(origins.shape[0], sizes.shape[0])
    frame = _coords.Frame(
        origins.expand(rows, dims).clone(), sizes.expand(rows, dims).clone(), tile_size
    )
    _count_frames(1)
    try:
        token = _coords.FRAME.set(frame)
        try:
            yield
        finally:
            _coords.FRAME.reset(token)
    finally:
        _count_frames(-1)


def _count_frames(change: int) -> None:
    """Count a frame opened (``+1``) or closed (``-1``); the TorchScript guard is installed while
    the count is positive."""
    global _open_frames
    hooks = nn.modules.module._global_forward_pre_hooks
    with _hook_lock:
        _open_frames += change
        if _open_frames == 0:
            hooks.pop(_HOOK_KEY, None)
        elif _HOOK_KEY not in hooks:
            # Always under the same key, hence torch's private dict: torch.compile guards on the
            # global hooks' keys, and the public register_module_forward_pre_hook takes a new
            # key each time, which recompiles the model for every tile.
            hooks[_HOOK_KEY] = _refuse_scripted


def current_frame() -> Frame | None:
    """The frame of the calling thread or async task, or ``None`` outside any.

    Eagerly the context variable :data:`coordbias.layers._coords.FRAME`, read directly (a few
    tens of ns). ``torch.compile`` cannot trace ``ContextVar.get``; compiled code reads the
    module attribute ``_coords.active`` instead, which dynamo re-reads in its guards on every
    call, in the caller's thread and context (see ``_coords.__getattr__``).
    """
    if torch.compiler.is_compiling():
        return _coords.active
    return _coords.FRAME.get()


def _exporting() -> bool:
    """``torch.compiler.is_exporting()``, but right under ``torch.compile`` in every torch.

    Until torch 2.12, the compiler traced ``is_exporting()`` as true under every
    ``torch.compile`` (pytorch/pytorch#176347; seen on torch 2.11 by the GPU check), which would
    refuse a compiled model inside a frame. The flag the function returns, which export sets and
    the compiler reads as a constant, is right in every version; the public call where it is
    missing.
    """
    flag = getattr(torch.compiler, "_is_exporting_flag", None)
    return torch.compiler.is_exporting() if flag is None else bool(flag)


def refuse_export() -> None:
    """Raise inside a frame under ``torch.jit.trace`` or ``torch.export`` (see the module)."""
    exporting = _exporting()
    if torch.compiler.is_compiling() and not exporting:
        return  # torch.compile: the frame's origin is an input of the graph
    if exporting or torch.jit.is_tracing():
        raise RuntimeError(
            "coordinate_frame: torch.jit.trace / torch.export / ONNX export inside a coordinate "
            "frame would bake one tile's coordinates into the program; export outside the frame "
            "(the exported model then computes the coordinates of its own input)"
        )


def framed_add(out: Tensor, coord_weight: Tensor, geometry: Geometry, frame: Frame) -> Tensor:
    """The coordinate term of a coordinate-bias layer inside a frame, added to ``out`` in place.

    The per-axis vectors of :func:`coordbias.layers._coords.framed_axes`, one row per sample of
    a per-sample frame, broadcast into the output as the traced implementation of
    ``coordbias.layers._term`` does; eager and compiled alike (nothing is cached: the frame
    changes from tile to tile).
    """
    refuse_export()
    dims = len(geometry.kernel)
    size_out: list[int] = list(out.shape[out.dim() - dims :])
    axes = _coords.framed_axes(geometry, size_out, frame, coord_weight.dtype, out.device)
    batched = out.dim() == dims + 2
    rows = axes[0].shape[0]
    if rows != 1 and (not batched or rows != out.shape[0]):
        batch = out.shape[0] if batched else "none (unbatched)"
        raise ValueError(
            f"coordinate_frame has {rows} per-sample origins, but a layer's output has batch "
            f"size {batch}; give one origin per sample, or D numbers for the whole batch"
        )
    if not batched:
        axes = [axis[0] for axis in axes]
    return add_axes_term(out, coord_weight, axes, True)
