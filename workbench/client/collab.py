"""Discussions, anchored comments, inbox, likes and watches on the hub (plain HTTP).

The HF-protocol parts (discussions, comments) are the endpoints ``HfApi`` uses; comments
with an anchor and the inbox are workbench-only.

>>> with HubClient() as hub:                                                  # doctest: +SKIP
...     hub.comment("admin/iris-mini", "Label 2 looks off", path="eval.ipynb", cell="a1b2")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient


def comment(
    client: HubClient,
    repo_id: str,
    text: str,
    *,
    type: str = "model",
    discussion: int | None = None,
    title: str | None = None,
    path: str | None = None,
    cell: str | None = None,
    commit: str | None = None,
    run: str | None = None,
) -> dict[str, Any]:
    """Comment on discussion ``discussion``, or open a new one (titled after the anchor).

    Returns ``{"discussion": num, "comment": id}``.
    """
    anchor = {k: v for k, v in (("path", path), ("cell", cell), ("commit", commit), ("run", run)) if v}
    if discussion is None:
        where = f"{path}" + (f" cell {cell}" if cell else "") if path else (f"run {run}" if run else "")
        body: dict[str, Any] = {
            "title": title or (f"Comment on {where}" if where else text[:80]),
            "description": text,
            "pullRequest": False,
        }
        if anchor:
            body["anchor"] = anchor
        out = client.request("POST", client.api_path(repo_id, type, "discussions"), json=body).json()
        return {"discussion": out["num"], "comment": out.get("commentId")}
    body = {"comment": text, **({"anchor": anchor} if anchor else {})}
    event = client.request(
        "POST", client.api_path(repo_id, type, "discussions", str(discussion), "comment"), json=body
    ).json()["newMessage"]
    return {"discussion": discussion, "comment": event["id"]}


def discussions(
    client: HubClient,
    repo_id: str,
    *,
    type: str = "model",
    status: str = "all",
    kind: str = "all",
    author: str | None = None,
) -> list[dict[str, Any]]:
    """Every discussion and pull request of a repo, newest first (follows the ``p`` pages)."""
    items: list[dict[str, Any]] = []
    page = 0
    while True:
        params: dict[str, Any] = {"p": page, "status": status, "type": kind}
        if author:
            params["author"] = author
        out = client.request("GET", client.api_path(repo_id, type, "discussions"), params=params).json()
        items.extend(out["discussions"])
        if out["start"] + len(out["discussions"]) >= out["count"] or not out["discussions"]:
            return items
        page += 1


def discussion(client: HubClient, repo_id: str, num: int, *, type: str = "model") -> dict[str, Any]:
    result: dict[str, Any] = client.request(
        "GET", client.api_path(repo_id, type, "discussions", str(num)), params={"diff": "1"}
    ).json()
    return result


def comments(
    client: HubClient,
    repo_id: str,
    *,
    type: str = "model",
    path: str | None = None,
    run: str | None = None,
    revision: str = "main",
) -> dict[str, Any]:
    """Anchored comments on ``path`` (by cell, with ``changed``, for notebooks) or on ``run``."""
    params = {k: v for k, v in (("path", path), ("run", run), ("revision", revision)) if v}
    result: dict[str, Any] = client.request(
        "GET", client.api_path(repo_id, type, "comments"), params=params
    ).json()
    return result


def inbox(client: HubClient, *, all: bool = False, limit: int = 100) -> dict[str, Any]:
    result: dict[str, Any] = client.request(
        "GET", "/api/notifications", params={"all": str(all).lower(), "limit": limit}
    ).json()
    return result


def mark_read(client: HubClient, ids: list[int] | None = None) -> int:
    body: dict[str, Any] = {"ids": ids} if ids is not None else {"all": True}
    return int(client.request("POST", "/api/notifications/read", json=body).json()["marked"])


def like(client: HubClient, repo_id: str, *, type: str = "model", liked: bool = True) -> int:
    """Like (or unlike) a repo; returns its like count."""
    method = "POST" if liked else "DELETE"
    return int(client.request(method, client.api_path(repo_id, type, "like")).json()["likes"])


def watch(client: HubClient, repo_id: str, *, type: str = "model", watching: bool = True) -> bool:
    method = "POST" if watching else "DELETE"
    return bool(client.request(method, client.api_path(repo_id, type, "watch")).json()["watching"])


def review(
    client: HubClient, repo_id: str, num: int, *, state: str, summary: str = "", type: str = "model"
) -> dict[str, Any]:
    """Review pull request ``num``: ``state`` is ``comment``, ``approve`` or ``request_changes``."""
    result: dict[str, Any] = client.request(
        "POST",
        client.api_path(repo_id, type, "discussions", str(num), "reviews"),
        json={"state": state, "summary": summary},
    ).json()
    return result


def reviews(client: HubClient, repo_id: str, num: int, *, type: str = "model") -> dict[str, Any]:
    """Pull request ``num``'s reviews and where its approvals stand."""
    result: dict[str, Any] = client.request(
        "GET", client.api_path(repo_id, type, "discussions", str(num), "reviews")
    ).json()
    return result
