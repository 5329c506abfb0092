"""Discussions and notifications in the JSON shapes the HF clients parse (docs/hf-protocol.md).

Events arrive as ready JSON documents (``workbench.store.event_docs``); a thread's body is
its header object with the documents joined into ``events``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from workbench.hub.wire import iso
from workbench.store import collab_models as c
from workbench.store import models as m
from workbench.store.event_docs import commit_doc, user
from workbench.store.inbox import NotificationView
from workbench.store.pulls import PrState


def repo_ref(repo: m.Repo) -> dict[str, str]:
    return {"name": f"{repo.namespace}/{repo.name}", "type": repo.type}


def discussion_item(repo: m.Repo, d: c.Discussion) -> dict[str, Any]:
    return {
        "num": d.num,
        "title": d.title,
        "status": d.status,
        "createdAt": iso(d.created_at),
        "updatedAt": iso(d.updated_at),
        "isPullRequest": d.is_pull_request,
        "author": user(d.author),
        "repo": repo_ref(repo),
        "pinned": d.pinned,
        "locked": d.locked,
        "topReactions": [],
    }


def details(
    repo: m.Repo,
    d: c.Discussion,
    docs: list[tuple[datetime, str]],
    pr: PrState | None,
    compare: dict[str, Any] | None = None,
) -> bytes:
    """The details body (UTF-8 JSON bytes): header fields, PR fields (``compare``: the files
    the PR changes, with their structured diffs), then ``events``."""
    head = discussion_item(repo, d)
    if pr is not None:
        commits = [(x.created_at, commit_doc(x.oid, x.title, x.author, x.created_at)) for x in pr.commits]
        docs = sorted(docs + commits, key=lambda item: item[0])
        head["changes"] = {
            "base": pr.target,
            "headRef": f"refs/pr/{d.num}",
            "head": pr.head,
            "baseOid": pr.base,
        }
        if pr.merge_oid:
            head["changes"]["mergeCommitId"] = pr.merge_oid
        head["filesWithConflicts"] = pr.conflicts
        if pr.diff is not None:
            head["diff"] = pr.diff
        if compare is not None:
            head["compare"] = compare
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    return (text[:-1] + ',"events":[' + ",".join(doc for _, doc in docs) + "]}").encode()


def event(doc: str | None) -> dict[str, Any]:
    """One event's document, for the answers to comment, edit, hide, rename and status."""
    out: dict[str, Any] = json.loads(doc or "{}")
    return out


def notification(n: NotificationView) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "repo": {"name": n.repo, "type": n.repo_type},
        "discussion": n.discussion,
        "title": n.title,
        "event": n.event,
        "actor": n.actor,
        "createdAt": iso(n.created_at),
        "read": n.read,
        "detail": n.detail,
    }
