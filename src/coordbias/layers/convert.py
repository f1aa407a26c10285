"""``convert``: swap a model's convolutions for coordinate-aware ones, keeping what was learnt.

Which modules are converted:

- ``kind="coordbias"``: modules whose type is exactly ``nn.Conv1d/2d/3d`` or
  ``nn.ConvTranspose1d/2d/3d`` become ``CoordBiasConv*`` / ``CoordBiasConvTranspose*``.
- ``kind="coordconv"``: the same modules become ``CoordConv*`` / ``CoordConvTranspose*``.
- ``kind="fourier"``, ``"coordgate"``, ``"fourier_coordconv"``: modules whose type is exactly
  ``nn.Conv2d`` become ``FourierCoordBiasConv2d``, ``CoordGateConv2d`` or ``FourierCoordConv2d``
  (2-D only; ``frequencies`` sets ``K`` of the two Fourier kinds). The learned position map has
  no ``convert``: its maps are sized for each layer's output, which a model does not know before
  it sees an input.

Subclasses of the torch convolutions (the layers of this package, so already-converted models, and
any other custom convolution) are left alone, since their ``forward`` may differ.

The conversion is all or nothing. Every selected convolution is checked, and every new layer
built, before the first one is replaced. A convolution whose weight is normalised by torch,
through hooks (``torch.nn.utils.weight_norm`` / ``spectral_norm``) or a parametrization
(``torch.nn.utils.parametrizations``), is refused by its qualified name, with the model left
untouched: the new layer would silently drop or freeze the normalisation. Remove it, convert, and
apply it again, or leave those layers out with ``exclude``.

``include`` and ``exclude`` are shell-style patterns (:func:`fnmatch.fnmatchcase`, case-sensitive)
matched against the qualified names that ``model.named_modules()`` gives the convolutions, e.g.
``"encoder.0"`` or ``"decoder.*"``; ``*`` also matches dots, so ``"encoder.*"`` is the whole
subtree of ``encoder``. A convolution is converted when it matches some ``include`` pattern (all do
when ``include`` is ``None``) and no ``exclude`` pattern. A pattern that matches no convertible
convolution is a ValueError (it is most likely a typo); a model without any convolution of the
requested kind (subclasses included) only warns, and converting an already converted model again
changes nothing.

The conversion is in place, like ``nn.SyncBatchNorm.convert_sync_batchnorm``: the children of
``model`` are replaced and ``model`` itself is returned, unless ``model`` is itself a convolution,
in which case the new layer is returned and ``model`` is unchanged. Weights, biases, device,
dtype, ``requires_grad`` and training mode are kept (CoordBias layers reuse the very same
``weight`` and ``bias`` Parameters; CoordConv layers get new, larger weights holding a copy).
The new coordinate weights follow the ``requires_grad`` of the layer's ``weight`` (a frozen layer
stays frozen). Hooks registered on the old convolutions are not carried over, and an optimizer
built before the conversion does not know the new parameters: build it afterwards.

With ``coord_init="zeros"`` (the default) the converted model computes what it computed before:
bitwise for ``"coordbias"`` and ``"fourier"`` (the coordinate term is exactly 0), for
``"coordgate"`` (every gate is exactly 1) and ``"fourier_coordconv"`` (its coordinate channels are
convolved apart, and their zero term added), and to rounding for ``"coordconv"`` where it
concatenates (the zero-weighted coordinate channels change the convolution's summation).
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils import parametrize

from coordbias.layers import coordbias as cb
from coordbias.layers import coordconv as cc
from coordbias.layers._coords import COORDS
from coordbias.layers.addcoords import coord_channels
from coordbias.layers.coordbias import COORD_INITS
from coordbias.layers.coordgate import CoordGateConv2d
from coordbias.layers.fourier import FourierCoordBiasConv2d
from coordbias.layers.fourier_coordconv import FourierCoordConv2d

__all__ = ["KINDS", "convert"]

#: Accepted values of ``kind``.
KINDS = ("coordbias", "coordconv", "fourier", "coordgate", "fourier_coordconv")

_COORDCONV = {
    nn.Conv1d: cc.CoordConv1d,
    nn.Conv2d: cc.CoordConv2d,
    nn.Conv3d: cc.CoordConv3d,
    nn.ConvTranspose1d: cc.CoordConvTranspose1d,
    nn.ConvTranspose2d: cc.CoordConvTranspose2d,
    nn.ConvTranspose3d: cc.CoordConvTranspose3d,
}


# The 2-D position kinds: the class and whether it takes coords (else it is a CoordConv).
_POSITION = {
    "fourier": ({nn.Conv2d: FourierCoordBiasConv2d}, True),
    "coordgate": ({nn.Conv2d: CoordGateConv2d}, True),
    "fourier_coordconv": ({nn.Conv2d: FourierCoordConv2d}, False),
}


_COORDBIAS = {
    nn.Conv1d: cb.CoordBiasConv1d,
    nn.Conv2d: cb.CoordBiasConv2d,
    nn.Conv3d: cb.CoordBiasConv3d,
    nn.ConvTranspose1d: cb.CoordBiasConvTranspose1d,
    nn.ConvTranspose2d: cb.CoordBiasConvTranspose2d,
    nn.ConvTranspose3d: cb.CoordBiasConvTranspose3d,
}


def _patterns(value: str | Iterable[str] | None, name: str) -> list[str] | None:
    if value is None:
        return None
    patterns = [value] if isinstance(value, str) else list(value) if _iterable(value) else None
    if patterns is None or not all(isinstance(p, str) for p in patterns):
        raise TypeError(
            f"{name} must be a pattern string, a list of pattern strings or None, got {value!r}"
        )
    return patterns


def _iterable(value: object) -> bool:
    try:
        iter(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _check_patterns(patterns: list[str] | None, arg: str, names: list[str]) -> None:
    if patterns is None:
        return
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(n, p) for n in names)]
    if unmatched:
        shown = ", ".join(repr(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
        raise ValueError(
            f"{arg} pattern(s) {unmatched} match no convertible convolution; patterns match the "
            f"convolutions' qualified names (use 'block.*' for a subtree), which are: "
            f"{shown or 'none'}"
        )


def _torch_type(module: nn.Module) -> type:
    """The class of ``module``; for one parametrized with ``torch.nn.utils.parametrize``, the
    class it had before (torch swaps in a subclass made on the fly)."""
    if parametrize.is_parametrized(module):
        return type(module).__bases__[0]
    return type(module)


def _unconvertible(module: nn.Module) -> str | None:
    """Why the torch convolution ``module`` cannot be converted keeping what it computes, or
    ``None``. A parametrized weight (``torch.nn.utils.parametrizations``) and a hook-normalised
    one (``torch.nn.utils.weight_norm`` / ``spectral_norm``: ``weight`` is then a tensor computed
    before each call, not a parameter) would be lost or frozen by the new layer."""
    if parametrize.is_parametrized(module):
        names = ", ".join(sorted(module.parametrizations.keys()))
        return f"its {names} is parametrized (torch.nn.utils.parametrize)"
    for name in ("weight", "bias"):
        if getattr(module, name, None) is not None and name not in module._parameters:
            hooks = [type(h).__name__ for h in module._forward_pre_hooks.values()]
            how = f" by {', '.join(hooks)} hooks" if hooks else ""
            return f"its {name} is computed{how}, not a parameter (a hook-based normalisation)"
    return None


def _torch_arguments(old: nn.Module) -> dict:
    """The constructor arguments of ``old`` but for the channel counts and the kernel size."""
    w = old.weight
    arguments = {
        "stride": old.stride,
        "padding": old.padding,
        "dilation": old.dilation,
        "groups": old.groups,
        "bias": old.bias is not None,
        "padding_mode": old.padding_mode,
        "device": w.device,
        "dtype": w.dtype,
    }
    if old.transposed:
        arguments["output_padding"] = old.output_padding
    return arguments


def _new_coordbias(old: nn.Module, cls: type, coords: str, coord_init: str) -> nn.Module:
    arguments = {**_torch_arguments(old), "coords": coords, "coord_init": coord_init}
    new = cls(old.in_channels, old.out_channels, old.kernel_size, **arguments)
    new.weight = old.weight
    new.bias = old.bias
    new.coord_weight.requires_grad_(old.weight.requires_grad)
    return new


def _new_position(old: nn.Module, cls: type, coords: str, coord_init: str, options) -> nn.Module:
    # The layer's own position parameters, then the very same weight and bias Parameters.
    arguments = {**_torch_arguments(old), "coords": coords, "coord_init": coord_init, **options}
    new = cls(old.in_channels, old.out_channels, old.kernel_size, **arguments)
    new.weight = old.weight
    new.bias = old.bias
    for name, p in new.named_parameters():
        if name not in ("weight", "bias"):
            p.requires_grad_(old.weight.requires_grad)
    return new


def _new_coordconv(
    old: nn.Module, cls: type, coord_init: str, with_r: bool, options: dict | None = None
) -> nn.Module:
    w = old.weight
    extra = {"with_r": with_r} if options is None else options
    arguments = {**_torch_arguments(old), **extra}
    new = cls(old.in_channels, old.out_channels, old.kernel_size, **arguments)
    per_group = old.in_channels // old.groups
    with torch.no_grad():
        if old.transposed:
            # (C_in + groups * k, C_out / groups, *kernel): the groups along dim 0.
            k = coord_channels(len(old.kernel_size), with_r)
            grouped = new.weight.view(old.groups, per_group + k, *w.shape[1:])
            user, coord = grouped[:, :per_group], grouped[:, per_group:]
            w = w.view(old.groups, per_group, *w.shape[1:])
        else:
            user, coord = new.weight[:, :per_group], new.weight[:, per_group:]
        # The fresh layer's coordinate slice holds torch's default init, which is "uniform".
        if coord_init == "zeros":
            coord.zero_()
        user.copy_(w)
        if old.bias is not None:
            new.bias.copy_(old.bias)
    new.weight.requires_grad_(old.weight.requires_grad)
    if old.bias is not None:
        new.bias.requires_grad_(old.bias.requires_grad)
    return new


def convert(
    model: nn.Module,
    kind: str = "coordbias",
    include: str | Iterable[str] | None = None,
    exclude: str | Iterable[str] | None = None,
    coord_init: str = "zeros",
    coords: str = "center",
    *,
    with_r: bool = False,
    frequencies: int = 2,
) -> nn.Module:
    """Replace the convolutions of ``model`` with coordinate-aware layers (in place).

    See the module docstring for which modules are converted, how the patterns match, and what is
    kept.

    Args:
        model: The model (any ``nn.Module``, also a single convolution).
        kind: ``"coordbias"`` (``CoordBiasConv*`` and ``CoordBiasConvTranspose*``),
            ``"coordconv"`` (``CoordConv*``, ``CoordConvTranspose*``), or a 2-D position kind:
            ``"fourier"`` (``FourierCoordBiasConv2d``), ``"coordgate"`` (``CoordGateConv2d``) or
            ``"fourier_coordconv"`` (``FourierCoordConv2d``).
        include: Pattern or patterns of qualified module names to convert; ``None``: all.
        exclude: Pattern or patterns of qualified module names to leave alone.
        coord_init: ``"zeros"`` (the model's outputs do not change) or ``"uniform"`` (the new
            layers' own default initialisation of the coordinate weights).
        coords: Coordinate convention of the CoordBias, Fourier and CoordGate layers,
            ``"center"`` or ``"output"``; the CoordConvs only have ``"center"``.
        with_r: For ``kind="coordconv"``: also add the radius channel.
        frequencies: For ``kind="fourier"`` and ``"fourier_coordconv"``: ``K``, the number of
            frequencies per axis.

    Returns:
        ``model`` with its convolutions replaced, or the new layer when ``model`` is itself a
        convolution.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or a pattern is not a string.
        ValueError: Unknown ``kind``, ``coord_init`` or ``coords``, a pattern that matches no
            convertible convolution, or a selected convolution with a normalised weight (hooks
            or a parametrization), named; the model is then unchanged.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1))
        >>> x = torch.randn(1, 3, 16, 16)
        >>> before = model(x)
        >>> model = convert(model, "coordconv", exclude="2")
        >>> type(model[0]).__name__, type(model[2]).__name__
        ('CoordConv2d', 'Conv2d')
        >>> torch.allclose(model(x), before, atol=1e-6)
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if coord_init not in COORD_INITS:
        raise ValueError(f"coord_init must be 'zeros' or 'uniform', got {coord_init!r}")
    if coords not in COORDS:
        raise ValueError(f"coords must be 'center' or 'output', got {coords!r}")
    if kind in ("coordconv", "fourier_coordconv") and coords != "center":
        raise ValueError(
            f"coords={coords!r} applies to kind='coordbias' only; CoordConv's coordinates are "
            f"always on the input grid (leave coords='center')"
        )
    if not isinstance(with_r, bool):
        raise TypeError(f"with_r must be a bool, got {with_r!r}")
    if with_r and kind != "coordconv":
        raise ValueError("with_r=True applies to kind='coordconv' only")
    include_p = _patterns(include, "include")
    exclude_p = _patterns(exclude, "exclude")
    if kind in _POSITION:
        classes = _POSITION[kind][0]
    else:
        classes = _COORDCONV if kind == "coordconv" else _COORDBIAS
    options = {"frequencies": frequencies} if kind in ("fourier", "fourier_coordconv") else {}

    # Every name of every convertible module (a shared module has several).
    candidates = [
        (name, module)
        for name, module in model.named_modules(remove_duplicate=False)
        if _torch_type(module) in classes
    ]
    names = [name for name, _ in candidates]
    _check_patterns(include_p, "include", names)
    _check_patterns(exclude_p, "exclude", names)
    if not candidates and not any(isinstance(m, tuple(classes)) for m in model.modules()):
        wanted = "Conv2d" if kind in _POSITION else "Conv1d/2d/3d"
        wanted += "" if kind in _POSITION else " or ConvTranspose1d/2d/3d"
        warnings.warn(
            f"convert(kind={kind!r}) found no module of type {wanted} to convert",
            UserWarning,
            stacklevel=2,
        )
        return model

    selected = [
        (name, old)
        for name, old in candidates
        if (include_p is None or _matches(name, include_p))
        and (exclude_p is None or not _matches(name, exclude_p))
    ]
    refused = [(name, why) for name, old in selected if (why := _unconvertible(old))]
    if refused:
        listed = "; ".join(f"{name or '(the model itself)'!r}: {why}" for name, why in refused)
        raise ValueError(
            f"convert(kind={kind!r}) cannot convert {len(refused)} convolution(s), so it changed "
            f"nothing: {listed}. Remove the normalisation first "
            "(torch.nn.utils.remove_weight_norm / remove_spectral_norm, or "
            "torch.nn.utils.parametrize.remove_parametrizations), convert, then apply it again; "
            "or leave them out with exclude=[their names]"
        )

    # Every new layer is built before the first one replaces its old one: a layer that cannot be
    # built leaves the model as it was.
    new_modules: dict[int, nn.Module] = {}  # id(old) -> new, so shared modules stay shared
    for _, old in selected:
        if id(old) not in new_modules:
            cls = classes[type(old)]
            if kind == "coordconv":
                new = _new_coordconv(old, cls, coord_init, with_r)
            elif kind == "fourier_coordconv":
                new = _new_coordconv(
                    old, cls, coord_init, False, {**options, "coord_init": coord_init}
                )
            elif kind in _POSITION:
                new = _new_position(old, cls, coords, coord_init, options)
            else:
                new = _new_coordbias(old, cls, coords, coord_init)
            new.train(old.training)
            new_modules[id(old)] = new
    result = model
    for name, old in selected:
        new = new_modules[id(old)]
        if name == "":
            result = new
            continue
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, new)
    return result
