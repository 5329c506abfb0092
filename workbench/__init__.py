"""Workbench: a team hub for models, datasets and papers, inside JupyterLab."""

__version__ = "0.1.0"

__all__ = ["__version__"]
