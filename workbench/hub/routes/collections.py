"""HF protocol: collections (``HfApi.create_collection``, ``get_collection``, ``list_collections``,
``add_collection_item``, ...), in the JSON shapes the Hugging Face clients parse.

A collection is addressed by its slug, ``/api/collections/{owner}/{title-slug}-{id}``. Who
may read and change which collection, and which items a reader sees, is
:mod:`workbench.store.collections`. A listing carries no ``position`` (the client numbers
the collections itself) and at most four items per collection, as on the Hugging Face Hub.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from workbench.hub import wire
from workbench.hub.deps import Caller, JsonBody, OptionalJsonBody, Position, State, base_url, field, seg
from workbench.markdown import render_markdown
from workbench.store import collections
from workbench.store.collection_views import CollectionView, ItemView

router = APIRouter(tags=["collections"])
MAX_PAGE = 100


def _item_out(item: ItemView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_id": item.public_id,
        "type": item.type,
        "id": item.id,
        "position": item.position,
        "author": item.author,
        "private": item.private,
        "gated": item.gated or False,
        "likes": item.likes,
        "downloads": item.downloads,
        "createdAt": wire.iso(item.created_at),
        "lastModified": wire.iso(item.last_modified),
    }
    if item.type == "paper":
        out["upvotes"] = item.likes
    else:
        out["repoType"] = item.type
    if item.title:
        out["title"] = item.title
    if item.note:
        out["note"] = {"text": item.note, "html": render_markdown(item.note)}
    return out


def collection_out(c: CollectionView, base: str, *, position: bool = True) -> dict[str, Any]:
    """The HF collection object; ``position`` only outside listings (the client sets it there)."""
    out: dict[str, Any] = {
        "slug": c.slug,
        "title": c.title,
        "description": c.description,
        "owner": {
            "name": c.owner,
            "fullname": c.owner_fullname,
            "type": c.owner_kind,
            "isOrg": c.owner_kind == "org",
        },
        "items": [_item_out(i) for i in c.items],
        "numberItems": c.num_items,
        "lastUpdated": wire.iso(c.updated_at),
        "theme": c.theme,
        "private": c.private,
        "upvotes": 0,
        "isUpvotedByUser": False,
        "gating": False,
        "url": f"{base}/collections/{c.slug}",
    }
    if position:
        out["position"] = c.position
    return out


def _slug(namespace: str, slug: str) -> str:
    return f"{seg(namespace)}/{seg(slug)}"


@router.get("/api/collections", summary="List collections (filters: owner, item; sort, limit)")
def list_endpoint(
    request: Request,
    response: Response,
    state: State,
    caller: Caller,
    owner: list[str] = Query([]),
    item: list[str] = Query([]),
    sort: str | None = None,
    limit: int | None = Query(None, ge=1),
    cursor: Position = 0,
) -> list[dict[str, Any]]:
    want = min(limit, MAX_PAGE) if limit else MAX_PAGE
    with state.store.read() as s:
        found = collections.list_collections(
            s, caller, owners=owner, items=item, sort=sort, offset=cursor, limit=want + 1
        )
    base = base_url(request)
    if len(found) > want and (limit is None or limit > want):
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "limit")]
        params.append(("cursor", str(cursor + want)))
        if limit:
            params.append(("limit", str(limit - want)))
        response.headers["Link"] = f'<{base}/api/collections?{urlencode(params)}>; rel="next"'
    return [collection_out(c, base, position=False) for c in found[:want]]


@router.post("/api/collections", summary="Create a collection")
def create_endpoint(request: Request, state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    title = field(data, "title", str, required=True)
    namespace = field(data, "namespace", str) or caller.name or ""
    with state.store.write() as s:
        c = collections.create_collection(
            s,
            caller,
            namespace,
            title,
            description=field(data, "description", str, default=""),
            private=field(data, "private", bool, default=False),
        )
    return collection_out(c, base_url(request))


@router.get("/api/collections/{namespace}/{slug}", summary="A collection and its items")
def get_endpoint(namespace: str, slug: str, request: Request, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.read() as s:
        c = collections.get_collection(s, caller, _slug(namespace, slug))
    return collection_out(c, base_url(request))


@router.patch("/api/collections/{namespace}/{slug}", summary="Change a collection's title, order, ...")
def update_endpoint(
    namespace: str, slug: str, request: Request, state: State, caller: Caller, data: OptionalJsonBody
) -> dict[str, Any]:
    with state.store.write() as s:
        c = collections.update_collection(
            s,
            caller,
            _slug(namespace, slug),
            title=field(data, "title", str),
            description=field(data, "description", str),
            position=field(data, "position", int),
            private=field(data, "private", bool),
            theme=field(data, "theme", str),
        )
    return {"success": True, "data": collection_out(c, base_url(request))}


@router.delete("/api/collections/{namespace}/{slug}", summary="Delete a collection")
def delete_endpoint(namespace: str, slug: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        collections.delete_collection(s, caller, _slug(namespace, slug))
    return {"success": True}


@router.post("/api/collections/{namespace}/{slug}/items", summary="Add a model, dataset, space or paper")
def add_item_endpoint(
    namespace: str, slug: str, request: Request, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    item = field(data, "item", dict, required=True)
    with state.store.write() as s:
        c = collections.add_item(
            state.store,
            s,
            caller,
            _slug(namespace, slug),
            field(item, "id", str, required=True),
            field(item, "type", str, required=True),
            note=field(data, "note", str),
        )
    return collection_out(c, base_url(request))


@router.patch("/api/collections/{namespace}/{slug}/items/{item_id}", summary="Change an item's note or place")
def update_item_endpoint(
    namespace: str,
    slug: str,
    item_id: str,
    request: Request,
    state: State,
    caller: Caller,
    data: OptionalJsonBody,
) -> dict[str, Any]:
    with state.store.write() as s:
        c = collections.update_item(
            s,
            caller,
            _slug(namespace, slug),
            seg(item_id),
            note=field(data, "note", str),
            position=field(data, "position", int),
        )
    return {"success": True, "data": collection_out(c, base_url(request))}


@router.delete("/api/collections/{namespace}/{slug}/items/{item_id}", summary="Remove an item")
def delete_item_endpoint(
    namespace: str, slug: str, item_id: str, state: State, caller: Caller
) -> dict[str, Any]:
    with state.store.write() as s:
        collections.delete_item(s, caller, _slug(namespace, slug), seg(item_id))
    return {"success": True}
