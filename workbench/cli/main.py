"""Entry point of the ``workbench`` command: sub-command groups are registered here."""

from __future__ import annotations

import typer

from workbench.cli import demo, hub, paper, repo, search
from workbench.cli import eval as eval_cli

app = typer.Typer(help="Workbench: a team hub for models, datasets and papers.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(hub.app, name="hub", help="Run and administer a hub (works on the data folder).")
repo.register(app)  # login, repo ..., upload, download, log
app.command(name="demo")(demo.demo)
app.command(name="search")(search.search)
app.add_typer(eval_cli.app, name="eval", help="Reproducible evaluation runs, leaderboards and CI gates.")
app.add_typer(paper.app, name="paper")


def main() -> None:
    app()
