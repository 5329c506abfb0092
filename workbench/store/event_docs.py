"""Each discussion event's JSON document, as the HF clients read it (docs/hf-protocol.md), kept on its row.

The document is written with the event and rewritten when the event changes (edit, hide),
so reading a thread is one query that returns ready JSON strings: a 2,000-comment thread
costs a fetch and a join, not 2,000 dictionaries to build and encode on every read.
Comment ``latest.raw`` is the stored markdown, untouched (the clients read it);
``latest.html`` the sanitized rendering made when the comment was written.

>>> refresh_doc(s, event)                       # after writing or changing an event  # doctest: +SKIP
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.store import collab_models as c

HIDDEN_TEXT = "This comment has been hidden"


def iso(dt: datetime) -> str:
    """ISO-8601 UTC with a trailing Z (the clients reject '+00:00')."""
    return dt.isoformat(timespec="milliseconds") + "Z"


def user(name: str | None) -> dict[str, Any]:
    return {"name": name or "deleted", "type": "user"}


def document(ev: c.DiscussionEvent, anchor: c.CommentAnchor | None) -> dict[str, Any]:
    created = iso(ev.created_at)
    author = user(ev.author)
    out: dict[str, Any] = {"id": ev.public_id, "type": ev.kind, "createdAt": created, "author": author}
    data = ev.data or {}
    if ev.kind == "comment":
        history = [] if ev.hidden else list(ev.history or [])
        out["data"] = {
            "edited": ev.edited,
            "hidden": ev.hidden,
            "numEdits": len(history),
            "latest": {
                "raw": HIDDEN_TEXT if ev.hidden else (ev.content or ""),
                "html": "" if ev.hidden else (ev.html or ""),
                "updatedAt": iso(ev.updated_at) if ev.updated_at else created,
                "author": author,
            },
            "history": [
                {"raw": h.get("raw"), "updatedAt": h.get("updatedAt"), "author": user(h.get("author"))}
                for h in history
            ],
        }
        if anchor is not None:
            out["anchor"] = {
                "path": anchor.path,
                "cell": anchor.cell,
                "commit": anchor.commit,
                "run": anchor.run,
            }
    elif ev.kind == "status-change":
        out["data"] = {"status": data.get("status")}
        if data.get("oid"):
            out["data"]["oid"] = data["oid"]
    elif ev.kind == "title-change":
        out["data"] = {"from": data.get("from"), "to": data.get("to")}
    return out


def refresh_doc(s: Session, ev: c.DiscussionEvent) -> dict[str, Any]:
    """(Re)write the event's document; returns it."""
    s.flush()
    doc = document(ev, s.get(c.CommentAnchor, ev.id))
    ev.doc = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return doc


def thread_docs(s: Session, discussion_id: int) -> list[tuple[datetime, str]]:
    """(created_at, JSON document) of a discussion's events, oldest first (one query)."""
    e = c.DiscussionEvent
    return [
        (r[0], r[1] or "{}")
        for r in s.execute(select(e.created_at, e.doc).where(e.discussion_id == discussion_id).order_by(e.id))
    ]


def commit_doc(oid: str, title: str, author: str, when: datetime) -> str:
    """A PR commit as an event (commits live in the repo, not in the events table)."""
    return json.dumps(
        {
            "id": oid[:24],
            "type": "commit",
            "createdAt": iso(when),
            "author": user(author),
            "data": {"subject": title, "oid": oid},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
