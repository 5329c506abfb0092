"""Workbench-only collaboration routes: anchored comments by cell, inbox, watch, lock, comment policy.

Included by ``routes.discussions`` (registered before the repo routes, whose
``/api/{repo_type}`` would otherwise answer ``/api/notifications``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from workbench.errors import InvalidRequest, NotFound
from workbench.hub import discussion_wire as dw
from workbench.hub.deps import Caller, JsonBody, State, field, repo_key, seg
from workbench.hub.wire import iso
from workbench.store import discussions as disc
from workbench.store import inbox
from workbench.store.access import readable_repo
from workbench.store.accounts import get_account
from workbench.store.anchors import anchored_comments

router = APIRouter(tags=["workbench"])

REPO = "/api/{repo_type}/{namespace}/{name}"


@router.get(REPO + "/comments", summary="Anchored comments on a file (by notebook cell) or a run")
def list_comments(
    repo_type: str,
    namespace: str,
    name: str,
    state: State,
    caller: Caller,
    path: str | None = None,
    run: str | None = None,
    revision: str = "main",
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        repo = readable_repo(state.store, s, caller, key.as_tuple())
        out = anchored_comments(state.store, s, repo, path=path, run=run, revision=revision)
    for cm in out["comments"]:
        cm["createdAt"] = iso(cm["createdAt"])
    return out


@router.post(REPO + "/discussions/{num}/lock", summary="Lock or unlock a discussion (writers)")
def lock(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    locked = field(data, "locked", bool, default=True)
    with state.store.write() as s:
        d = disc.set_locked(state.store, s, caller, key.as_tuple(), num, locked)
        return {"num": d.num, "locked": d.locked}


@router.post(REPO + "/watch", summary="Watch a repo: its new discussions and comments reach your inbox")
def watch(repo_type: str, namespace: str, name: str, state: State, caller: Caller) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        return {"watching": inbox.set_watch(state.store, s, caller, key.as_tuple(), True)}


@router.get(REPO + "/interest", summary="Whether the caller likes and watches a repo (Workbench)")
def interest(repo_type: str, namespace: str, name: str, state: State, caller: Caller) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        return inbox.interest(state.store, s, caller, key.as_tuple())


@router.delete(REPO + "/watch", summary="Stop watching a repo")
def unwatch(repo_type: str, namespace: str, name: str, state: State, caller: Caller) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        return {"watching": inbox.set_watch(state.store, s, caller, key.as_tuple(), False)}


@router.get("/api/notifications", summary="Your notifications (unread unless all=true)")
def notifications(
    state: State, caller: Caller, all: bool = False, limit: int = Query(100, ge=1, le=inbox.MAX_PAGE)
) -> dict[str, Any]:
    with state.store.read() as s:
        rows, unread = inbox.inbox(s, caller, unread_only=not all, limit=limit)
    return {"notifications": [dw.notification(n) for n in rows], "unread": unread}


@router.post("/api/notifications/read", summary="Mark notifications read (ids, or all)")
def mark_read(state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    ids = field(data, "ids", list, default=None)
    if ids is None and data.get("all") is not True:
        raise InvalidRequest('Send {"ids": [...]} or {"all": true}.', code="MissingField")
    with state.store.write() as s:
        return {"marked": inbox.mark_read(s, caller, ids)}


@router.get("/api/comment-policy/{namespace}", summary="Who may comment on a namespace's repos")
def get_policy(namespace: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.read() as s:
        account = get_account(s, seg(namespace))
        if account is None:
            raise NotFound(f"Namespace {seg(namespace)!r} not found.", code="NamespaceNotFound")
        return {"namespace": account.name, "policy": disc.comment_policy(s, account.id)}


@router.put("/api/comment-policy/{namespace}", summary="Set who may comment: readers or writers")
def put_policy(namespace: str, state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    with state.store.write() as s:
        account = get_account(s, seg(namespace))
        if account is None:
            raise NotFound(f"Namespace {seg(namespace)!r} not found.", code="NamespaceNotFound")
        disc.set_comment_policy(s, caller, account, field(data, "policy", str, required=True))
        return {"namespace": account.name, "policy": disc.comment_policy(s, account.id)}
