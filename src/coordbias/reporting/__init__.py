"""coordbias.reporting: what the study and the benchmark both need to turn results into tables.

- :mod:`coordbias.reporting.markdown`: the one Markdown table writer (``md_table``) and the number
  formats;
- :mod:`coordbias.reporting.stats`: Welch's test, Hedges' g, the power of a comparison (the
  study's); the permutation test, Fisher's exact test, Holm's adjustment, the intervals and the
  verdict of a comparison (the benchmark's).

It sits below both (neither imports the other) and imports none of the parts but ``_util``.
"""
