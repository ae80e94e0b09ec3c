"""The package version, apart from the package's face so that any module can read it."""

__version__ = "0.2.0"
