"""``workbench search QUERY``: ranked full-text search over the hub's repos, as a table.

workbench search "tiny classifier" --type model --license mit
workbench search --type dataset --tag iris --sort downloads --json
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from workbench.cli.options import JsonOpt, RepoType, TokenOpt, UrlOpt, errors_to_exit, print_json
from workbench.client import HubClient

SORTS = ("relevance", "downloads", "likes", "lastModified", "createdAt")
TITLE_WIDTH = 60


def _check_sort(value: str) -> str:
    if value not in SORTS:
        raise typer.BadParameter(f"use one of {', '.join(SORTS)}")
    return value


def table(results: list[dict[str, Any]]) -> str:
    """Aligned columns: type, id, likes, downloads, updated, title."""
    rows = [("TYPE", "ID", "LIKES", "DOWNLOADS", "UPDATED", "TITLE")]
    for r in results:
        title = " ".join(str(r.get("title") or "").split())
        if len(title) > TITLE_WIDTH:
            title = title[: TITLE_WIDTH - 1] + "…"
        rows.append(
            (
                r["type"],
                r["id"] + (" (private)" if r.get("private") else ""),
                f"{r.get('likes', 0):,}",
                f"{r.get('downloads', 0):,}",
                (r.get("lastModified") or "")[:10],
                title,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {2, 3}
    return "\n".join(
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


@errors_to_exit
def search(
    query: Annotated[
        str, typer.Argument(help="Words to find (the last may be a prefix); empty: every repo.")
    ] = "",
    types: Annotated[
        list[RepoType] | None, typer.Option("--type", "-t", help="Only this repo type (repeatable).")
    ] = None,
    task: Annotated[str | None, typer.Option(help="pipeline_tag or task category.")] = None,
    library: Annotated[str | None, typer.Option(help="library_name.")] = None,
    license: Annotated[str | None, typer.Option(help="License id, e.g. mit.")] = None,
    author: Annotated[str | None, typer.Option(help="Owner (user or organization).")] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", help="A tag every result has (repeatable).")
    ] = None,
    sort: Annotated[
        str, typer.Option(help=f"One of {', '.join(SORTS)}.", callback=_check_sort)
    ] = "relevance",
    limit: Annotated[int, typer.Option(min=1, help="At most N results.")] = 20,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Search models, datasets, spaces and papers by id, card text and card metadata."""
    with HubClient(url, token, progress=False) as client:
        results = client.search(
            query,
            type=[t.value for t in types or ()],
            task=task,
            library=library,
            license=license,
            author=author,
            tags=tuple(tags or ()),
            sort=sort,
            limit=limit,
        )
    if as_json:
        print_json(results)
    elif not results:
        typer.echo("No matching repos.", err=True)
    else:
        typer.echo(table(results))
