"""HF protocol: refs, commit history, branches and tags (docs/hf-protocol.md, "Files and history"),
and rewriting history to free space or purge a leaked file: ``super_squash_history``,
``list_lfs_files``, ``permanently_delete_lfs_files`` (``workbench.store.rewrite``)."""

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
    Position,
    State,
    base_url,
    field,
    repo_key,
    seg,
)
from workbench.store.access import readable_repo, writable_repo
from workbench.store.commits import history
from workbench.store.refs import create_ref, delete_ref, list_refs, resolve_revision
from workbench.store.rewrite import list_lfs_files, purge_lfs_files, squash_branch

router = APIRouter(tags=["refs"])
COMMITS_PAGE = 100
LFS_PAGE = 1000


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
    cursor: Position = 0,
    limit: int = Query(COMMITS_PAGE, ge=1, le=1000),
) -> list[dict[str, Any]]:
    key = repo_key(repo_type, namespace, name)
    formatted = "formatted" in request.query_params.getlist("expand[]")
    with state.store.read() as s:
        repo = readable_repo(state.store, s, caller, key.as_tuple())
        resolved = resolve_revision(s, repo, seg(revision))
        rows = history(s, repo, resolved.oid)
    page = rows[cursor : cursor + limit]
    _page_link(request, response, len(rows), cursor, limit)
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


def _page_link(request: Request, response: Response, total: int, cursor: int, limit: int) -> None:
    if cursor + limit < total:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        params.append(("cursor", str(cursor + limit)))
        response.headers["Link"] = f'<{base_url(request)}{request.url.path}?{urlencode(params)}>; rel="next"'
    response.headers["X-Total-Count"] = str(total)


@router.post(
    "/api/{repo_type}/{namespace}/{name}/super-squash/{branch:path}",
    summary="Replace a branch's history with one commit of its current files",
)
def super_squash(
    repo_type: str,
    namespace: str,
    name: str,
    branch: str,
    state: State,
    caller: Caller,
    data: OptionalJsonBody,
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    message = field(data, "message", str) or ""
    result, dropped = squash_branch(state.store, caller, key.as_tuple(), seg(branch), message=message)
    return {"commitOid": result.oid, "branch": result.branch, "droppedCommits": dropped}


@router.get("/api/{repo_type}/{namespace}/{name}/lfs-files", summary="Large files any commit names")
def lfs_files(
    repo_type: str,
    namespace: str,
    name: str,
    request: Request,
    response: Response,
    state: State,
    caller: Caller,
    cursor: Position = 0,
    limit: int = Query(LFS_PAGE, ge=1, le=LFS_PAGE),
) -> list[dict[str, Any]]:
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        repo = readable_repo(state.store, s, caller, key.as_tuple())
        files = list_lfs_files(state.store, s, repo)
    _page_link(request, response, len(files), cursor, limit)
    return [
        {
            "fileOid": f.sha256,
            "oid": f.pointer_oid,
            "size": f.size,
            "filename": f.path,
            "pushedAt": wire.iso(f.pushed_at),
            "ref": f.ref,
            **({"xetHash": f.xet_hash} if f.xet_hash else {}),
        }
        for f in files[cursor : cursor + limit]
    ]


@router.post("/api/{repo_type}/{namespace}/{name}/lfs-files/batch", summary="Purge large files from history")
def delete_lfs_files(
    repo_type: str, namespace: str, name: str, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    deletions = field(data, "deletions", dict, required=True)
    shas = field(deletions, "sha", list, required=True)
    if not all(isinstance(sha, str) for sha in shas):
        raise InvalidRequest("deletions.sha must list SHA-256 ids (strings).", code="InvalidField")
    rewrite = field(deletions, "rewriteHistory", bool, default=True)
    result = purge_lfs_files(state.store, caller, key.as_tuple(), shas, rewrite_history=rewrite)
    return {
        "deleted": result.files,
        "commitsRewritten": result.commits_rewritten,
        "commitsDropped": result.commits_dropped,
        "refsMoved": result.refs_moved,
    }
