"""The ``workbench`` command."""

from workbench.cli.main import app, main

__all__ = ["app", "main"]
