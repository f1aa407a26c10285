"""Internal helpers shared by the parts of coordbias (stdlib and torch only; no part's code).

- :mod:`coordbias._util.files`: the one atomic file writer.
- :mod:`coordbias._util.timing`: the one interleaved-rounds timing harness.

The layers do not use this package; every other part may.
"""
