"""coordbias.models."""
