"""coordbias.data."""
