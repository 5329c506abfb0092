"""Reviews of pull requests: review comments anchored to the diff, threads, and reviews.

A review comment points at a line of a changed file (``path``, ``side`` ``old`` or ``new``,
``line``: a line of a hunk of the PR's text diff on that side) or at a cell of a changed
notebook (``path``, ``side``, ``cell``: the cell's index on that side, which nbdime's diff
lists, ``part`` ``source`` or ``output``). Anything else is refused with 400
``AnchorNotInDiff`` naming it. A comment starts a thread; replies (``inReplyTo``) join it;
a thread is resolved or reopened by the PR's author, the thread's author or a writer.

A review has a state (``comment``, ``approve``, ``request_changes``), a summary and the PR
head it reviewed; it may carry anchored comments, and it appears in the discussion's thread
as a comment (so the inbox, webhooks and the HF clients see it); webhooks also get a
``discussion.review`` event for it and a ``discussion.review.comment`` one for each review
comment posted alone and each thread resolved or reopened. The author of a PR cannot
approve it or request changes on it (403 ``OwnApproval``). Whether the approvals suffice to
merge is ``approvals``' rule.

>>> create_review(store, s, p, key, 3, state="approve", summary="",        # doctest: +SKIP
...               comments=[], max_chars=65536)["state"]
'approve'
"""

from __future__ import annotations

import difflib
import functools
import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from workbench.markdown import render_markdown
from workbench.names import validate_path
from workbench.store import collab_models as c
from workbench.store import discussions as disc
from workbench.store import models as m
from workbench.store import review_models as r
from workbench.store import webhook_events
from workbench.store.access import Principal, RepoKeyTuple, is_writer, readable_repo
from workbench.store.approvals import STATES, approval_status
from workbench.store.commits import commit_tree, diff_trees
from workbench.store.inbox import notify_comment, notify_review_request
from workbench.store.notebook_diff import MAX_NOTEBOOK_DIFF_BYTES, notebook_diff, parsed
from workbench.store.pr_refs import pr_head
from workbench.store.pulls import text_of
from workbench.store.store import Store, utcnow
from workbench.store.trees import Tree, TreeEntry

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
LABELS = {"comment": "commented", "approve": "approved", "request_changes": "requested changes"}
MAX_REVIEWERS = 20


def _pull_request(
    store: Store, s: Session, p: Principal, key: RepoKeyTuple, num: int
) -> tuple[m.Repo, c.Discussion]:
    repo = readable_repo(store, s, p, key)
    d = disc.get_discussion(s, repo, num)
    if not d.is_pull_request:
        raise InvalidRequest(f"#{num} is a discussion, not a pull request.", code="NotAPullRequest")
    return repo, d


def _require_open(d: c.Discussion) -> None:
    if d.status not in ("open", "draft"):
        code = "PullRequestMerged" if d.status == "merged" else "PullRequestClosed"
        raise Conflict(f"Pull request #{d.num} is {d.status}: it takes no new reviews.", code=code)


# -- anchors ---------------------------------------------------------------------------------


def _hunk_lines(old: str, new: str, side: str) -> set[int]:
    """The line numbers (from 1) the text diff shows on ``side``: its hunks with context."""
    lines: set[int] = set()
    for row in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm=""):
        match = HUNK.match(row)
        if match:
            start, count = (
                (match.group(1), match.group(2)) if side == "old" else (match.group(3), match.group(4))
            )
            first, n = int(start), int(count) if count is not None else 1
            lines.update(range(first, first + n))
    return lines


def _not_in_diff(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="AnchorNotInDiff")


def check_anchor(store: Store, base: Tree, head: Tree, anchor: object) -> dict[str, Any]:
    """``anchor`` as stored (``path``, ``side``, and ``line`` or ``cell`` and ``part``), once
    checked against the diff from ``base`` to ``head``."""
    if not isinstance(anchor, dict) or not isinstance(anchor.get("path"), str):
        raise InvalidRequest("A review comment needs an anchor with a path.", code="InvalidAnchor")
    path = validate_path(anchor["path"])
    side = anchor.get("side", "new")
    if side not in ("old", "new"):
        raise InvalidRequest("anchor.side must be 'old' or 'new'.", code="InvalidAnchor")
    line, cell, part = anchor.get("line"), anchor.get("cell"), anchor.get("part")
    for name, value in (("line", line), ("cell", cell)):
        if value is not None and (type(value) is not int or value < 0):
            raise InvalidRequest(f"anchor.{name} must be a number.", code="InvalidAnchor")
    if (line is None) == (cell is None):
        raise InvalidRequest("An anchor names a line or a notebook cell (one of them).", code="InvalidAnchor")
    change: TreeEntry | None = None
    entries: tuple[TreeEntry | None, TreeEntry | None] | None = None
    for ch in diff_trees(base, head):
        if ch.path == path:
            entries, change = (ch.old, ch.new), ch.old or ch.new
    if entries is None or change is None:
        raise _not_in_diff(f"{path} is not changed by this pull request.")
    entry = entries[0] if side == "old" else entries[1]
    if entry is None:
        raise _not_in_diff(f"{path} has no {side} side in this pull request (it was added or deleted).")
    out: dict[str, Any] = {"path": path, "side": side, "line": None, "cell": None, "part": None}
    if line is not None:
        texts = [text_of(store, e) for e in entries]
        if texts[0] is None or texts[1] is None:
            raise _not_in_diff(f"{path} is not a text file: its diff has no lines.")
        if line not in _hunk_lines(texts[0], texts[1], side):
            raise _not_in_diff(f"Line {line} ({side}) of {path} is not in the diff.")
        out["line"] = line
        return out
    if part not in ("source", "output"):
        raise InvalidRequest("anchor.part must be 'source' or 'output'.", code="InvalidAnchor")
    if not path.endswith(".ipynb") or any(
        e is not None and e.size > MAX_NOTEBOOK_DIFF_BYTES for e in entries
    ):
        raise _not_in_diff(f"{path} has no notebook diff: cells cannot be named.")
    try:
        sides = [
            parsed(path, e.sha256, functools.partial(store.blobs.read, e.sha256)) if e is not None else None
            for e in entries
        ]
        cells = notebook_diff(path, sides[0], sides[1])["cells"]
    except InvalidRequest:
        raise _not_in_diff(f"{path} is not a valid notebook on both sides: cells cannot be named.") from None
    index = "oldIndex" if side == "old" else "newIndex"
    found = next((doc for doc in cells if doc[index] == cell), None)
    if found is None:
        raise _not_in_diff(f"Cell {cell} ({side}) of {path} is not in the diff.")
    if part == "output" and not (found.get("outputs") or {}).get(side):
        raise _not_in_diff(f"Cell {cell} ({side}) of {path} has no outputs in the diff.")
    out["cell"], out["part"] = cell, part
    return out


def _trees(store: Store, s: Session, repo: m.Repo, d: c.Discussion) -> tuple[Tree, Tree, str]:
    head = pr_head(s, repo, d)
    return commit_tree(store, s, d.base_oid or head), commit_tree(store, s, head), head


# -- comments and threads -----------------------------------------------------------------------


def _comment(
    p: Principal, d: c.Discussion, text: str, *, thread: r.ReviewComment | None = None, **anchor: Any
) -> r.ReviewComment:
    return r.ReviewComment(
        public_id=secrets.token_hex(12),
        discussion_id=d.id,
        thread_id=thread.id if thread is not None else None,
        author_id=p.user_id,
        author=p.name or "anonymous",
        content=text,
        html=render_markdown(text),
        resolved=False,
        created_at=utcnow(),
        **anchor,
    )


def _find_comment(s: Session, d: c.Discussion, public_id: object) -> r.ReviewComment:
    row = None
    if isinstance(public_id, str):
        row = s.scalar(
            select(r.ReviewComment).where(
                r.ReviewComment.discussion_id == d.id, r.ReviewComment.public_id == public_id
            )
        )
    if row is None:
        raise NotFound(f"Review comment {public_id!r} not found on #{d.num}.", code="CommentNotFound")
    return row


def add_review_comment(
    store: Store,
    s: Session,
    p: Principal,
    key: RepoKeyTuple,
    num: int,
    data: dict[str, Any],
    *,
    max_chars: int,
) -> dict[str, Any]:
    """A new thread anchored to the diff (``anchor``), or a reply (``inReplyTo``)."""
    repo, d = _pull_request(store, s, p, key, num)
    disc.require_comment(s, p, repo, d)
    text = disc.check_text(data.get("body"), max_chars)
    if data.get("inReplyTo") is not None:
        root = _find_comment(s, d, data["inReplyTo"])
        if root.thread_id is not None:
            root = s.get(r.ReviewComment, root.thread_id) or root
        row = _comment(p, d, text, thread=root)
    else:
        _require_open(d)
        base, head, oid = _trees(store, s, repo, d)
        row = root = _comment(
            p, d, text, commit_oid=oid, **check_anchor(store, base, head, data.get("anchor"))
        )
    s.add(row)
    s.flush()
    notify_comment(s, repo, d, None, p, text, kind="review-comment")
    webhook_events.review_comment_changed(s, repo, d, row, root, "create")
    return comment_doc(row)


def comment_doc(row: r.ReviewComment) -> dict[str, Any]:
    return {
        "id": row.public_id,
        "author": row.author,
        "body": row.content,
        "html": row.html,
        "createdAt": row.created_at.isoformat() + "Z",
    }


def resolve_thread(
    store: Store, s: Session, p: Principal, key: RepoKeyTuple, num: int, comment_id: str, resolved: bool
) -> dict[str, Any]:
    """Resolve (or reopen) the thread ``comment_id`` is in."""
    repo, d = _pull_request(store, s, p, key, num)
    disc.require_comment(s, p, repo, d)
    root = _find_comment(s, d, comment_id)
    if root.thread_id is not None:
        root = s.get(r.ReviewComment, root.thread_id) or root
    mine = p.user_id is not None and p.user_id in (d.author_id, root.author_id)
    if not mine and not is_writer(s, p, repo):
        raise PermissionDenied(
            "Only the pull request's author, the thread's author or a writer may resolve a thread.",
            code="NotAuthor",
        )
    if root.resolved != resolved:
        root.resolved, root.resolved_by = resolved, (p.name if resolved else None)
        webhook_events.review_comment_changed(s, repo, d, root, root, "update")
    return threads(store, s, p, key, num, only=root.id)[0]


def threads(
    store: Store, s: Session, p: Principal, key: RepoKeyTuple, num: int, *, only: int | None = None
) -> list[dict[str, Any]]:
    """The PR's review threads, oldest first, each with its anchor and comments."""
    _repo, d = _pull_request(store, s, p, key, num)
    q = select(r.ReviewComment).where(r.ReviewComment.discussion_id == d.id).order_by(r.ReviewComment.id)
    rows = list(s.scalars(q))
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row.thread_id is None:
            out[row.id] = {
                "id": row.public_id,
                "anchor": row.anchor(),
                "resolved": row.resolved,
                "resolvedBy": row.resolved_by,
                "comments": [],
            }
        thread = out.get(row.thread_id or row.id)
        if thread is not None:
            thread["comments"].append(comment_doc(row))
    return [t for i, t in out.items() if only is None or i == only]


# -- reviews ----------------------------------------------------------------------------------


def create_review(
    store: Store,
    s: Session,
    p: Principal,
    key: RepoKeyTuple,
    num: int,
    *,
    state: object,
    summary: object,
    comments: object,
    max_chars: int,
) -> dict[str, Any]:
    """Submit a review (see the module docstring); its comments are checked before any is kept."""
    repo, d = _pull_request(store, s, p, key, num)
    disc.require_comment(s, p, repo, d)
    _require_open(d)
    if state not in STATES:
        raise InvalidRequest("state must be 'comment', 'approve' or 'request_changes'.", code="InvalidField")
    if state != "comment" and p.user_id is not None and p.user_id == d.author_id:
        raise PermissionDenied(
            f"You opened pull request #{num}: you cannot approve it or request changes on it; "
            "ask another writer of the repo to review it.",
            code="OwnApproval",
        )
    text = summary.strip() if isinstance(summary, str) else ""
    if text or state != "approve":
        text = disc.check_text(text, max_chars, "review summary")
    if comments is None:
        comments = []
    if not isinstance(comments, list):
        raise InvalidRequest("comments must be a list.", code="InvalidField")
    base, head, oid = _trees(store, s, repo, d)
    rows = []
    for item in comments:
        if not isinstance(item, dict):
            raise InvalidRequest(
                "Each review comment is an object with anchor and body.", code="InvalidField"
            )
        body = disc.check_text(item.get("body"), max_chars)
        rows.append(
            _comment(p, d, body, commit_oid=oid, **check_anchor(store, base, head, item.get("anchor")))
        )
    heading = f"**Review: {LABELS[state]}**"
    ev = disc.post_comment(
        store, s, p, repo, d, f"{heading}\n\n{text}" if text else heading, None, kind="review"
    )
    webhook_events.comment_changed(s, repo, d, ev, "create")
    review = r.Review(
        public_id=secrets.token_hex(12),
        discussion_id=d.id,
        author_id=p.user_id,
        author=p.name or "anonymous",
        state=state,
        summary=text,
        commit_oid=oid,
        event_id=ev.id,
        created_at=utcnow(),
    )
    s.add(review)
    s.flush()
    for row in rows:
        row.review_id = review.id
        s.add(row)
    s.flush()
    webhook_events.review_submitted(s, repo, d, review, ev, rows)
    return review_doc(review, ev.public_id, oid)


def review_doc(review: r.Review, comment_id: str | None, head: str) -> dict[str, Any]:
    """A review; ``stale``: the pull request's head (``head``) moved since (a stale approval
    no longer counts, ``approvals``)."""
    return {
        "id": review.public_id,
        "author": review.author,
        "state": review.state,
        "summary": review.summary,
        "commit": review.commit_oid,
        "stale": review.commit_oid != head,
        "commentId": comment_id,
        "createdAt": review.created_at.isoformat() + "Z",
    }


def reviews(store: Store, s: Session, p: Principal, key: RepoKeyTuple, num: int) -> dict[str, Any]:
    """The PR's reviews, oldest first, and where its approvals stand."""
    repo, d = _pull_request(store, s, p, key, num)
    rows = s.execute(
        select(r.Review, c.DiscussionEvent.public_id)
        .outerjoin(c.DiscussionEvent, c.DiscussionEvent.id == r.Review.event_id)
        .where(r.Review.discussion_id == d.id)
        .order_by(r.Review.id)
    ).all()
    head = pr_head(s, repo, d)
    return {
        "reviews": [review_doc(review, public_id, head) for review, public_id in rows],
        "approvals": approval_status(s, repo, d).doc(),
    }


def request_reviews(
    store: Store, s: Session, p: Principal, key: RepoKeyTuple, num: int, reviewers: object
) -> list[str]:
    """Ask users for a review (the PR's author or a writer may): inbox entries."""
    repo, d = _pull_request(store, s, p, key, num)
    disc.require_comment(s, p, repo, d)
    if (p.user_id is None or p.user_id != d.author_id) and not is_writer(s, p, repo):
        raise PermissionDenied(
            "Only the pull request's author or a writer may ask for reviews.", code="NotAuthor"
        )
    names = reviewers if isinstance(reviewers, list) else None
    if not names or len(names) > MAX_REVIEWERS or not all(isinstance(n, str) for n in names):
        raise InvalidRequest(
            f"reviewers must be a list of 1 to {MAX_REVIEWERS} user names.", code="InvalidField"
        )
    users = list(s.scalars(select(m.Account).where(m.Account.name.in_(names), m.Account.kind == "user")))
    missing = sorted(set(names) - {u.name for u in users})
    if missing:
        raise NotFound(f"No user named {', '.join(missing)}.", code="UserNotFound")
    return notify_review_request(s, repo, d, users, p)
