"""The package version: one home, read by the build (pyproject's dynamic version) and the code."""

__version__ = "0.1.0"
