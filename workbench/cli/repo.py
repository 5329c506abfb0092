"""User commands talking to a hub over HTTP: login, repo, upload, download, log."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the user commands to the top-level ``workbench`` command."""
