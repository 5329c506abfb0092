"""HF protocol: refs, commit history, branches and tags (docs/hf-protocol.md, "Files and history")."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from workbench.errors import InvalidRequest
from workbench.hub import wire
from workbench.hub.deps import (
    Caller,
    JsonBody,
    OptionalJsonBody,
    State,
    base_url,
    field,
    repo_key,
    seg,
)
from workbench.store.access import readable_repo, writable_repo
from workbench.store.commits import history
from workbench.store.refs import create_ref, delete_ref, list_refs, resolve_revision

router = APIRouter(tags=["refs"])
COMMITS_PAGE = 100


@router.get("/api/{repo_type}/{namespace}/{name}/refs", summary="Branches, tags and other refs")
def refs(
    repo_type: str, namespace: str, name: str, state: State, caller: Caller, include_prs: bool = False
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        repo = readable_repo(state.store, s, caller, key.as_tuple())
        rows = list_refs(s, repo)
    out: dict[str, Any] = {
        "branches": [wire.ref_out(r) for r in rows if r.kind == "branch"],
        "tags": [wire.ref_out(r) for r in rows if r.kind == "tag"],
        "converts": [wire.ref_out(r) for r in rows if r.kind == "convert"],
    }
    if include_prs:
        out["pullRequests"] = [wire.ref_out(r) for r in rows if r.kind == "pr"]
    return out


@router.get(
    "/api/{repo_type}/{namespace}/{name}/commits/{revision:path}", summary="Commit history, newest first"
)
def commits(
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    request: Request,
    response: Response,
    state: State,
    caller: Caller,
    cursor: int = Query(0, ge=0),
    limit: int = Query(COMMITS_PAGE, ge=1, le=1000),
) -> list[dict[str, Any]]:
    key = repo_key(repo_type, namespace, name)
    formatted = "formatted" in request.query_params.getlist("expand[]")
    with state.store.read() as s:
        repo = readable_repo(state.store, s, caller, key.as_tuple())
        resolved = resolve_revision(s, repo, seg(revision))
        rows = history(s, repo, resolved.oid)
    page = rows[cursor : cursor + limit]
    if cursor + limit < len(rows):
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        params.append(("cursor", str(cursor + limit)))
        response.headers["Link"] = f'<{base_url(request)}{request.url.path}?{urlencode(params)}>; rel="next"'
    response.headers["X-Total-Count"] = str(len(rows))
    return [wire.commit_out(c, formatted=formatted) for c in page]


@router.post("/api/{repo_type}/{namespace}/{name}/branch/{branch:path}", summary="Create a branch")
def create_branch(
    repo_type: str,
    namespace: str,
    name: str,
    branch: str,
    request: Request,
    state: State,
    caller: Caller,
    data: OptionalJsonBody,
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    start = field(data, "startingPoint", str) or "main"
    with state.store.write() as s:
        repo = writable_repo(state.store, s, caller, key.as_tuple())
        target = resolve_revision(s, repo, start)
        ref = create_ref(s, repo, "branch", seg(branch), target.oid)
        return wire.ref_out(ref)


@router.delete("/api/{repo_type}/{namespace}/{name}/branch/{branch:path}", summary="Delete a branch")
def remove_branch(
    repo_type: str, namespace: str, name: str, branch: str, state: State, caller: Caller
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        repo = writable_repo(state.store, s, caller, key.as_tuple())
        delete_ref(s, repo, "branch", seg(branch))
    return {"deleted": seg(branch)}


@router.post("/api/{repo_type}/{namespace}/{name}/tag/{revision:path}", summary="Tag a revision")
def create_tag(
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    request: Request,
    state: State,
    caller: Caller,
    data: JsonBody,
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    tag = field(data, "tag", str, required=True)
    message = field(data, "message", str)
    with state.store.write() as s:
        repo = writable_repo(state.store, s, caller, key.as_tuple())
        target = resolve_revision(s, repo, seg(revision))
        ref = create_ref(s, repo, "tag", tag, target.oid, message=message)
        return wire.ref_out(ref)


@router.delete("/api/{repo_type}/{namespace}/{name}/tag/{tag:path}", summary="Delete a tag")
def remove_tag(
    repo_type: str, namespace: str, name: str, tag: str, state: State, caller: Caller
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    if not seg(tag):
        raise InvalidRequest("Give the tag to delete.", code="MissingField")
    with state.store.write() as s:
        repo = writable_repo(state.store, s, caller, key.as_tuple())
        delete_ref(s, repo, "tag", seg(tag))
    return {"deleted": seg(tag)}
