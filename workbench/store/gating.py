"""Gated repos: who may download a gated repo's files, and the access requests that decide it.

A repo is gated when its ``gated`` setting is ``auto`` or ``manual``. It stays visible to
whoever may read it (repo info, the file list, discussions); its files (``/resolve``, Xet
read tokens, the dataset viewer's rows) answer ``GatedRepo`` until the caller's access
request is accepted. Hub admins, the repo's owner and members of its organization (any role)
are never gated out. A private gated repo is still a 404 to those who may not read it.

A user asks once per repo, answering the card's ``extra_gated_fields``
(:mod:`workbench.store.gating_form`); ``auto`` accepts at once, ``manual`` leaves the request
pending for the repo's writers, who accept, reject (with a reason), cancel (back to pending)
or grant access to a user who never asked. Each decision notifies the requester and is
written to the audit log.

>>> with store.write() as s:                                               # doctest: +SKIP
...     request_access(store, s, bob, key, {"company": "ACME"}).status       # 'pending'
...     decide(store, s, alice, key, status="accepted", user="bob")
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import GatedRepo, InvalidRequest, NotFound, PermissionDenied
from workbench.store import gating_models as g
from workbench.store import models as m
from workbench.store.access import (
    Principal,
    RepoKeyTuple,
    readable_repo,
    require_write,
    require_write_scope,
)
from workbench.store.accounts import principal_for
from workbench.store.audit import record_event
from workbench.store.gating_form import check_answers, gate_form
from workbench.store.inbox import notify_access
from workbench.store.orgs import get_user
from workbench.store.store import Store, utcnow

STATUSES = ("pending", "accepted", "rejected")
MAX_REASON_CHARS = 200  # as on the public hub
_ACTIONS = {"accepted": "access.accept", "rejected": "access.reject", "pending": "access.cancel"}


@dataclass(frozen=True)
class AccessRequestView:
    """One access request as its repo's writers see it."""

    request_id: str
    user: str
    fullname: str
    email: str | None
    status: str
    timestamp: datetime
    fields: dict[str, Any] | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """The public hub's shape, which ``HfApi.list_*_access_requests`` reads."""
        return {
            "requestId": self.request_id,
            "user": {"user": self.user, "fullname": self.fullname, "email": self.email},
            "status": self.status,
            "timestamp": self.timestamp.isoformat(timespec="milliseconds") + "Z",
            "fields": self.fields,
            "rejectionReason": self.reason,
        }


def _view(row: g.AccessRequest, user: m.Account) -> AccessRequestView:
    return AccessRequestView(
        request_id=row.public_id,
        user=user.name,
        fullname=user.fullname or user.name,
        email=user.email,
        status=row.status,
        timestamp=row.updated_at,
        fields=row.fields,
        reason=row.reason,
    )


# -- the rule -----------------------------------------------------------------------------


def exempt(p: Principal, repo: m.Repo) -> bool:
    """Whether ``p`` is never gated out of ``repo``: a hub admin, its owner, a member of its org."""
    owners = p.owner_ids()
    return owners is None or repo.owner_id in owners


def can_download(s: Session, p: Principal, repo: m.Repo) -> bool:
    """Whether ``p`` may download ``repo``'s files (readable repos only; see the module docstring)."""
    if not repo.gated or exempt(p, repo):
        return True
    if p.user_id is None:
        return False
    row = _row(s, repo, p.user_id)
    return row is not None and row.status == "accepted"


def require_files(s: Session, p: Principal, repo: m.Repo) -> None:
    """Raise ``GatedRepo`` (401 without a token, else 403) unless :func:`can_download`."""
    if can_download(s, p, repo):
        return
    what = f"{repo.type} {repo.namespace}/{repo.name}"
    if p.anonymous:
        err = GatedRepo(
            f"Access to {what} is restricted. You must have access to it and be authenticated "
            "to access it. Please log in."
        )
        err.status = 401
        raise err
    raise GatedRepo(
        f"Access to {what} is restricted and you are not in the authorized list. Ask for access "
        f"with `workbench repo request-access {repo.namespace}/{repo.name}` or "
        "`wb.request_access(...)`, then wait for its owners to accept."
    )


def downloadable_repo(store: Store, s: Session, p: Principal, key: RepoKeyTuple) -> m.Repo:
    """The repo ``key`` names, if ``p`` may read it (else 404) and download its files (else 401/403)."""
    repo = readable_repo(store, s, p, key)
    require_files(s, p, repo)
    return repo


# -- requests -----------------------------------------------------------------------------


def _row(s: Session, repo: m.Repo, user_id: int) -> g.AccessRequest | None:
    return s.scalar(
        select(g.AccessRequest).where(g.AccessRequest.repo_id == repo.id, g.AccessRequest.user_id == user_id)
    )


def _require_gated(repo: m.Repo) -> None:
    if not repo.gated:
        raise InvalidRequest(
            f"{repo.namespace}/{repo.name} is not gated: its files need no access request.",
            code="RepoNotGated",
        )


def _managed_repo(store: Store, s: Session, p: Principal, key: RepoKeyTuple) -> m.Repo:
    """A gated repo whose requests ``p`` may see and decide: its writers and admins."""
    repo = store.get_repo(s, *key)
    require_write(s, p, repo)
    _require_gated(repo)
    return repo


def _save(
    s: Session, repo: m.Repo, user: m.Account, status: str, fields: dict[str, Any] | None
) -> g.AccessRequest:
    now = utcnow()
    row = _row(s, repo, user.id)
    if row is None:
        row = g.AccessRequest(
            public_id=secrets.token_hex(12),
            repo_id=repo.id,
            user_id=user.id,
            created_at=now,
            fields=fields,
        )
        s.add(row)
    elif fields is not None:
        row.fields = fields
    row.status, row.reason, row.updated_at = status, None, now
    s.flush()
    return row


def request_access(
    store: Store, s: Session, p: Principal, key: RepoKeyTuple, answers: dict[str, Any]
) -> AccessRequestView:
    """Ask for access to a gated repo with the answers its form asks for; ``auto`` accepts it.

    Asking again while pending updates the answers; a rejected request stays rejected until
    an owner changes it.
    """
    repo = readable_repo(store, s, p, key)
    require_write_scope(p, repo)
    _require_gated(repo)
    user = s.get(m.Account, p.user_id)
    if user is None:
        raise NotFound("The token's user no longer exists.", code="UserNotFound")
    row = _row(s, repo, user.id)
    if exempt(p, repo) or (row is not None and row.status == "accepted"):
        return _view(row, user) if row is not None else _exempt_view(user)
    fields = check_answers(gate_form(repo.card_data), answers) or None
    if row is not None and row.status == "rejected":
        because = f" Reason: {row.reason}" if row.reason else ""
        raise PermissionDenied(
            f"Your request for {repo.namespace}/{repo.name} was rejected.{because} "
            "Ask its owners to reconsider it.",
            code="AccessRejected",
        )
    status = "accepted" if repo.gated == "auto" else "pending"
    was_pending = row is not None
    row = _save(s, repo, user, status, fields)
    record_event(s, actor=p, action="access.request", repo=repo, details={"status": status})
    if status == "pending" and not was_pending:
        notify_access(s, repo, "access-request", p)
    return _view(row, user)


def _exempt_view(user: m.Account) -> AccessRequestView:
    return AccessRequestView(
        "", user.name, user.fullname or user.name, user.email, "accepted", utcnow(), None, None
    )


def list_requests(
    store: Store, s: Session, p: Principal, key: RepoKeyTuple, status: str
) -> list[AccessRequestView]:
    """A gated repo's requests in ``status``, oldest first (its writers and admins only)."""
    if status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}.", code="InvalidStatus")
    repo = _managed_repo(store, s, p, key)
    rows = s.execute(
        select(g.AccessRequest, m.Account)
        .join(m.Account, m.Account.id == g.AccessRequest.user_id)
        .where(g.AccessRequest.repo_id == repo.id, g.AccessRequest.status == status)
        .order_by(g.AccessRequest.updated_at, g.AccessRequest.id)
    ).all()
    return [_view(row, user) for row, user in rows]


def pending_to_decide(s: Session, p: Principal, limit: int = 200) -> list[tuple[m.Repo, AccessRequestView]]:
    """The pending requests of every gated repo ``p`` may decide (hub admins: all), oldest
    first: a team's inbox of requests, which the lab's Team panel shows."""
    if p.anonymous:
        return []
    q = (
        select(g.AccessRequest, m.Account, m.Repo)
        .join(m.Account, m.Account.id == g.AccessRequest.user_id)
        .join(m.Repo, m.Repo.id == g.AccessRequest.repo_id)
        .where(g.AccessRequest.status == "pending", m.Repo.gated.is_not(None))
        .order_by(g.AccessRequest.updated_at, g.AccessRequest.id)
        .limit(limit)
    )
    if not p.is_admin:  # the namespaces where the caller holds the write role (as _managed_repo)
        owners = [p.user_id, *(org for org, role in p.orgs.items() if role in ("write", "admin"))]
        q = q.where(m.Repo.owner_id.in_([o for o in owners if o is not None]))
    return [(repo, _view(row, user)) for row, user, repo in s.execute(q).all()]


def decide(
    store: Store,
    s: Session,
    p: Principal,
    key: RepoKeyTuple,
    *,
    status: str,
    user: str | None = None,
    request_id: str | None = None,
    reason: str | None = None,
) -> AccessRequestView:
    """Accept, reject (with an optional ``reason``) or cancel (``pending``) one request,
    named by its user or its request id; the requester is notified."""
    if status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}.", code="InvalidStatus")
    if (user is None) == (request_id is None):
        raise InvalidRequest(
            "Name the request by exactly one of 'user' and 'requestId'.", code="MissingField"
        )
    if reason is not None and (status != "rejected" or len(reason) > MAX_REASON_CHARS):
        raise InvalidRequest(
            f"A reason goes with a rejection only, in at most {MAX_REASON_CHARS} characters.",
            code="InvalidField",
        )
    repo = _managed_repo(store, s, p, key)
    account: m.Account | None
    if user is not None:
        account = get_user(s, user)
        row = _row(s, repo, account.id)
    else:
        row = s.scalar(
            select(g.AccessRequest).where(
                g.AccessRequest.repo_id == repo.id, g.AccessRequest.public_id == request_id
            )
        )
        account = s.get(m.Account, row.user_id) if row is not None else None
    if row is None or account is None:
        raise NotFound(
            f"No access request to {repo.namespace}/{repo.name} from {user or request_id!r}.",
            code="AccessRequestNotFound",
        )
    if row.status == status:
        raise InvalidRequest(f"The request of {account.name!r} is already {status}.", code="StatusUnchanged")
    row.status, row.reason, row.decided_by, row.updated_at = status, reason, p.name, utcnow()
    record_event(s, actor=p, action=_ACTIONS[status], repo=repo, details={"user": account.name})
    notify_access(s, repo, f"access-{status}", p, requester=account, detail=reason)
    return _view(row, account)


def grant(store: Store, s: Session, p: Principal, key: RepoKeyTuple, user: str) -> AccessRequestView:
    """Give ``user`` access without a request of theirs (400 if they have it already)."""
    repo = _managed_repo(store, s, p, key)
    account = get_user(s, user)
    row = _row(s, repo, account.id)
    if exempt(principal_for(s, account, None), repo) or (row is not None and row.status == "accepted"):
        raise InvalidRequest(f"{account.name!r} already has access to this repo.", code="AlreadyHasAccess")
    row = _save(s, repo, account, "accepted", None)
    row.decided_by = p.name
    record_event(s, actor=p, action="access.grant", repo=repo, details={"user": account.name})
    notify_access(s, repo, "access-accepted", p, requester=account)
    return _view(row, account)
