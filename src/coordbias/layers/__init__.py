"""coordbias.layers."""
