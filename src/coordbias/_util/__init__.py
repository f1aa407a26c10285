"""Internal helpers shared by the parts of coordbias (stdlib and torch only; no part's code).

- :mod:`coordbias._util.files`: the one atomic file writer.
- :mod:`coordbias._util.timing`: the one interleaved-rounds timing harness.
- :mod:`coordbias._util.errors`: user errors (told apart from bugs) and the early checks of
  sources and destinations that every command runs.
- :mod:`coordbias._util.numbers`: the one check of a numeric setting (finite, sign, range).
- :mod:`coordbias._util.memory`: the C allocator of a training process (freed memory kept for
  reuse).
- :mod:`coordbias._util.devices`: the one reading of a ``--device`` name, refused when the device
  is unknown or not available here.

The layers do not use this package; every other part may.
"""
