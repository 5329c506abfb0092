"""Entry point of the ``workbench`` command: sub-command groups are registered here."""

from __future__ import annotations

import typer

from workbench.cli import demo, hub, repo, search

app = typer.Typer(help="Workbench: a team hub for models, datasets and papers.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(hub.app, name="hub", help="Run and administer a hub (works on the data folder).")
repo.register(app)  # login, repo ..., upload, download, log
app.command(name="demo")(demo.demo)
app.command(name="search")(search.search)


def main() -> None:
    app()
