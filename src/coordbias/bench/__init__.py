"""Benchmarks behind ``coordbias bench``; each module: ``add_arguments(parser)``, ``run(args)``.

Timings use ``torch.utils.benchmark`` and report ratios measured side by side in one run.
"""
