"""The study's open-question experiments, one module each.

Each module exposes ``run(out_dir, *, quick=True, seed=0) -> dict`` (a JSON-able result; its
figure is written under ``out_dir``) and ``markdown(result, fig_dir_rel) -> str``: the report
section computed from that ``result``, in Markdown, whose figure link is
``coordbias.reporting.markdown.figure_link(fig_dir_rel, result["figure"])`` (``fig_dir_rel``: the
figure's folder relative to the report, ``""`` for the report's own folder). The modules:

- :mod:`~coordbias.study.experiments.bn_gradients`: open question 1, why the coordinate bias
  still learns behind BatchNorm while the ordinary bias gets no gradient;
- :mod:`~coordbias.study.experiments.notsoclevr`: Liu et al.'s Not-so-Clevr coordinate
  classification, plain convolution against CoordConv and the coordinate bias;
- :mod:`~coordbias.study.experiments.speed`: open question 3 (speed side), time and parameter
  overhead of CoordConv and the coordinate bias against ``nn.Conv2d``.
"""

EXPERIMENTS = ("bn_gradients", "notsoclevr", "speed")

#: Experiments that time code: the study runs them alone, after every other task has finished,
#: since a training run beside them would make their timings meaningless.
RUN_ALONE = ("speed",)

__all__ = ["EXPERIMENTS", "RUN_ALONE"]
