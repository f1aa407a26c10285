"""The figure of the coordinate maps, drawn at build time from the library's own functions.

Every number in it comes from ``coordbias.functional`` (``center_coords``, ``output_coords``,
``coordinate_grid``, ``add_coords``) for one small convolution with stride and padding, so the
figure shows what the layers compute, not a drawing of it. ``tests/docs`` checks that these maps
are what ``CoordBiasConv2d`` and ``AddCoords`` add.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

from coordbias import functional as CF


@dataclass(frozen=True)
class Example:
    """The convolution the figure shows: a 3x3 kernel, stride 2, padding 1 on a 6 x 8 input."""

    height: int = 6
    width: int = 8
    kernel: int = 3
    stride: int = 2
    padding: int = 1

    def out_size(self, n: int) -> int:
        """Output length of a side of length ``n`` (the usual convolution arithmetic)."""
        return (n + 2 * self.padding - self.kernel) // self.stride + 1


def coordinate_maps(ex: Example = Example()) -> dict[str, np.ndarray]:
    """The maps the figure draws, each computed by the library.

    Returns:
        ``center_y``, ``center_x``: the ``coords="center"`` term of each output location (its
        kernel centre in the input's frame); ``output_y``, ``output_x``: the ``coords="output"``
        convention on the output grid; ``input_y``, ``input_x``: the input pixels' own
        coordinates (what CoordConv appends, ``add_coords``), and ``input_r`` its radius channel.
    """
    h_out, w_out = ex.out_size(ex.height), ex.out_size(ex.width)
    center = CF.coordinate_grid(
        [
            CF.center_coords(ex.height, h_out, ex.kernel, ex.stride, ex.padding),
            CF.center_coords(ex.width, w_out, ex.kernel, ex.stride, ex.padding),
        ]
    )
    output = CF.coordinate_grid(
        [CF.output_coords(h_out, centered=False), CF.output_coords(w_out, centered=False)]
    )
    channels = CF.add_coords(torch.zeros(1, 0, ex.height, ex.width), with_r=True)[0]
    return {
        "center_y": center[0].numpy(),
        "center_x": center[1].numpy(),
        "output_y": output[0].numpy(),
        "output_x": output[1].numpy(),
        "input_y": channels[0].numpy(),
        "input_x": channels[1].numpy(),
        "input_r": channels[2].numpy(),
    }


def _annotated(ax, values: np.ndarray, title: str, grid: str) -> None:
    ax.imshow(values, cmap="coolwarm", vmin=-1, vmax=1)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]))
    ax.tick_params(labelsize=7)
    ax.set_xlabel(f"{grid} column", fontsize=8)
    ax.set_ylabel(f"{grid} row", fontsize=8)


def _input_frame(ax, ex: Example, maps: dict[str, np.ndarray]) -> None:
    # The input pixels and the padding ring at their normalised coordinates, and the kernel
    # centre of every output location (the dots), one receptive field outlined.
    ys, xs = maps["input_y"][:, 0], maps["input_x"][0]
    dy, dx = ys[1] - ys[0], xs[1] - xs[0]
    pad = ex.padding
    for i in range(-pad, ex.height + pad):
        for j in range(-pad, ex.width + pad):
            inside = 0 <= i < ex.height and 0 <= j < ex.width
            y, x = ys[0] + i * dy, xs[0] + j * dx
            ax.add_patch(
                _rect(x - dx / 2, y - dy / 2, dx, dy, "#dddddd" if inside else "#f6f6f6", "#999999")
            )
    cy, cx = maps["center_y"][:, 0], maps["center_x"][0]
    gy, gx = np.meshgrid(cy, cx, indexing="ij")
    ax.scatter(gx.ravel(), gy.ravel(), s=18, color="#c0392b", zorder=3, label="kernel centres")
    half_y, half_x = dy * ex.kernel / 2, dx * ex.kernel / 2
    ax.add_patch(
        _rect(cx[1] - half_x, cy[1] - half_y, 2 * half_x, 2 * half_y, "none", "#c0392b", lw=1.5)
    )
    margin_y, margin_x = dy * (pad + 0.5), dx * (pad + 0.5)
    ax.set_xlim(xs[0] - margin_x, xs[-1] + margin_x)
    ax.set_ylim(ys[-1] + margin_y, ys[0] - margin_y)  # rows grow downwards, as in an image
    ax.set_aspect(dx / dy)
    ax.set_xticks([-1, 0, 1])
    ax.set_yticks([-1, 0, 1])
    ax.tick_params(labelsize=7)
    ax.set_xlabel("x (input frame)", fontsize=8)
    ax.set_ylabel("y (input frame)", fontsize=8)
    ax.set_title(
        f"input {ex.height}x{ex.width} and padding {pad} (light); "
        "dots: kernel centres, box: one kernel",
        fontsize=9,
    )


def _rect(x, y, w, h, face, edge, lw=0.5):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=face, edgecolor=edge, linewidth=lw)


def draw(ex: Example = Example()):
    """The figure (a matplotlib ``Figure``): 2 rows of 3 panels."""
    from matplotlib.figure import Figure

    maps = coordinate_maps(ex)
    fig = Figure(figsize=(13, 7.5), layout="constrained")
    axes = fig.subplots(2, 3)
    conv = f"{ex.kernel}x{ex.kernel}, stride {ex.stride}, padding {ex.padding}"
    _input_frame(axes[0, 0], ex, maps)
    _annotated(axes[0, 1], maps["center_y"], f'coords="center": Y ({conv})', "output")
    _annotated(axes[0, 2], maps["center_x"], f'coords="center": X ({conv})', "output")
    _annotated(axes[1, 0], maps["output_x"], 'coords="output": X = index / (W_out - 1)', "output")
    _annotated(axes[1, 1], maps["input_x"], "CoordConv / add_coords: x channel", "input")
    _annotated(axes[1, 2], maps["input_r"], "CoordConv / add_coords: r channel", "input")
    fig.suptitle(
        f"Coordinate maps computed by coordbias.functional for a {ex.height} x {ex.width} input "
        "(rows: y, top to bottom; columns: x, left to right)",
        fontsize=10,
    )
    return fig


def png_bytes(ex: Example = Example()) -> bytes:
    """The figure as PNG bytes (what the docs build writes to ``figures/coordinate_maps.png``)."""
    buffer = io.BytesIO()
    draw(ex).savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()
