"""Workbench API: reviews of pull requests and review comments anchored to their diff
(docs/hub.md, "Reviews"); the rules are ``store/reviews.py`` and ``store/approvals.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from workbench.hub.deps import Caller, JsonBody, State, field, repo_key, seg
from workbench.store import reviews

router = APIRouter(tags=["reviews"])

BASE = "/api/{repo_type}/{namespace}/{name}/discussions/{num}"


@router.get(BASE + "/reviews", summary="A pull request's reviews and where its approvals stand")
def list_reviews(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        return reviews.reviews(state.store, s, caller, key.as_tuple(), num)


@router.post(BASE + "/reviews", summary="Review a pull request: comment, approve or request changes")
def create_review(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        return reviews.create_review(
            state.store,
            s,
            caller,
            key.as_tuple(),
            num,
            state=data.get("state"),
            summary=data.get("summary"),
            comments=data.get("comments"),
            max_chars=state.settings.max_comment_chars,
        )


@router.post(BASE + "/reviews/request", summary="Ask users to review a pull request")
def request_reviews(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        asked = reviews.request_reviews(state.store, s, caller, key.as_tuple(), num, data.get("reviewers"))
        return {"requested": asked}


@router.get(BASE + "/review-comments", summary="A pull request's review threads")
def list_threads(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        return {"threads": reviews.threads(state.store, s, caller, key.as_tuple(), num)}


@router.post(BASE + "/review-comments", summary="Comment on a line or notebook cell of the diff, or reply")
def add_comment(
    repo_type: str, namespace: str, name: str, num: int, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        return reviews.add_review_comment(
            state.store, s, caller, key.as_tuple(), num, data, max_chars=state.settings.max_comment_chars
        )


@router.post(BASE + "/review-comments/{comment_id}/resolve", summary="Resolve or reopen a review thread")
def resolve(
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
    resolved = field(data, "resolved", bool, default=True)
    with state.store.write() as s:
        return reviews.resolve_thread(state.store, s, caller, key.as_tuple(), num, seg(comment_id), resolved)
