"""Kernel helpers for collections: ``wb.collection`` and ``wb.collections``.

A collection is an ordered list of models, datasets, spaces and papers with a note on each,
owned by a user or an organization (the same collections ``HfApi.get_collection`` reads).
Displays escape every user string; notes are rendered as sanitized markdown.

>>> c = wb.collection(title="Baselines", namespace="acme")      # doctest: +SKIP
>>> c.add("acme/bert-tiny", note="the floor to beat")            # doctest: +SKIP
>>> wb.collections(owner="acme")                                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.errors import InvalidRequest, NotFound
from workbench.kernel.display import badge, short_date, table
from workbench.markdown import esc, render_markdown

_TYPES = ("model", "dataset", "space", "paper")


def _client() -> Any:
    from workbench.kernel.session import connection

    return connection().client


def _api() -> Any:
    """:mod:`workbench.client.collections`, imported on first use (``import workbench``
    stays quick: the client pulls in httpx)."""
    from workbench.client import collections as api

    return api


def _item_link(client: Any, item: dict[str, Any]) -> str:
    ident = str(item.get("id", ""))
    if ident.count("/") != 1:  # a paper added by arXiv id or DOI
        return f"<code>{esc(ident)}</code>"
    url = client.repo_url(ident, type=item.get("type", "model"))
    return f'<a href="{esc(url)}" target="_blank"><code>{esc(ident)}</code></a>'


@dataclass
class Collection:
    """One collection: ``items`` in order, each a dict with ``_id``, ``type``, ``id``,
    ``position`` and ``note`` (``{"text", "html"}``, absent without a note)."""

    slug: str
    title: str
    owner: str
    description: str
    private: bool
    items: list[dict[str, Any]]
    last_updated: str | None
    num_items: int
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Collection:
        return cls(
            slug=data["slug"],
            title=data["title"],
            owner=(data.get("owner") or {}).get("name", data["slug"].split("/")[0]),
            description=data.get("description") or "",
            private=bool(data.get("private")),
            items=list(data.get("items") or []),
            last_updated=data.get("lastUpdated"),
            num_items=int(data.get("numberItems", len(data.get("items") or []))),
            raw=data,
        )

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)

    def _refresh(self, data: dict[str, Any]) -> Collection:
        fresh = Collection.from_api(data)
        self.__dict__.update(fresh.__dict__)
        return self

    def add(self, item_id: str, *, type: str | None = None, note: str | None = None) -> Collection:
        """Add a repo (``type`` defaults to the first of model, dataset, space, paper under
        which ``item_id`` exists) or a paper by arXiv id or DOI (``type="paper"``)."""
        api, client = _api(), _client()
        kind = type or _find_type(client, item_id)
        return self._refresh(api.add_item(client, self.slug, item_id, kind, note=note, exists_ok=True))

    def _item(self, item_id: str) -> dict[str, Any]:
        for item in self.items:
            if item_id in (item["id"], item["_id"]):
                return item
        raise NotFound(f"{item_id!r} is not in collection {self.slug!r}.", code="CollectionItemNotFound")

    def note(self, item_id: str, text: str) -> Collection:
        """Set the note of an item (by repo id or item ``_id``); ``""`` removes it."""
        api, client = _api(), _client()
        data = api.update_item(client, self.slug, self._item(item_id)["_id"], note=text)
        return self._refresh(data)

    def move(self, item_id: str, position: int) -> Collection:
        """Move an item (by repo id or item ``_id``) to ``position`` (0 is first)."""
        api, client = _api(), _client()
        data = api.update_item(client, self.slug, self._item(item_id)["_id"], position=position)
        return self._refresh(data)

    def remove(self, item_id: str) -> Collection:
        """Remove an item (by repo id or item ``_id``)."""
        api, client = _api(), _client()
        api.delete_item(client, self.slug, self._item(item_id)["_id"])
        return self._refresh(api.get(client, self.slug))

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "position": i.get("position"),
                "type": i.get("type"),
                "id": i.get("id"),
                "note": (i.get("note") or {}).get("text"),
            }
            for i in self.items
        ]

    @property
    def df(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=["position", "type", "id", "note"])

    def __repr__(self) -> str:
        lock = ", private" if self.private else ""
        lines = [f"Collection({self.slug!r}, {self.num_items} items{lock})", f"  {self.title}"]
        lines += [
            f"  {r['position']:>3}  {r['type']:<8} {r['id']}" + (f"  - {r['note']}" if r["note"] else "")
            for r in self.rows()
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        client = _client()
        lock = " &#128274; private" if self.private else ""
        rows = [
            (
                i.get("position"),
                badge(str(i.get("type"))),
                _item_link(client, i),
                render_markdown((i.get("note") or {}).get("text") or ""),
            )
            for i in self.items
        ]
        more = (
            f"<div style='color:#57606a'>{self.num_items - len(self.items)} more: "
            f'<code>wb.collection("{esc(self.slug)}")</code></div>'
            if self.num_items > len(self.items)
            else ""
        )
        return (
            f"<div><b>{esc(self.title)}</b>{lock} <span style='color:#57606a;font-size:0.9em'>"
            f"<code>{esc(self.slug)}</code> &middot; by {esc(self.owner)} &middot; updated "
            f"{esc(short_date(self.last_updated))}</span>"
            + (f"<div><i>{esc(self.description)}</i></div>" if self.description else "")
            + table(("#", "type", "item", "note"), rows, raw_columns={1, 2, 3})
            + more
            + "</div>"
        )


def _find_type(client: Any, item_id: str) -> str:
    for candidate in _TYPES:
        try:
            client.repo_info(item_id, type=candidate)
            return candidate
        except (NotFound, InvalidRequest):
            continue
    raise NotFound(
        f"No model, dataset, space or paper named {item_id!r} that you may read; "
        "pass type='paper' for an arXiv id or DOI.",
        code="RepoNotFound",
    )


def collection(
    slug: str | None = None,
    *,
    title: str | None = None,
    namespace: str | None = None,
    description: str | None = None,
    private: bool = False,
) -> Collection:
    """The collection ``slug`` (``owner/title-id``), with every item you may read; or, with
    ``title``, your (or ``namespace``'s) collection of that title, created if there is none.

    >>> wb.collection("acme/baselines-65f0c2a1b3d4e5f601234567")          # doctest: +SKIP
    >>> wb.collection(title="Baselines", namespace="acme", private=True)  # doctest: +SKIP
    """
    api, client = _api(), _client()
    if (slug is None) == (title is None):
        raise InvalidRequest(
            "Pass a collection's slug, or title= to find or create one.", code="MissingParameter"
        )
    if slug is not None:
        return Collection.from_api(api.get(client, slug))
    data = api.create(
        client, str(title), namespace=namespace, description=description, private=private, exists_ok=True
    )
    return Collection.from_api(data)


@dataclass
class Collections:
    """A list of collections (each with its first four items): a table in the notebook."""

    items: list[Collection]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)

    def __getitem__(self, index: int) -> Collection:
        return self.items[index]

    def __repr__(self) -> str:
        return "\n".join(
            [f"{len(self.items)} collections"]
            + [
                f"  {c.slug}  ({c.num_items} items{', private' if c.private else ''})  {c.title}"
                for c in self
            ]
        )

    def _repr_html_(self) -> str:
        client = _client()
        rows = [
            (
                f"<b>{esc(c.title)}</b>"
                + (" &#128274;" if c.private else "")
                + f"<br><code>{esc(c.slug)}</code>",
                esc(c.owner),
                c.num_items,
                " ".join(badge(str(i.get("type"))) + " " + _item_link(client, i) for i in c.items),
                esc(short_date(c.last_updated)),
            )
            for c in self
        ]
        return (
            f"<div><b>{len(self.items)} collections</b>"
            + table(
                ("collection", "owner", "items", "first items", "updated"), rows, raw_columns={0, 1, 3, 4}
            )
            + "</div>"
        )


def collections(
    *, owner: str | None = None, item: str | None = None, sort: str | None = None, limit: int | None = 100
) -> Collections:
    """Collections you may read: ``owner`` (a user or organization), ``item`` (such as
    ``"models/acme/bert-tiny"``, ``"datasets/acme/iris"`` or ``"papers/1706.03762"``),
    ``sort`` (``lastModified``, ``trending``, ``upvotes``).

    >>> wb.collections(owner="acme")                                   # doctest: +SKIP
    """
    found = _api().list_all(_client(), owner=owner, item=item, sort=sort, limit=limit)
    return Collections([Collection.from_api(c) for c in found])
