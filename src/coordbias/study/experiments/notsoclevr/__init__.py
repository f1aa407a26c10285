"""Not-so-Clevr coordinate classification (Liu et al. 2018): a published benchmark beside ours.

The task: a 64 x 64 canvas holds one 9 x 9 square whose centre ``(i, j)`` runs over 4..59 on each
axis (56 x 56 = 3,136 examples). The network gets the centre's coordinates and must output a
one-hot image: a softmax over the 4,096 pixels, trained with cross-entropy; an example is correct
when the arg-max pixel is the centre.

Splits (seeded, deterministic):

- ``uniform``: a random quarter (784 examples) held out for test.
- ``quadrant``: held out when both normalised centre coordinates ``(c - 4) / 55`` exceed 0.5,
  i.e. ``i >= 32`` and ``j >= 32`` (28 x 28 = 784 examples): the bottom-right quadrant is never
  seen in training.

Design of the compared networks (ours; Liu et al. do not publish one for this exact comparison).
The coordinates, scaled to [-1, 1] like the pixel grid (``2 * c / 63 - 1``), are tiled into a
``(B, 2, 64, 64)`` map; every model is fully convolutional with the same depth and width::

    conv 3x3 pad 1 (2 -> w), ReLU, conv 1x1 (w -> w), ReLU, conv 1x1 (w -> w), ReLU,
    conv 1x1 (w -> 1)                                            -> logits (B, 4096)

``vanilla`` uses ``nn.Conv2d`` everywhere, ``coordconv`` ``CoordConv2d`` and ``coordbias``
``CoordBiasConv2d`` in every layer. On a tiled (constant) input a plain convolution sees the
same thing at every pixel; only the first layer's zero padding tells the border pixels apart, so it
cannot place the square in the interior. Liu et al.'s plain baseline was instead a deconvolution
stack from a 1 x 1 input. Two versions of it (:class:`DeconvRecipe`, :func:`recipe`): the
coordinates as a ``(B, 2, 1, 1)`` tensor, six stride-2 transposed convolutions (1 -> 64 px, ReLU
between, the last one to 1 channel):

- ``deconv`` (ours): ``ConvTranspose2d(k=4, stride=2, padding=1)``, w channels, no
  normalisation, PyTorch's initialisation, the [-1, 1] encoding, the shared optimiser;
- ``deconv_paper``: Liu et al.'s ``DeconvPainter`` and deconvolution command as their code has
  them (below).

Optimisation as their README's CoordConv command: Adam, lr 0.005, L2 1e-3 (as Adam's
``weight_decay``), batch 16. The quick setting is width 8, 2 epochs, 3 models x 2 splits; batch 16
beat batch 32 at equal compute (more Adam steps), which is why it is kept. The baselines train
longer (``baseline_epochs``, ``baseline_lr_drop``): in :data:`FULL` 60 epochs, the learning rate
divided by 10 for the last 15.

Why our deconvolution baseline fell short of the about 86 % Liu et al. report
----------------------------------------------------------------------------
Every difference between the two (read from uber-research/CoordConv: ``model_builders.py``
``DeconvPainter``, ``train.py``, ``data/not_so_clevr_generator.py``, ``README.md``,
``experiment_logs.sh``; the right column is what our old full setting ran):

==============  =======================================  ===================================
                Liu et al.                               ours (``deconv``, old full setting)
==============  =======================================  ===================================
uniform split   each centre out with probability 0.25    a seeded quarter out:
                (numpy seed 20202): 2,368 / 768          2,352 train / 784 test
quadrant split  out if x / 64 > 0.5 and y / 64 > 0.5     (c - 4) / 55 > 0.5, c >= 32:
                (x, y >= 33): 27 x 27 = 729              28 x 28 = 784
input           integer pixel coordinates 4..59          ``2 c / 63 - 1`` in [-1, 1]
target, loss    one-hot 64 x 64, softmax cross-entropy   the same
metric          arg-max pixel = centre, every epoch      the same
kernel          3 (``-fs 3``; sweep 2, 3, 4), TF 'same'  4, padding 1
channels        64m, 64m, 64m, 32m, 32m, 1 (``-mul``     16 x 5, 1: 17,233 parameters
                m = 2; sweep 1..3): 409,921 at m = 2
normalisation   BatchNorm (momentum 0.9, eps 1e-5)       none
initialisation  ``he_normal`` (truncated), zero biases   PyTorch's default
optimiser       Adam lr 0.01 (sweep 0.001..0.05),        Adam lr 0.005, beta2 0.999
                beta2 0.99
L2              ``l2 * sum(w ** 2)`` on the kernels,     Adam ``weight_decay`` 1e-3 on
                l2 = 1e-3 (sweep 0, 1e-3, 1e-2)          every parameter
batch           16 (sweep 16, 32)                        16
training        2,000 epochs (README); sweep: 1,000,     10 epochs, constant lr
                lr / 10 every 200
reported        best of 324 configurations per split     one run
==============  =======================================  ===================================

The ablation (``coordbias notsoclevr-ablation OUT.json``, :mod:`.ablation`: width 16, uniform
split, one thread; each row changes one thing from the reference row) measures what each of
these differences does. Its table, what it shows (the gap is the training length; none of Liu et
al.'s other choices closes it) and the commands that reproduce it are in the README (*The
original's open questions*, the Not-so-Clevr paragraph), where measured figures are kept.

``run(out_dir, quick=True, seed=0)`` returns a JSON-able dict and writes ``notsoclevr.png``;
``markdown(result, fig_dir_rel)`` renders the report section.

The data (centres, splits, encoding) are :mod:`coordbias.data.notsoclevr`'s, the networks (the
tiled FCN, the deconvolution baselines, their optimiser) :mod:`coordbias.training.notsoclevr`'s
(formerly ``.models``, a deprecated path now); the modules here: :mod:`.training` (the settings,
the training loop), :mod:`.ablation` (the ablation), :mod:`.section` (figure and Markdown).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from coordbias.data.notsoclevr import (
    CANVAS,
    CENTRE_MAX,
    CENTRE_MIN,
    SPLITS,
    SQUARE,
    centres,
    encode,
    quadrant_mask,
    split_indices,
    targets,
)
from coordbias.study.experiments._common import (
    check_out_dir,
    choose_setting,
    fmt_pct,
    torch_threads,
)
from coordbias.study.experiments.notsoclevr.ablation import (
    ABLATION,
    ABLATION_BASE,
    ablation,
    ablation_markdown,
    main,
)
from coordbias.study.experiments.notsoclevr.section import FIGURE, PAPER, markdown, plot_accuracy
from coordbias.study.experiments.notsoclevr.training import (
    FULL,
    QUICK,
    NotSoClevrConfig,
    train_one,
)
from coordbias.training.notsoclevr import (
    BASELINES,
    MODELS,
    DeconvNet,
    DeconvRecipe,
    TiledFCN,
    accuracy,
    build_notsoclevr_model,
    make_optimizer,
    recipe,
    upsample,
)

__all__ = [
    "ABLATION",
    "ABLATION_BASE",
    "BASELINES",
    "CANVAS",
    "CENTRE_MAX",
    "CENTRE_MIN",
    "FIGURE",
    "FULL",
    "MODELS",
    "PAPER",
    "QUICK",
    "SPLITS",
    "SQUARE",
    "DeconvNet",
    "DeconvRecipe",
    "NotSoClevrConfig",
    "TiledFCN",
    "ablation",
    "ablation_markdown",
    "accuracy",
    "build_notsoclevr_model",
    "centres",
    "encode",
    "fmt_pct",
    "main",
    "make_optimizer",
    "markdown",
    "quadrant_mask",
    "recipe",
    "run",
    "split_indices",
    "targets",
    "train_one",
    "upsample",
]


def run(
    out_dir: Path,
    *,
    quick: bool = True,
    seed: int = 0,
    config: NotSoClevrConfig | None = None,
    num_threads: int = 1,
) -> dict[str, Any]:
    """Train every model on both splits and write ``notsoclevr.png`` into ``out_dir``.

    Args:
        out_dir: folder for the figure (created).
        quick: :data:`QUICK` (width 8, 2 epochs, 3 models) or
            :data:`FULL` (width 16, 10 epochs; both deconvolution baselines, 60 epochs).
        seed: seeds the uniform split, the initialisation and the batch order.
        config: overrides the setting chosen by ``quick`` (tests use tiny ones).
        num_threads: torch intra-op threads while it runs (restored afterwards).

    Returns:
        JSON-able dict: ``config``, ``seed``, ``split_sizes`` (per split: train, test),
        ``runs`` (one dict per model and split: ``model``, ``split``, ``params``, ``steps``,
        ``train_acc``, ``test_acc``, ``test_acc_per_epoch``, ``final_loss``, ``seconds``,
        ``cpu_seconds``),
        ``paper`` (what Liu et al. report), ``figure``, ``seconds``.
    """
    out = check_out_dir(out_dir)
    config = choose_setting(config, quick, seed, QUICK, FULL)
    start = time.perf_counter()
    sizes = {}
    for split in SPLITS:
        train, test = split_indices(split, seed)
        sizes[split] = {"train": len(train), "test": len(test)}
    with torch_threads(num_threads):
        runs = [train_one(m, s, config, seed) for s in SPLITS for m in config.models]
    cfg = asdict(config)
    cfg["models"] = list(config.models)
    result = {
        "config": cfg,
        "quick": quick,
        "seed": seed,
        "num_threads": num_threads,
        "split_sizes": sizes,
        "runs": runs,
        "paper": dict(PAPER),
        "figure": FIGURE,
    }
    plot_accuracy(result, out / FIGURE)
    result["seconds"] = time.perf_counter() - start
    return result


def __getattr__(name: str) -> Any:
    # build_model was renamed build_notsoclevr_model (coordbias.training.build_model is the
    # circles FCN's); the old name works for one release.
    if name == "build_model":
        import warnings

        warnings.warn(
            "coordbias.study.experiments.notsoclevr.build_model is now build_notsoclevr_model "
            "(coordbias.training.notsoclevr); the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return build_notsoclevr_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
