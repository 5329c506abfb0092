"""Notifications (mentions, comments on repos one owns or watches, PR status, access requests
to gated repos and the decisions on them), likes, watches.

A notification is only ever created for a user who may read the repo: mentioning a user in a
private repo they cannot see notifies nobody and tells them nothing. ``repos.likes`` is kept
equal to the number of likes in the same transaction, so search sorted by likes is exact.

>>> with store.read() as s:                                               # doctest: +SKIP
...     inbox(s, p)                           # unread notifications, newest first
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from workbench.errors import AuthenticationError, InvalidRequest, NotFound
from workbench.store import collab_models as c
from workbench.store import models as m
from workbench.store.access import (
    Principal,
    can_read,
    readable_clause,
    readable_repo,
    require_write_scope,
)
from workbench.store.accounts import principal_for
from workbench.store.store import Store, utcnow

MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9][A-Za-z0-9_.-]{0,95})")
MAX_MENTIONS = 50
MAX_PAGE = 500


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    repo_type: str
    repo: str
    discussion: int | None
    title: str | None
    event: str | None
    actor: str
    created_at: datetime
    read: bool
    detail: str | None = None  # a rejected access request's reason


def mentions(text: str) -> list[str]:
    """User names mentioned as ``@name`` (not in e-mail addresses), at most ``MAX_MENTIONS``."""
    seen: list[str] = []
    for name in MENTION.findall(text):
        name = name.rstrip(".-")
        if name and name not in seen:
            seen.append(name)
    return seen[:MAX_MENTIONS]


def _readers(s: Session, repo: m.Repo, users: list[m.Account]) -> list[m.Account]:
    return [u for u in users if u.kind == "user" and can_read(principal_for(s, u, None), repo)]


def _owners(s: Session, repo: m.Repo) -> list[m.Account]:
    owner = s.get(m.Account, repo.owner_id)
    if owner is None:
        return []
    if owner.kind == "user":
        return [owner]
    return list(
        s.scalars(
            select(m.Account)
            .join(m.Membership, m.Membership.user_id == m.Account.id)
            .where(m.Membership.org_id == owner.id, m.Membership.role == "admin")
        )
    )


def _watchers(s: Session, repo: m.Repo) -> list[m.Account]:
    return list(
        s.scalars(
            select(m.Account)
            .join(c.RepoWatch, c.RepoWatch.user_id == m.Account.id)
            .where(c.RepoWatch.repo_id == repo.id)
        )
    )


def _add(
    s: Session,
    users: dict[int, str],
    repo: m.Repo,
    d: c.Discussion,
    ev: c.DiscussionEvent | None,
    actor: Principal,
) -> None:
    now = utcnow()
    for user_id, kind in users.items():
        if user_id == actor.user_id:
            continue
        s.add(
            c.Notification(
                user_id=user_id,
                kind=kind,
                repo_id=repo.id,
                discussion_id=d.id,
                event_id=ev.id if ev is not None else None,
                actor=actor.name or "anonymous",
                created_at=now,
                read=False,
            )
        )


def notify_comment(
    s: Session,
    repo: m.Repo,
    d: c.Discussion,
    ev: c.DiscussionEvent | None,
    actor: Principal,
    text: str,
    *,
    kind: str = "comment",
) -> None:
    """Mentions first (kind ``mention``), then owners, watchers and the discussion's author
    (``kind``: ``comment``, or ``discussion`` for a new one)."""
    users: dict[int, str] = {}
    names = mentions(text)
    if names:
        found = list(s.scalars(select(m.Account).where(m.Account.name.in_(names))))
        for u in _readers(s, repo, found):
            users[u.id] = "mention"
    others = _owners(s, repo) + _watchers(s, repo)
    if d.author_id is not None:
        author = s.get(m.Account, d.author_id)
        if author is not None:
            others.append(author)
    for u in _readers(s, repo, others):
        users.setdefault(u.id, kind)
    _add(s, users, repo, d, ev, actor)


def notify_status(s: Session, repo: m.Repo, d: c.Discussion, ev: c.DiscussionEvent, actor: Principal) -> None:
    """A status change (closed, reopened, merged) notifies the discussion's author."""
    if d.author_id is None:
        return
    author = s.get(m.Account, d.author_id)
    if author is not None and _readers(s, repo, [author]):
        _add(s, {author.id: "status"}, repo, d, ev, actor)


def notify_review_request(
    s: Session, repo: m.Repo, d: c.Discussion, users: list[m.Account], actor: Principal
) -> list[str]:
    """Ask ``users`` (those who may read the repo) to review pull request ``d``: an inbox
    entry of kind ``review-request`` each; returns the names asked."""
    asked = _readers(s, repo, users)
    _add(s, {u.id: "review-request" for u in asked}, repo, d, None, actor)
    return [u.name for u in asked]


def notify_access(
    s: Session,
    repo: m.Repo,
    kind: str,
    actor: Principal,
    *,
    requester: m.Account | None = None,
    detail: str | None = None,
) -> None:
    """An access request to a gated repo (``requester`` None: to its owners, kind
    ``access-request``) or the decision on it (to the requester: ``access-accepted``,
    ``access-rejected``, ``access-pending``), with ``detail`` (a rejection's reason)."""
    users = _readers(s, repo, [requester] if requester is not None else _owners(s, repo))
    now = utcnow()
    for u in users:
        if u.id != actor.user_id:
            s.add(
                c.Notification(
                    user_id=u.id,
                    kind=kind,
                    repo_id=repo.id,
                    actor=actor.name or "anonymous",
                    created_at=now,
                    read=False,
                    detail=detail,
                )
            )


def inbox(
    s: Session, p: Principal, *, unread_only: bool = True, limit: int = 100
) -> tuple[list[NotificationView], int]:
    """The caller's notifications, newest first, and how many are unread."""
    _require_user(p)
    N, D, E, R = c.Notification, c.Discussion, c.DiscussionEvent, m.Repo  # noqa: N806 (table aliases)
    q = (
        select(
            N.id,
            N.kind,
            R.type,
            R.namespace,
            R.name,
            D.num,
            D.title,
            E.public_id,
            N.actor,
            N.created_at,
            N.read,
            N.detail,
        )
        .join(R, R.id == N.repo_id)
        .outerjoin(D, D.id == N.discussion_id)
        .outerjoin(E, E.id == N.event_id)
        .where(N.user_id == p.user_id, readable_clause(p))
    )
    if unread_only:
        q = q.where(N.read.is_(False))
    rows = s.execute(q.order_by(N.id.desc()).limit(max(1, min(limit, MAX_PAGE)))).all()
    unread = int(
        s.scalar(select(func.count()).select_from(N).where(N.user_id == p.user_id, N.read.is_(False))) or 0
    )
    return [
        NotificationView(
            id=r[0],
            kind=r[1],
            repo_type=r[2],
            repo=f"{r[3]}/{r[4]}",
            discussion=r[5],
            title=r[6],
            event=r[7],
            actor=r[8],
            created_at=r[9],
            read=bool(r[10]),
            detail=r[11],
        )
        for r in rows
    ], unread


def _require_user(p: Principal) -> None:
    if p.anonymous:
        raise AuthenticationError(
            "The inbox needs a token: pass `Authorization: Bearer <token>`.", code="TokenRequired"
        )


def mark_read(s: Session, p: Principal, ids: list[int] | None) -> int:
    """Mark the given notifications (all when ``ids`` is None) read; returns how many changed."""
    _require_user(p)
    q = update(c.Notification).where(c.Notification.user_id == p.user_id, c.Notification.read.is_(False))
    if ids is not None:
        if len(ids) > MAX_PAGE or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**62 for i in ids
        ):
            raise InvalidRequest(
                f"ids must be a list of at most {MAX_PAGE} notification ids (positive integers).",
                code="InvalidField",
            )
        q = q.where(c.Notification.id.in_(ids))
    return int(s.execute(q.values(read=True)).rowcount or 0)  # type: ignore[attr-defined]


# -- likes and watches ---------------------------------------------------------------------


def set_like(store: Store, s: Session, p: Principal, key: tuple[str, str, str], liked: bool) -> int:
    """Like or unlike (idempotent); returns the repo's like count."""
    repo = readable_repo(store, s, p, key)
    require_write_scope(p, repo)
    assert p.user_id is not None
    row = s.get(c.RepoLike, (p.user_id, repo.id))
    if liked and row is None:
        s.add(c.RepoLike(user_id=p.user_id, repo_id=repo.id, created_at=utcnow()))
        s.flush()
    elif not liked and row is not None:
        s.execute(delete(c.RepoLike).where(c.RepoLike.user_id == p.user_id, c.RepoLike.repo_id == repo.id))
    repo.likes = int(
        s.scalar(select(func.count()).select_from(c.RepoLike).where(c.RepoLike.repo_id == repo.id)) or 0
    )
    return repo.likes


def liked_repos(s: Session, p: Principal, user: str) -> list[tuple[m.Repo, datetime]]:
    """Repos ``user`` liked that the caller may read, newest like first."""
    account = s.scalar(select(m.Account).where(m.Account.name == user))
    if account is None:
        raise NotFound(f"User {user!r} not found.", code="UserNotFound")
    rows = s.execute(
        select(m.Repo, c.RepoLike.created_at)
        .join(c.RepoLike, c.RepoLike.repo_id == m.Repo.id)
        .where(c.RepoLike.user_id == account.id, readable_clause(p))
        .order_by(c.RepoLike.created_at.desc())
    ).all()
    return [(r[0], r[1]) for r in rows]


def likers(store: Store, s: Session, p: Principal, key: tuple[str, str, str]) -> list[m.Account]:
    repo = readable_repo(store, s, p, key)
    return list(
        s.scalars(
            select(m.Account)
            .join(c.RepoLike, c.RepoLike.user_id == m.Account.id)
            .where(c.RepoLike.repo_id == repo.id)
            .order_by(c.RepoLike.created_at)
        )
    )


def interest(store: Store, s: Session, p: Principal, key: tuple[str, str, str]) -> dict[str, object]:
    """Whether the caller likes and watches a repo they may read, and its like count (what a
    repo page's Like and Watch buttons show); anonymous callers do neither."""
    repo = readable_repo(store, s, p, key)
    mine = p.user_id is not None
    return {
        "liked": mine and s.get(c.RepoLike, (p.user_id, repo.id)) is not None,
        "watching": mine and s.get(c.RepoWatch, (p.user_id, repo.id)) is not None,
        "likes": repo.likes,
    }


def set_watch(store: Store, s: Session, p: Principal, key: tuple[str, str, str], watching: bool) -> bool:
    repo = readable_repo(store, s, p, key)
    require_write_scope(p, repo)
    assert p.user_id is not None
    row = s.get(c.RepoWatch, (p.user_id, repo.id))
    if watching and row is None:
        s.add(c.RepoWatch(user_id=p.user_id, repo_id=repo.id, created_at=utcnow()))
    elif not watching and row is not None:
        s.delete(row)
    return watching
