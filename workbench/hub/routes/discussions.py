"""HF protocol: discussions, pull requests and likes (docs/hf-protocol.md); ours in ``collab``.

The list and details answers carry ``Server-Timing: app;dur=<ms>`` (time spent in the
handler), which the discussion benchmark reads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from workbench.errors import InvalidRequest
from workbench.hub import discussion_wire as dw
from workbench.hub.deps import Caller, JsonBody, OptionalJsonBody, State, field, repo_key, seg
from workbench.hub.routes import collab, reviews
from workbench.hub.routes.history import Flags, compare_trees
from workbench.store import discussions as disc
from workbench.store import inbox
from workbench.store.access import readable_repo
from workbench.store.anchors import Anchor
from workbench.store.commits import commit_tree
from workbench.store.event_docs import thread_docs
from workbench.store.pulls import merge_pull_request, pr_state

router = APIRouter(tags=["discussions"])
router.include_router(collab.router)
router.include_router(reviews.router)

BASE = "/api/{repo_type}/{namespace}/{name}/discussions"
PAGE_SIZE = 50


def timed(body: dict[str, Any] | bytes, started: float) -> Response:
    # JSONResponse directly: FastAPI's jsonable_encoder costs more than the query on big threads
    if isinstance(body, bytes):
        response: Response = Response(body, media_type="application/json")
    else:
        response = JSONResponse(body)
    ms = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"app;dur={ms:.2f}"
    return response


class DetailsCache:
    """Rendered details of recently read discussions (not PRs), per process.

    The key holds everything the body shows that can change: the discussion's ``updated_at``
    (bumped by every comment, edit, hide, rename, status change and lock), its title, status
    and lock, and the repo's name. A stale entry can therefore never be served, in this or
    any other hub process sharing the store; old keys just age out.
    """

    def __init__(self, size: int = 64, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.size, self.max_bytes = size, max_bytes
        self.entries: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self.lock:
            body = self.entries.get(key)
            if body is not None:
                self.entries.move_to_end(key)
            return body

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self.lock:
            self.entries[key] = body
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


DETAILS = DetailsCache()


@router.get(BASE, summary="List a repo's discussions and pull requests")
def list_discussions(
    repo_type: str,
    namespace: str,
    name: str,
    state: State,
    caller: Caller,
    p: int = Query(0, ge=0, le=100000),
    type: str = "all",
    status: str = "all",
    author: str | None = None,
) -> Response:
    started = time.perf_counter()
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        repo, rows, count, start = disc.list_discussions(
            state.store,
            s,
            caller,
            key.as_tuple(),
            page=p,
            page_size=PAGE_SIZE,
            kind=type,
            status=status,
            author=author,
        )
        body = {
            "discussions": [dw.discussion_item(repo, d) for d in rows],
            "count": count,
            "start": start,
            "numClosedDiscussions": None,
        }
    return timed(body, started)


@router.post(BASE, summary="Open a discussion or a pull request")
def create_discussion(
    repo_type: str, namespace: str, name: str, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    pull = field(data, "pullRequest", bool, default=False)
    anchor = Anchor.from_json(data.get("anchor"))
    with state.store.write() as s:
        d, ev = disc.create_discussion(
            state.store,
            s,
            caller,
            key.as_tuple(),
            title=data.get("title"),
            description=data.get("description"),
            max_chars=state.settings.max_comment_chars,
            pull_request=pull,
            target=field(data, "target", str, default="main"),
            anchor=anchor,
        )
        return {
            "num": d.num,
            "pullRequest": d.is_pull_request,
            "status": d.status,
            "commentId": ev.public_id if ev is not None else None,
            "ref": f"refs/pr/{d.num}" if d.is_pull_request else None,
        }


@router.get(BASE + "/{num}", summary="A discussion with its events (and the diff of a PR)")
def discussion_details(
    repo_type: str,
    namespace: str,
    name: str,
    num: int,
    state: State,
    caller: Caller,
    diff: str | None = None,
    structured: str | None = None,
    ignore_outputs: str | None = None,
    ignore_metadata: str | None = None,
) -> Response:
    """A pull request's ``structured=1`` adds ``compare``: the compare endpoint's answer for
    its fork point and head (with ``ignore_outputs`` and ``ignore_metadata`` as there)."""
    started = time.perf_counter()
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        repo = readable_repo(state.store, s, caller, key.as_tuple())
        d = disc.get_discussion(s, repo, num)
        if d.is_pull_request:  # commits on refs/pr/N change it too: not cached
            pr = pr_state(state.store, s, repo, d, with_diff=diff in ("1", "true"))
            compare = None
            if Flags.on(structured):
                flags = Flags(structured, None, ignore_outputs, ignore_metadata)
                trees = [commit_tree(state.store, s, oid) for oid in (pr.base, pr.head)]
                compare = compare_trees(state.store, repo.type, trees, flags)
            return timed(dw.details(repo, d, thread_docs(s, d.id), pr, compare), started)
        cache_key = (d.id, d.updated_at, d.title, d.status, d.locked, repo.namespace, repo.name, repo.type)
        cached = DETAILS.get(cache_key)
        if cached is None:
            cached = dw.details(repo, d, thread_docs(s, d.id), None)
            DETAILS.put(cache_key, cached)
    return timed(cached, started)


@router.post(BASE + "/{num}/comment", summary="Comment on a discussion")
def comment(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    anchor = Anchor.from_json(data.get("anchor"))
    with state.store.write() as s:
        _d, ev = disc.add_comment(
            state.store,
            s,
            caller,
            key.as_tuple(),
            num,
            data.get("comment"),
            max_chars=state.settings.max_comment_chars,
            anchor=anchor,
        )
        return {"newMessage": dw.event(ev.doc)}


@router.post(BASE + "/{num}/comment/{comment_id}/edit", summary="Edit one's own comment")
def edit_comment(
    repo_type: str,
    namespace: str,
    name: str,
    num: int,
    comment_id: str,
    state: State,
    caller: Caller,
    data: JsonBody,
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        ev = disc.edit_comment(
            state.store,
            s,
            caller,
            key.as_tuple(),
            num,
            seg(comment_id),
            data.get("content"),
            max_chars=state.settings.max_comment_chars,
        )
        return {"updatedComment": dw.event(ev.doc)}


@router.post(BASE + "/{num}/comment/{comment_id}/hide", summary="Hide a comment (irreversible)")
def hide_comment(
    repo_type: str, namespace: str, name: str, num: int, comment_id: str, state: State, caller: Caller
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        ev = disc.hide_comment(state.store, s, caller, key.as_tuple(), num, seg(comment_id))
        return {"updatedComment": dw.event(ev.doc)}


@router.post(BASE + "/{num}/title", summary="Rename a discussion")
def rename(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        ev = disc.rename_discussion(state.store, s, caller, key.as_tuple(), num, data.get("title"))
        return {"newTitle": dw.event(ev.doc)}


@router.post(BASE + "/{num}/status", summary="Open or close a discussion")
def change_status(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        ev = disc.change_status(
            state.store,
            s,
            caller,
            key.as_tuple(),
            num,
            data.get("status"),
            comment=data.get("comment"),
            max_chars=state.settings.max_comment_chars,
        )
        return {"newStatus": dw.event(ev.doc)}


@router.post(BASE + "/{num}/merge", summary="Merge a pull request into its target branch")
def merge(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller, data: OptionalJsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    comment_text = data.get("comment")
    if comment_text is not None and not isinstance(comment_text, str):
        raise InvalidRequest("comment must be a string.", code="InvalidField")
    result = merge_pull_request(
        state.store,
        caller,
        key.as_tuple(),
        num,
        comment=comment_text,
        max_chars=state.settings.max_comment_chars,
    )
    return {"status": "merged", "mergeCommitId": result.oid, "fastForward": result.fast_forward}


# -- likes (HfApi.unlike, list_liked_repos, list_repo_likers) ------------------------------


@router.post("/api/{repo_type}/{namespace}/{name}/like", summary="Like a repo")
def like(repo_type: str, namespace: str, name: str, state: State, caller: Caller) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        return {"liked": True, "likes": inbox.set_like(state.store, s, caller, key.as_tuple(), True)}


@router.delete("/api/{repo_type}/{namespace}/{name}/like", summary="Unlike a repo")
def unlike(repo_type: str, namespace: str, name: str, state: State, caller: Caller) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        return {"liked": False, "likes": inbox.set_like(state.store, s, caller, key.as_tuple(), False)}


@router.get("/api/{repo_type}/{namespace}/{name}/likers", summary="Users who liked a repo")
def list_likers(
    repo_type: str, namespace: str, name: str, state: State, caller: Caller
) -> list[dict[str, Any]]:
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        return [
            {"user": u.name, "fullname": u.fullname, "avatarUrl": "", "type": "user"}
            for u in inbox.likers(state.store, s, caller, key.as_tuple())
        ]


@router.get("/api/users/{user}/likes", summary="Repos a user liked (those the caller may read)")
def user_likes(user: str, state: State, caller: Caller) -> list[dict[str, Any]]:
    from workbench.hub.wire import iso

    with state.store.read() as s:
        return [
            {"createdAt": iso(when), "repo": dw.repo_ref(repo)}
            for repo, when in inbox.liked_repos(s, caller, seg(user))
        ]
