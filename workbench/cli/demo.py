"""``workbench demo``: publish the demo model, dataset and paper to a hub (idempotent)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from workbench.errors import WorkbenchError


def demo(
    url: Annotated[str | None, typer.Option(help="Hub URL (default: as `workbench login`).")] = None,
    token: Annotated[str | None, typer.Option(help="Token (default: the saved one).")] = None,
    namespace: Annotated[str | None, typer.Option(help="Owner of the demo repos (default: you).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Publish a tiny model, a small dataset with train/test splits and a paper to the hub."""
    from workbench.cli.demo_content import build_demo
    from workbench.client import HubClient

    try:
        client = HubClient(url, token)
        ns = namespace or client.whoami()["name"]
        results = []
        with tempfile.TemporaryDirectory() as tmp:
            for repo in build_demo(Path(tmp), namespace=ns):
                client.create_repo(repo.repo_id, type=repo.repo_type, exist_ok=True)
                files = {
                    str(p.relative_to(repo.folder)): p for p in sorted(repo.folder.rglob("*")) if p.is_file()
                }
                commit = client.upload(repo.repo_id, files, type=repo.repo_type, message=repo.message)
                results.append(
                    {"repo": repo.repo_id, "type": repo.repo_type, "commit": commit.get("commitOid")}
                )
    except WorkbenchError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        for r in results:
            typer.echo(f"{r['type']:8} {r['repo']}  @ {str(r['commit'])[:12]}")
