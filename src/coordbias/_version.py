"""The package version, kept in one place."""

#: The version of the package (also ``coordbias --version``).
__version__ = "0.1.0"
