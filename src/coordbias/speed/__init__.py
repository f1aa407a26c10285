"""The speed measurements behind ``coordbias speed``; each module: ``add_arguments(parser)`` and
``run(**options) -> int``, whose typed keyword arguments are the options of the same names (and
``threads``, the command line's ``--threads``); a bad option raises a ``UserError`` before any
timing starts.

Timings use ``torch.utils.benchmark`` and report ratios measured side by side in one run.
(``coordbias.speed`` was ``coordbias.bench``, and ``coordbias speed`` was ``coordbias bench``,
before the methods x tasks comparison, ``coordbias benchmark``, had a part of its own.)
"""
