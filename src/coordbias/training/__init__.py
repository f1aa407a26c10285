"""coordbias.training."""
