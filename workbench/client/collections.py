"""Collections on the hub, over the endpoints ``HfApi``'s collection calls use.

A collection is named by its slug, ``owner/title-slug-id``; its items by their ``_id``
(``item_object_id`` in ``huggingface_hub``), not by the repo id they point at.

>>> c = collections.create(hub, "Baselines", namespace="acme", exists_ok=True)  # doctest: +SKIP
>>> collections.add_item(hub, c["slug"], "acme/bert-tiny", "model", note="the floor")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from workbench.errors import Conflict

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient


def _path(slug: str, *rest: str) -> str:
    return "/".join(["/api/collections", *(quote(p, safe="") for p in (*slug.split("/", 1), *rest))])


def create(
    hub: HubClient,
    title: str,
    *,
    namespace: str | None = None,
    description: str | None = None,
    private: bool = False,
    exists_ok: bool = False,
) -> dict[str, Any]:
    """Create a collection under ``namespace`` (default: you); with ``exists_ok`` an existing
    collection of that title is returned instead of raising ``Conflict``."""
    owner = namespace or hub.whoami()["name"]
    body: dict[str, Any] = {"title": title, "namespace": owner, "private": private}
    if description is not None:
        body["description"] = description
    try:
        return hub.request("POST", "/api/collections", json=body).json()  # type: ignore[no-any-return]
    except Conflict:
        if not exists_ok:
            raise
        same = [c for c in list_all(hub, owner=owner) if c["title"] == title.strip()]
        if not same:
            raise
        return get(hub, same[0]["slug"])


def get(hub: HubClient, slug: str) -> dict[str, Any]:
    return hub.request("GET", _path(slug)).json()  # type: ignore[no-any-return]


def list_all(
    hub: HubClient,
    *,
    owner: str | None = None,
    item: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Collections you may read, each with its first four items (``get`` has them all)."""
    params = {k: v for k, v in (("owner", owner), ("item", item), ("sort", sort), ("limit", limit)) if v}
    return hub.paginate("/api/collections", params=params, limit=limit)


def update(hub: HubClient, slug: str, **fields: Any) -> dict[str, Any]:
    """Change ``title``, ``description``, ``position``, ``private`` or ``theme``."""
    body = {k: v for k, v in fields.items() if v is not None}
    return hub.request("PATCH", _path(slug), json=body).json()["data"]  # type: ignore[no-any-return]


def delete(hub: HubClient, slug: str) -> None:
    hub.request("DELETE", _path(slug))


def add_item(
    hub: HubClient,
    slug: str,
    item_id: str,
    item_type: str,
    *,
    note: str | None = None,
    exists_ok: bool = False,
) -> dict[str, Any]:
    """Add a model, dataset, space or paper (a paper by arXiv id, DOI or repo id)."""
    body: dict[str, Any] = {"item": {"id": item_id, "type": item_type}}
    if note is not None:
        body["note"] = note
    try:
        return hub.request("POST", _path(slug, "items"), json=body).json()  # type: ignore[no-any-return]
    except Conflict:
        if not exists_ok:
            raise
        return get(hub, slug)


def update_item(
    hub: HubClient, slug: str, item_object_id: str, *, note: str | None = None, position: int | None = None
) -> dict[str, Any]:
    body = {k: v for k, v in (("note", note), ("position", position)) if v is not None}
    return hub.request("PATCH", _path(slug, "items", item_object_id), json=body).json()["data"]  # type: ignore[no-any-return]


def delete_item(hub: HubClient, slug: str, item_object_id: str) -> None:
    hub.request("DELETE", _path(slug, "items", item_object_id))
