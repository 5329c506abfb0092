"""``workbench collection ...``: collections of models, datasets, spaces and papers.

workbench collection create "Baselines" --namespace acme --description "What to beat"
workbench collection add acme/baselines-65f0... acme/bert-tiny --note "the floor"
workbench collection add acme/baselines-65f0... 1706.03762 --type paper
workbench collection list --owner acme
workbench collection show acme/baselines-65f0...
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from workbench.cli.options import JsonOpt, RepoType, TokenOpt, UrlOpt, errors_to_exit, fail, print_json
from workbench.client import HubClient
from workbench.client import collections as api

app = typer.Typer(
    no_args_is_help=True, help="Collections: curated lists of models, datasets, spaces and papers."
)

SlugArg = Annotated[str, typer.Argument(help="The collection's slug, 'owner/title-id'.", show_default=False)]
SORTS = ("lastModified", "trending", "upvotes")


def _item_line(item: dict[str, Any]) -> str:
    note = " ".join(str((item.get("note") or {}).get("text") or "").split())
    private = " (private)" if item.get("private") else ""
    return f"{item['position']:>4}  {item['type']:<8} {item['id']}{private}" + (f"  - {note}" if note else "")


def _show(c: dict[str, Any]) -> None:
    lock = ", private" if c.get("private") else ""
    typer.echo(f"{c['slug']}  ({c.get('numberItems', len(c['items']))} items{lock})")
    typer.echo(f"  {c['title']}")
    if c.get("description"):
        typer.echo(f"  {c['description']}")
    for item in c["items"]:
        typer.echo(_item_line(item))


@app.command("create")
@errors_to_exit
def create(
    title: Annotated[str, typer.Argument(help="The collection's title.", show_default=False)],
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="User or organization to own it (default: you)."),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="A line on what it gathers (150 characters).")
    ] = None,
    private: Annotated[
        bool, typer.Option("--private", help="Only the owner (and org members) see it.")
    ] = False,
    exist_ok: Annotated[
        bool, typer.Option("--exist-ok", help="Print the existing collection of that title.")
    ] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a collection; prints its slug, which the other commands take."""
    with HubClient(url, token, progress=False) as hub:
        c = api.create(
            hub, title, namespace=namespace, description=description, private=private, exists_ok=exist_ok
        )
    if as_json:
        print_json(c)
        return
    typer.echo(c["slug"])


@app.command("add")
@errors_to_exit
def add(
    slug: SlugArg,
    item: Annotated[
        str, typer.Argument(help="Repo id 'ns/name', or for a paper its arXiv id or DOI.", show_default=False)
    ],
    type: Annotated[RepoType, typer.Option("--type", "-t", help="What the item is.")] = RepoType.model,
    note: Annotated[str | None, typer.Option(help="A note shown with the item (500 characters).")] = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="No error if it is there already.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a model, dataset, space or paper to a collection (at the end)."""
    with HubClient(url, token, progress=False) as hub:
        c = api.add_item(hub, slug, item, type.value, note=note, exists_ok=exist_ok)
    if as_json:
        print_json(c)
        return
    _show(c)


@app.command("remove")
@errors_to_exit
def remove(
    slug: SlugArg,
    item: Annotated[
        str, typer.Argument(help="The item's repo id (or paper id) or its _id.", show_default=False)
    ],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Remove an item from a collection."""
    with HubClient(url, token, progress=False) as hub:
        c = api.get(hub, slug)
        ids = [i["_id"] for i in c["items"] if item in (i["id"], i["_id"])]
        if not ids:
            fail(f"{item!r} is not in {slug}.")
        api.delete_item(hub, slug, ids[0])
    typer.echo(f"removed {item} from {slug}")


@app.command("list")
@errors_to_exit
def list_collections(
    owner: Annotated[str | None, typer.Option(help="Only this user's or organization's.")] = None,
    item: Annotated[
        str | None,
        typer.Option(
            help="Only those holding this item: models/ns/name, datasets/..., spaces/..., papers/ID."
        ),
    ] = None,
    sort: Annotated[str | None, typer.Option(help=f"One of {', '.join(SORTS)}.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most N collections.")] = 50,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Collections you may read, with their first items."""
    with HubClient(url, token, progress=False) as hub:
        found = api.list_all(hub, owner=owner, item=item, sort=sort, limit=limit)
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("no collections")
    for c in found:
        lock = ", private" if c.get("private") else ""
        typer.echo(f"{c['slug']}  ({c.get('numberItems', len(c['items']))} items{lock})  {c['title']}")


@app.command("show")
@errors_to_exit
def show(slug: SlugArg, url: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """A collection and every item you may read, in order, with notes."""
    with HubClient(url, token, progress=False) as hub:
        c = api.get(hub, slug)
    if as_json:
        print_json(c)
        return
    _show(c)


@app.command("delete")
@errors_to_exit
def delete(
    slug: SlugArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a collection (its items' repos stay)."""
    if not yes:
        typer.confirm(f"Delete collection {slug}?", abort=True)
    with HubClient(url, token, progress=False) as hub:
        api.delete(hub, slug)
    typer.echo(f"deleted {slug}")
