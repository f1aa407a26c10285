"""coordbias.reporting: what the study and the benchmark both need to turn results into tables.

- :mod:`coordbias.reporting.markdown`: the one Markdown table writer (``md_table``) and the number
  formats;
- :mod:`coordbias.reporting.stats`: Welch's test, Hedges' g, the power of a comparison.

It sits below both (neither imports the other) and imports none of the parts but ``_util``.
"""
