"""coordbias.study."""
