"""The speed measurements behind ``coordbias speed``; each module: ``add_arguments(parser)``,
``run(args)``.

Timings use ``torch.utils.benchmark`` and report ratios measured side by side in one run.
(``coordbias.speed`` was ``coordbias.bench``, and ``coordbias speed`` was ``coordbias bench``,
before the methods x tasks comparison, ``coordbias benchmark``, had a part of its own.)
"""
