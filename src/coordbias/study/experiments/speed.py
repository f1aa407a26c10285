"""Open question 3, the speed side: what CoordConv and the coordinate bias cost against nn.Conv2d.

Three measurements, all on the FCN's encoder at the study preset's size:

1. per layer: forward + backward time of ``CoordBiasConv2d`` and ``CoordConv2d`` against
   ``nn.Conv2d`` on each encoder layer's exact shape (``torch.utils.benchmark``, one thread,
   medians over interleaved rounds: in every round each variant is timed once, in rotating order,
   and the per-round ratios' median is reported, so load that drifts during the run hits every
   variant alike);
2. per network: a whole training step (forward, cross-entropy, backward, SGD update) of
   ``create_model("fcn", conv=...)`` for ``coordbias`` and ``coordconv`` against ``vanilla``, same
   batch, same size, measured the same way;
3. parameters: what each adds, absolute and in per cent of the vanilla network.

It also checks the identity of Liu et al.'s paper: a 1 x 1 CoordConv *is* a coordinate bias (its
weights on the two coordinate channels are the coordinate weights), and a 3 x 3 CoordConv with zero
padding equals a coordinate bias plus a per-filter constant away from the border, with artefacts
on the border where the padding cuts the ramps.

Its figure is ``speed.png``; ``run`` and ``markdown`` are the interface every experiment has
(:mod:`coordbias.study.experiments`). It times code, so ``coordbias study`` runs it alone, after
every other task (the runs in parallel, the other experiments) has finished
(``coordbias.study.experiments.RUN_ALONE``); the report says so under its section.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from coordbias._util.timing import interleaved, median_ratios, round_ratios
from coordbias.models.convs import make_conv
from coordbias.reporting.markdown import figure_link, fmt_sci, md_table
from coordbias.study.experiments._common import (
    check_image_size,
    check_out_dir,
    check_positive,
    check_positive_int,
    choose_setting,
    count_parameters,
    seeded,
)
from coordbias.study.style import save, subplots

FIGURE = "speed.png"
VARIANTS = ("vanilla", "coordbias", "coordconv")


@dataclass(frozen=True)
class SpeedConfig:
    """Settings of the timing.

    Attributes:
        image_size: input side (divisible by 8).
        width: FCN width ``w``.
        batch_size: images per forward.
        rounds: interleaved rounds; the reported ratios are medians over them.
        target_ms: each single timing runs for at least this long (milliseconds).
    """

    image_size: int = 64
    width: int = 8
    batch_size: int = 8
    rounds: int = 7
    target_ms: float = 25.0

    def validate(self) -> None:
        """Raise ``ValueError`` / ``TypeError`` naming the first bad field."""
        for name in ("image_size", "width", "batch_size", "rounds"):
            check_positive_int(name, getattr(self, name))
        check_image_size(self.image_size)
        if self.width % 2:
            raise ValueError(f"width must be even, got {self.width}")
        check_positive("target_ms", self.target_ms)


#: The quick study preset's network (64 px, width 8, batch 8).
QUICK = SpeedConfig()
#: The original's network (128 px, width 64, batch 1).
FULL = SpeedConfig(image_size=128, width=64, batch_size=1, rounds=15, target_ms=60.0)


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------
def _spread(ratios: list[float]) -> str:
    """``lo–hi`` of the middle half of the per-round ratios (the whole range below 4 rounds)."""
    if len(ratios) >= 4:
        q = statistics.quantiles(ratios, n=4)
        lo, hi = q[0], q[2]
    else:
        lo, hi = min(ratios), max(ratios)
    return f"{lo:.2f}–{hi:.2f}"


def _compare(bias_rounds: list[float], conv_rounds: list[float]) -> str:
    """Which network is cheaper, or that the rounds cannot tell them apart.

    Both lists hold one ratio per interleaved round, so they are paired: a network is called
    the cheaper one only when it was cheaper in every round (a sign test; with 7 rounds the
    chance of that under no difference is 2 / 2**7, about 0.016).

    Example:
        >>> _compare([1.0, 1.1, 1.05], [1.5, 1.6, 1.55])
        'the coordinate bias is the cheaper of the two in every one of 3 rounds'
        >>> _compare([1.0, 1.2, 1.1], [1.05, 1.15, 1.12])
        'the two cannot be told apart at this noise level (each was cheaper in some rounds)'
    """
    pairs = list(zip(bias_rounds, conv_rounds))
    if all(b < c for b, c in pairs):
        return f"the coordinate bias is the cheaper of the two in every one of {len(pairs)} rounds"
    if all(c < b for b, c in pairs):
        return f"CoordConv is the cheaper of the two in every one of {len(pairs)} rounds"
    return "the two cannot be told apart at this noise level (each was cheaper in some rounds)"


def encoder_shapes(config: SpeedConfig) -> list[dict[str, Any]]:
    """The FCN encoder's convolutions at ``config``'s size: name, input shape, channels, kernel.

    Read off a ``conv="coordbias"`` FCN with forward hooks, so it follows the model's definition.
    """
    from coordbias import CoordBiasConv2d
    from coordbias.models import create_model

    model = create_model("fcn", width=config.width, conv="coordbias")
    shapes: list[dict[str, Any]] = []
    handles = []
    for name, m in model.named_modules():
        if isinstance(m, CoordBiasConv2d):

            def hook(mod: nn.Module, args: tuple[Tensor, ...], _out: Tensor, name=name) -> None:
                shapes.append(
                    {
                        "layer": name,
                        "input": list(args[0].shape),
                        "in_channels": mod.in_channels,
                        "out_channels": mod.out_channels,
                        "kernel_size": mod.kernel_size[0],
                        "padding": mod.padding[0],
                    }
                )

            handles.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.zeros(config.batch_size, 3, config.image_size, config.image_size))
    for h in handles:
        h.remove()
    return shapes


def time_layers(config: SpeedConfig, seed: int = 0) -> list[dict[str, Any]]:
    """Per encoder layer: forward + backward seconds per variant and the ratios to nn.Conv2d."""
    rows = []
    for shape in encoder_shapes(config):
        with seeded(seed):
            x = torch.randn(shape["input"], requires_grad=True)
            layers: dict[str, nn.Module] = {}
            steps = {}
            for kind in VARIANTS:
                layer = make_conv(
                    kind,
                    shape["in_channels"],
                    shape["out_channels"],
                    shape["kernel_size"],
                    padding=shape["padding"],
                )
                grad = torch.randn_like(layer(x))
                layers[kind] = layer
                steps[kind] = lambda layer=layer, x=x, grad=grad: layer(x).backward(grad)
        times = interleaved(steps, rounds=config.rounds, min_run_time=config.target_ms / 1e3)
        rows.append(
            {
                **shape,
                "seconds": {k: statistics.median(v) for k, v in times.items()},
                "ratio": median_ratios(times, "vanilla"),
                "ratio_rounds": round_ratios(times, "vanilla"),
                "added_params": {
                    k: count_parameters(layers[k]) - count_parameters(layers["vanilla"])
                    for k in VARIANTS
                },
            }
        )
    return rows


def time_networks(config: SpeedConfig, seed: int = 0) -> dict[str, Any]:
    """Whole training steps of the FCN per variant; seconds, ratios to vanilla and parameters."""
    from coordbias.models import create_model

    gen = torch.Generator().manual_seed(seed)
    s = config.image_size
    x = torch.rand(config.batch_size, 3, s, s, generator=gen)
    y = torch.randint(0, 4, (config.batch_size, s, s), generator=gen)
    steps = {}
    params = {}
    for kind in VARIANTS:
        with seeded(seed):
            model = create_model("fcn", width=config.width, conv=kind)
        opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

        def step(model: nn.Module = model, opt: torch.optim.Optimizer = opt) -> None:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        steps[kind] = step
        params[kind] = count_parameters(model)
    times = interleaved(steps, rounds=config.rounds, min_run_time=config.target_ms / 1e3)
    return {
        "seconds": {k: statistics.median(v) for k, v in times.items()},
        "ratio": median_ratios(times, "vanilla"),
        "ratio_rounds": round_ratios(times, "vanilla"),
        "params": params,
        "added_params": {k: params[k] - params["vanilla"] for k in VARIANTS},
        "added_params_pct": {
            k: 100.0 * (params[k] - params["vanilla"]) / params["vanilla"] for k in VARIANTS
        },
    }


# --------------------------------------------------------------------------------------------
# The identity: a 1 x 1 CoordConv is a coordinate bias
# --------------------------------------------------------------------------------------------
def coordconv_as_coordbias(kernel_size: int, seed: int = 0) -> dict[str, Any]:
    """Copy a random ``CoordConv2d`` into a ``CoordBiasConv2d`` and compare outputs (float64).

    With ``k = 1`` the coordinate channels' weights are the coordinate weights and the outputs
    agree everywhere. With ``k = 3`` (zero padding 1) each coordinate tap at offset ``delta``
    reads ``C(p + delta) = C(p) + delta * 2 / (n - 1)``: the coordinate weight is the sum of the
    taps and the bias absorbs ``sum(w * delta) * 2 / (n - 1)``, so the outputs agree away from the
    border; on the border the zero padding cuts the ramps.

    Args:
        kernel_size: 1 or 3.
        seed: seeds the layers and the input.

    Returns:
        ``max_abs_diff_interior``, ``max_abs_diff_border`` (0.0 for ``k = 1``), ``output_scale``
        (max absolute output, for scale).
    """
    from coordbias import CoordBiasConv2d, CoordConv2d

    if kernel_size not in (1, 3):
        raise ValueError(f"kernel_size must be 1 or 3, got {kernel_size}")
    c_in, c_out, h, w = 3, 5, 9, 12
    pad = kernel_size // 2
    with seeded(seed):
        cc = CoordConv2d(c_in, c_out, kernel_size, padding=pad).double()
        cb = CoordBiasConv2d(c_in, c_out, kernel_size, padding=pad).double()
        x = torch.randn(2, c_in, h, w, dtype=torch.float64)
    with torch.no_grad():
        cb.weight.copy_(cc.weight[:, :c_in])
        taps = cc.weight[:, c_in : c_in + 2]  # (C_out, 2, k, k): row and column coordinates
        cb.coord_weight.copy_(taps.sum(dim=(2, 3)))
        offsets = torch.arange(kernel_size, dtype=torch.float64) - pad  # delta per tap
        step = torch.tensor([2.0 / (h - 1), 2.0 / (w - 1)], dtype=torch.float64)
        shift = (taps[:, 0] * offsets[:, None]).sum(dim=(1, 2)) * step[0]
        shift += (taps[:, 1] * offsets[None, :]).sum(dim=(1, 2)) * step[1]
        cb.bias.copy_(cc.bias + shift)
        diff = (cc(x) - cb(x)).abs()
        scale = cc(x).abs().max()
    interior = diff[..., pad : h - pad, pad : w - pad] if pad else diff
    border = diff.clone()
    if pad:
        border[..., pad : h - pad, pad : w - pad] = 0
    else:
        border.zero_()
    return {
        "kernel_size": kernel_size,
        "max_abs_diff_interior": float(interior.max()),
        "max_abs_diff_border": float(border.max()),
        "output_scale": float(scale),
    }


# --------------------------------------------------------------------------------------------
# run / markdown
# --------------------------------------------------------------------------------------------
def _figure(result: dict[str, Any], path: Path) -> None:
    layers = result["layers"]
    fig, ax = subplots(figsize=(8, 3.6))
    xs = range(len(layers))
    for off, kind in ((-0.2, "coordbias"), (0.2, "coordconv")):
        ax.bar([x + off for x in xs], [r["ratio"][kind] for r in layers], 0.38, label=kind)
    net = result["network"]["ratio"]
    for kind, colour in (("coordbias", "C0"), ("coordconv", "C1")):
        ax.axhline(net[kind], color=colour, ls="--", lw=1, label=f"{kind}, whole training step")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(
        list(xs),
        [
            f"{r['layer']}\n{r['in_channels']}→{r['out_channels']}, {r['input'][-1]} px"
            for r in layers
        ],
        fontsize=7,
    )
    ax.set_ylabel("time / nn.Conv2d time (fwd + bwd)")
    cfg = result["config"]
    ax.set_title(
        f"FCN encoder layers, {cfg['image_size']} px, width {cfg['width']}, "
        f"batch {cfg['batch_size']}, 1 thread"
    )
    ax.set_ylim(0, 1.25 * max(max(r["ratio"].values()) for r in layers))
    ax.legend(fontsize=7, ncol=2, loc="upper center")
    save(fig, path)


def run(
    out_dir: Path, *, quick: bool = True, seed: int = 0, config: SpeedConfig | None = None
) -> dict[str, Any]:
    """Measure time and parameter overheads and write ``speed.png`` into ``out_dir``.

    Args:
        out_dir: folder for the figure (created).
        quick: :data:`QUICK` (the quick preset's 64 px, width 8, batch 8) or :data:`FULL` (the
            original's 128 px, width 64, batch 1).
        seed: seeds inputs and initialisation.
        config: overrides the setting chosen by ``quick`` (tests use tiny ones).

    Returns:
        JSON-able dict: ``config``, ``layers`` (per encoder layer: shape, ``seconds`` and
        ``ratio`` per variant, ``added_params``), ``network`` (``seconds``, ``ratio``, ``params``,
        ``added_params``, ``added_params_pct`` per variant), ``identity`` (``k1`` and ``k3``
        results of :func:`coordconv_as_coordbias`), ``torch``, ``figure``, ``seconds``.
    """
    out = check_out_dir(out_dir)
    config = choose_setting(config, quick, seed, QUICK, FULL)
    start = time.perf_counter()
    result = {
        "config": asdict(config),
        "quick": quick,
        "seed": seed,
        "num_threads": 1,
        "torch": torch.__version__,
        "layers": time_layers(config, seed),
        "network": time_networks(config, seed),
        "identity": {
            "k1": coordconv_as_coordbias(1, seed),
            "k3": coordconv_as_coordbias(3, seed),
        },
        "figure": FIGURE,
    }
    _figure(result, out / FIGURE)
    result["seconds"] = time.perf_counter() - start
    return result


def markdown(result: dict[str, Any], fig_dir_rel: str) -> str:
    """The report section of the speed experiment (a heading, tables and a conclusion), computed
    from the ``result`` of :func:`run`; the arguments are every experiment's
    (:mod:`coordbias.study.experiments`)."""
    cfg = result["config"]
    fig = figure_link(fig_dir_rel, result["figure"])
    layer_rows = [
        [
            f"`{r['layer']}`",
            "×".join(str(v) for v in r["input"]),
            f"{r['in_channels']}→{r['out_channels']}, k{r['kernel_size']}",
            f"{1e3 * r['seconds']['vanilla']:.3g}",
            f"{r['ratio']['coordbias']:.2f}× ({_spread(r['ratio_rounds']['coordbias'])})",
            f"{r['ratio']['coordconv']:.2f}× ({_spread(r['ratio_rounds']['coordconv'])})",
            f"+{r['added_params']['coordbias']:,}",
            f"+{r['added_params']['coordconv']:,}",
        ]
        for r in result["layers"]
    ]
    net = result["network"]
    net_rows = [
        [
            f"`{k}`",
            f"{1e3 * net['seconds'][k]:.3g}",
            f"{net['ratio'][k]:.2f}× ({_spread(net['ratio_rounds'][k])})",
            f"{net['params'][k]:,}",
            f"+{net['added_params'][k]:,} ({net['added_params_pct'][k]:.2f}%)",
        ]
        for k in VARIANTS
    ]
    k1, k3 = result["identity"]["k1"], result["identity"]["k3"]
    lb = [r["ratio"]["coordbias"] for r in result["layers"]]
    lc = [r["ratio"]["coordconv"] for r in result["layers"]]
    pb, pc = net["added_params"]["coordbias"], net["added_params"]["coordconv"]
    comparison = _compare(net["ratio_rounds"]["coordbias"], net["ratio_rounds"]["coordconv"])
    lines = [
        "### Open question 3: CoordConv vs the coordinate bias, speed and size",
        "",
        f"FCN encoder at {cfg['image_size']} px, width {cfg['width']}, batch "
        f"{cfg['batch_size']}; `torch.utils.benchmark`, one thread, forward + backward, medians "
        f"of the per-round ratios over {cfg['rounds']} interleaved rounds (torch "
        f"{result['torch']}). Timings on a shared CPU are noisy; the ratios, measured side by "
        "side, are the figures to read; brackets give the middle half of the per-round ratios.",
        "",
        md_table(
            [
                "layer",
                "input",
                "channels",
                "Conv2d ms",
                "CoordBias / Conv2d",
                "CoordConv / Conv2d",
                "CoordBias params",
                "CoordConv params",
            ],
            layer_rows,
        ),
        "",
        "Whole training step (forward, cross-entropy, backward, SGD update):",
        "",
        md_table(["network", "ms per step", "ratio to vanilla", "params", "added"], net_rows),
        "",
        f"![time ratios per layer and per training step]({fig})",
        "",
        f"**Identity check** (float64): a 1×1 CoordConv copied into a coordinate-bias layer "
        f"gives the same output to {fmt_sci(k1['max_abs_diff_interior'])} (outputs of size "
        f"{k1['output_scale']:.3g}). A 3×3 CoordConv with zero padding matches a coordinate bias "
        f"plus a per-filter constant to {fmt_sci(k3['max_abs_diff_interior'])} away from the "
        f"border, but differs by up to {fmt_sci(k3['max_abs_diff_border'])} on the border, where "
        "the zero padding cuts its coordinate ramps.",
        "",
        f"**Conclusion.** Per layer the coordinate bias costs {min(lb):.2f}× to {max(lb):.2f}× "
        f"the time of `nn.Conv2d` and CoordConv {min(lc):.2f}× to {max(lc):.2f}×; over a whole "
        f"training step the coordinate bias is {net['ratio']['coordbias']:.2f}× and CoordConv "
        f"{net['ratio']['coordconv']:.2f}× the vanilla network: {comparison}. "
        f"The coordinate bias adds {pb:,} parameters "
        f"({net['added_params_pct']['coordbias']:.2f}%), CoordConv {pc:,} "
        f"({net['added_params_pct']['coordconv']:.2f}%)"
        + (f", {pc / pb:.1f}× as many" if pb else "")
        + ".",
    ]
    return "\n".join(lines) + "\n"
