"""Discussions and pull requests: create, list, read, comment, edit, hide, rename, open/close.

A discussion is numbered per repo; its events (comments, status and title changes) are rows,
and a pull request is a discussion with a ``refs/pr/N`` ref (see ``workbench.store.pulls``).
Comment bodies are stored as raw markdown; the HTML beside them is rendered and sanitized
once, when written (``markdown_html``). Who may do what:

* read (list, details): whoever may read the repo; private repos stay 404 to the others;
* comment, open discussions and pull requests: a write-scope token and read access, unless
  the namespace's comment policy is ``writers`` (then the write role); nobody in a locked one;
* edit a comment: its author only; hide a comment, rename, open/close: the author of the
  comment/discussion or a writer of the repo.

>>> with store.write() as s:                                                 # doctest: +SKIP
...     d, ev = create_discussion(store, s, p, key, title="Why?", description="...")
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge, PermissionDenied
from workbench.markdown import render_markdown
from workbench.store import collab_models as c
from workbench.store import models as m
from workbench.store import webhook_events
from workbench.store.access import Principal, RepoKeyTuple, is_writer, readable_repo, require_write_scope
from workbench.store.anchors import Anchor, save_anchor
from workbench.store.audit import record_event
from workbench.store.event_docs import refresh_doc
from workbench.store.inbox import notify_comment, notify_status
from workbench.store.pr_refs import has_commits, start_pull_request
from workbench.store.store import Store, utcnow

MAX_TITLE_CHARS = 200
POLICIES = ("readers", "writers")


# -- lookups and permissions ---------------------------------------------------------------


def get_discussion(s: Session, repo: m.Repo, num: int, *, lock: bool = False) -> c.Discussion:
    q = select(c.Discussion).where(c.Discussion.repo_id == repo.id, c.Discussion.num == num)
    d = s.scalar(q.with_for_update() if lock else q) if 0 < num < 2**31 else None
    if d is None:
        raise NotFound(
            f"Discussion #{num} not found in {repo.namespace}/{repo.name}: list them with "
            "get_repo_discussions.",
            code="DiscussionNotFound",
        )
    return d


def comment_policy(s: Session, account_id: int) -> str:
    row = s.get(c.CommentPolicy, account_id)
    return row.policy if row is not None else "readers"


def set_comment_policy(s: Session, p: Principal, namespace: m.Account, policy: str) -> None:
    """Who may comment on ``namespace``'s repos: ``readers`` (default) or ``writers``."""
    require_write_scope(p, namespace.name)
    if policy not in POLICIES:
        raise InvalidRequest(
            f"Invalid comment policy {policy!r}: use 'readers' or 'writers'.", code="InvalidPolicy"
        )
    allowed = p.is_admin or namespace.id == p.user_id or p.orgs.get(namespace.id) == "admin"
    if not allowed:
        raise PermissionDenied(
            f"Only admins of {namespace.name!r} may change its comment policy.", code="AdminRequired"
        )
    row = s.get(c.CommentPolicy, namespace.id)
    if row is None:
        s.add(c.CommentPolicy(account_id=namespace.id, policy=policy))
    else:
        row.policy = policy


def require_comment(s: Session, p: Principal, repo: m.Repo, d: c.Discussion | None = None) -> None:
    require_write_scope(p, repo)
    if d is not None and d.locked:
        raise PermissionDenied(
            f"Discussion #{d.num} is locked: it takes no new comments.", code="DiscussionLocked"
        )
    if comment_policy(s, repo.owner_id) == "writers" and not is_writer(s, p, repo):
        raise PermissionDenied(
            f"Only members with the write role may comment on {repo.namespace}'s "
            "repos (its comment policy is 'writers').",
            code="CommentForbidden",
        )


def _require_author_or_writer(
    s: Session, p: Principal, repo: m.Repo, author_id: int | None, what: str
) -> None:
    require_write_scope(p, repo)
    if (author_id is None or author_id != p.user_id) and not is_writer(s, p, repo):
        raise PermissionDenied(
            f"Only the author or a writer of {repo.namespace}/{repo.name} may {what}.", code="NotAuthor"
        )


def check_text(text: object, max_chars: int, what: str = "comment") -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest(f"The {what} is empty: send some text.", code="EmptyComment")
    if len(text) > max_chars:
        raise PayloadTooLarge(
            f"The {what} has {len(text)} characters; the limit is {max_chars}. "
            "Shorten it or split it into several comments.",
            code="CommentTooLong",
        )
    return text


def check_title(title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidRequest("The title is empty: give the discussion a title.", code="EmptyTitle")
    title = title.strip()
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidRequest(
            f"The title has {len(title)} characters; the limit is {MAX_TITLE_CHARS}.", code="TitleTooLong"
        )
    return title


# -- writing events ------------------------------------------------------------------------


def new_event(
    s: Session,
    d: c.Discussion,
    p: Principal,
    kind: str,
    *,
    content: str | None = None,
    data: dict | None = None,
) -> c.DiscussionEvent:
    now = utcnow()
    ev = c.DiscussionEvent(
        discussion_id=d.id,
        public_id=secrets.token_hex(12),
        kind=kind,
        author=p.name or "anonymous",
        author_id=p.user_id,
        created_at=now,
        content=content,
        html=render_markdown(content) if content is not None else None,
        data=data,
        edited=False,
        hidden=False,
    )
    s.add(ev)
    d.updated_at = now
    s.flush()
    if kind != "comment":  # comments get theirs once their anchor is saved
        refresh_doc(s, ev)
    return ev


def post_comment(
    store: Store,
    s: Session,
    p: Principal,
    repo: m.Repo,
    d: c.Discussion,
    text: str,
    anchor: Anchor | None,
    *,
    kind: str = "comment",
) -> c.DiscussionEvent:
    ev = new_event(s, d, p, "comment", content=text)
    if anchor is not None and not anchor.empty:
        save_anchor(store, s, repo, ev, anchor, default_branch=d.target_branch or "main")
    refresh_doc(s, ev)
    notify_comment(s, repo, d, ev, p, text, kind=kind)
    if kind == "comment":  # an opening comment goes with the discussion's own event
        webhook_events.comment_changed(s, repo, d, ev, "create")
    return ev


def _next_num(s: Session, repo: m.Repo) -> int:
    # Lock the repo row so concurrent openers (PostgreSQL) queue instead of taking one number.
    s.scalar(select(m.Repo.id).where(m.Repo.id == repo.id).with_for_update())
    return (
        int(
            s.scalar(
                select(func.coalesce(func.max(c.Discussion.num), 0)).where(c.Discussion.repo_id == repo.id)
            )
            or 0
        )
        + 1
    )


def create_discussion(
    store: Store,
    s: Session,
    p: Principal,
    key: RepoKeyTuple,
    *,
    title: object,
    description: object,
    max_chars: int,
    pull_request: bool = False,
    target: str = "main",
    anchor: Anchor | None = None,
) -> tuple[c.Discussion, c.DiscussionEvent | None]:
    """Open a discussion (or a draft pull request on ``target``) with ``description`` first."""
    repo = readable_repo(store, s, p, key)
    require_comment(s, p, repo)
    title = check_title(title)
    text = description.strip() if isinstance(description, str) else ""
    if text or anchor is not None:
        check_text(text, max_chars)
    now = utcnow()
    d = c.Discussion(
        repo_id=repo.id,
        num=_next_num(s, repo),
        title=title,
        status="draft" if pull_request else "open",
        is_pull_request=pull_request,
        author_id=p.user_id,
        author=p.name or "anonymous",
        locked=False,
        pinned=False,
        created_at=now,
        updated_at=now,
    )
    s.add(d)
    s.flush()
    if pull_request:
        start_pull_request(s, repo, d, target)
    ev = post_comment(store, s, p, repo, d, text, anchor, kind="discussion") if text else None
    if ev is None:
        notify_comment(s, repo, d, None, p, title, kind="discussion")
    webhook_events.discussion_changed(s, repo, d, "create", comment=ev)
    return d, ev


def add_comment(
    store: Store,
    s: Session,
    p: Principal,
    key: RepoKeyTuple,
    num: int,
    text: object,
    *,
    max_chars: int,
    anchor: Anchor | None = None,
) -> tuple[c.Discussion, c.DiscussionEvent]:
    repo = readable_repo(store, s, p, key)
    d = get_discussion(s, repo, num)
    require_comment(s, p, repo, d)
    return d, post_comment(store, s, p, repo, d, check_text(text, max_chars), anchor)


def _get_comment(s: Session, d: c.Discussion, comment_id: str) -> c.DiscussionEvent:
    ev = s.scalar(
        select(c.DiscussionEvent).where(
            c.DiscussionEvent.discussion_id == d.id, c.DiscussionEvent.public_id == comment_id.lower()
        )
    )
    if ev is None or ev.kind != "comment":
        raise NotFound(f"Comment {comment_id!r} not found in discussion #{d.num}.", code="CommentNotFound")
    return ev


def edit_comment(
    store: Store,
    s: Session,
    p: Principal,
    key: RepoKeyTuple,
    num: int,
    comment_id: str,
    text: object,
    *,
    max_chars: int,
) -> c.DiscussionEvent:
    repo = readable_repo(store, s, p, key)
    d = get_discussion(s, repo, num)
    ev = _get_comment(s, d, comment_id)
    require_write_scope(p, repo)
    if ev.author_id is None or ev.author_id != p.user_id:
        raise PermissionDenied("Only its author may edit a comment.", code="NotCommentAuthor")
    if ev.hidden:
        raise Conflict("This comment is hidden and can no longer be edited.", code="CommentHidden")
    text = check_text(text, max_chars)
    now = utcnow()
    history = list(ev.history or [])
    history.append(
        {"raw": ev.content, "updatedAt": (ev.updated_at or ev.created_at).isoformat(), "author": ev.author}
    )
    ev.history, ev.content, ev.edited, ev.updated_at = history, text, True, now
    ev.html = render_markdown(text)
    d.updated_at = now  # also what invalidates cached details
    refresh_doc(s, ev)
    webhook_events.comment_changed(s, repo, d, ev, "update")
    return ev


def hide_comment(
    store: Store, s: Session, p: Principal, key: RepoKeyTuple, num: int, comment_id: str
) -> c.DiscussionEvent:
    repo = readable_repo(store, s, p, key)
    d = get_discussion(s, repo, num)
    ev = _get_comment(s, d, comment_id)
    _require_author_or_writer(s, p, repo, ev.author_id, "hide a comment")
    ev.hidden, ev.updated_at = True, utcnow()
    d.updated_at = ev.updated_at  # also what invalidates cached details
    refresh_doc(s, ev)
    webhook_events.comment_changed(s, repo, d, ev, "update")
    return ev


def rename_discussion(
    store: Store, s: Session, p: Principal, key: RepoKeyTuple, num: int, title: object
) -> c.DiscussionEvent:
    repo = readable_repo(store, s, p, key)
    d = get_discussion(s, repo, num)
    _require_author_or_writer(s, p, repo, d.author_id, "rename this discussion")
    title = check_title(title)
    old, d.title = d.title, title
    webhook_events.discussion_changed(s, repo, d, "update")
    return new_event(s, d, p, "title-change", data={"from": old, "to": title})


def change_status(
    store: Store,
    s: Session,
    p: Principal,
    key: RepoKeyTuple,
    num: int,
    status: object,
    *,
    comment: object = None,
    max_chars: int,
) -> c.DiscussionEvent:
    """Open or close; a comment, when given, comes first. Merged pull requests stay merged."""
    repo = readable_repo(store, s, p, key)
    d = get_discussion(s, repo, num, lock=True)
    _require_author_or_writer(s, p, repo, d.author_id, "open or close this discussion")
    if status not in ("open", "closed"):
        raise InvalidRequest(f"Invalid status {status!r}: use 'open' or 'closed'.", code="InvalidStatus")
    if d.status == "merged":
        raise Conflict(
            f"Pull request #{num} is merged; its status can no longer change.", code="PullRequestMerged"
        )
    # Asking again for the status it has is no error, as on the public hub (a client cannot
    # tell whether a commit already opened a draft pull request): the event says so, and
    # nobody is notified of a change that did not happen.
    unchanged = ("closed" if d.status == "closed" else "open") == status
    if comment is not None and (not isinstance(comment, str) or comment.strip()):
        post_comment(store, s, p, repo, d, check_text(comment, max_chars), None)
    if not unchanged:
        reopened_draft = status == "open" and d.is_pull_request and not has_commits(s, repo, d)
        d.status = "draft" if reopened_draft else str(status)
    ev = new_event(s, d, p, "status-change", data={"status": status})
    if not unchanged:
        notify_status(s, repo, d, ev, p)
    webhook_events.discussion_changed(s, repo, d, "update")
    record_event(s, actor=p, action="discussion.status", repo=repo, details={"num": num, "status": status})
    return ev


def set_locked(
    store: Store, s: Session, p: Principal, key: RepoKeyTuple, num: int, locked: bool
) -> c.Discussion:
    repo = readable_repo(store, s, p, key)
    d = get_discussion(s, repo, num)
    require_write_scope(p, repo)
    if not is_writer(s, p, repo):
        raise PermissionDenied(
            f"Only writers of {repo.namespace}/{repo.name} may lock discussions.", code="WriteForbidden"
        )
    d.locked, d.updated_at = locked, utcnow()
    return d


# -- reading -------------------------------------------------------------------------------

STATUS_FILTERS = {
    "all": None,
    "open": ("open", "draft"),
    "closed": ("closed", "merged"),
    "merged": ("merged",),
    "draft": ("draft",),
}
TYPE_FILTERS = {"all": None, "discussion": False, "pull_request": True}


def list_discussions(
    store: Store,
    s: Session,
    p: Principal,
    key: RepoKeyTuple,
    *,
    page: int = 0,
    page_size: int = 50,
    kind: str = "all",
    status: str = "all",
    author: str | None = None,
) -> tuple[m.Repo, list[c.Discussion], int, int]:
    """One page of a repo's discussions, newest first: (repo, rows, total count, start)."""
    if kind not in TYPE_FILTERS:
        raise InvalidRequest(
            f"Invalid type {kind!r}: use all, discussion or pull_request.", code="InvalidParameter"
        )
    if status not in STATUS_FILTERS:
        raise InvalidRequest(
            f"Invalid status {status!r}: use all, open, closed, merged or draft.", code="InvalidParameter"
        )
    if page < 0:
        raise InvalidRequest("Page numbers start at 0.", code="InvalidParameter")
    repo = readable_repo(store, s, p, key)
    cond = [c.Discussion.repo_id == repo.id]
    if TYPE_FILTERS[kind] is not None:
        cond.append(c.Discussion.is_pull_request.is_(TYPE_FILTERS[kind]))
    statuses = STATUS_FILTERS[status]
    if statuses is not None:
        cond.append(c.Discussion.status.in_(statuses))
    if author:
        cond.append(c.Discussion.author == author)
    count = int(s.scalar(select(func.count()).select_from(c.Discussion).where(*cond)) or 0)
    start = page * page_size
    rows = list(
        s.scalars(
            select(c.Discussion).where(*cond).order_by(c.Discussion.num.desc()).offset(start).limit(page_size)
        )
    )
    return repo, rows, count, start
