"""The ``coordbias`` command line: a thin shell over importable functions."""
