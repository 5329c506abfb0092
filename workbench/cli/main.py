"""Entry point of the ``workbench`` command: sub-command groups are registered here."""

from __future__ import annotations

import sys

# jsonschema (imported by nbformat, hence papermill) registers an IRI format checker when the
# optional rfc3987_syntax package is installed, and that package compiles a Lark grammar on
# import, which takes longer than a kernel takes to start, on the critical path of every
# `workbench eval run`. No schema these commands validate (notebooks, cards) uses IRI formats,
# so this process does without that checker. Only when jsonschema is not loaded yet, and only
# in the CLI's own process (not in kernels or the Jupyter server).
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import typer

from workbench.cli import collection, demo, hub, paper, pr, repo, runner, search
from workbench.cli import eval as eval_cli

app = typer.Typer(
    help="Workbench: a team hub for models, datasets and papers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(hub.app, name="hub", help="Run and administer a hub (works on the data folder).")
repo.register(app)  # login, repo ..., upload, download, log
app.command(name="demo")(demo.demo)
app.command(name="search")(search.search)
app.command(name="runner")(runner.runner)
app.add_typer(eval_cli.app, name="eval", help="Reproducible evaluation runs, leaderboards and CI gates.")
app.add_typer(paper.app, name="paper")
app.add_typer(collection.app, name="collection")
app.add_typer(pr.app, name="pr")


def main() -> None:
    app()
