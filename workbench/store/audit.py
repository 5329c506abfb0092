"""The audit log: who created, deleted, renamed, changed the visibility of or merged into which
repo, who changed whose role in which organization, who created or revoked tokens, who
created, disabled, enabled or deleted users.

Events are written in the same transaction as the change they record, so a change that rolls
back leaves no event and a committed one always has its event. Hub admins read every event;
an organization's admins read the events of their organization (``namespace``).

>>> with store.write() as s:                                            # doctest: +SKIP
...     repo = create_repo(store, s, p, "model", "acme", "bert")
...     record_event(s, actor=p, action="repo.create", repo=repo)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workbench.errors import InvalidRequest, PermissionDenied
from workbench.store import models as m
from workbench.store.access import Principal
from workbench.store.store import utcnow

# The actions the hub records; other values are accepted (new features add their own) as
# long as they look like these: "<noun>.<verb>".
REPO_CREATE = "repo.create"
REPO_DELETE = "repo.delete"
REPO_MOVE = "repo.move"
REPO_VISIBILITY = "repo.visibility"
REPO_MERGE = "repo.merge"
ORG_CREATE = "org.create"
MEMBER_ADD = "member.add"
MEMBER_ROLE = "member.role"
MEMBER_REMOVE = "member.remove"
TOKEN_CREATE = "token.create"
TOKEN_REVOKE = "token.revoke"
USER_CREATE = "user.create"
USER_DISABLE = "user.disable"
USER_ENABLE = "user.enable"
USER_DELETE = "user.delete"

MAX_DETAILS_CHARS = 4000
MAX_PAGE = 1000


@dataclass(frozen=True)
class AuditEntry:
    """One event as the API and CLI show it."""

    id: int
    created_at: datetime
    actor: str
    action: str
    namespace: str | None
    repo_type: str | None
    repo: str | None
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "createdAt": self.created_at.isoformat() + "Z",
            "actor": self.actor,
            "action": self.action,
            "namespace": self.namespace,
            "repoType": self.repo_type,
            "repo": self.repo,
            "details": self.details,
        }


def _actor_name(actor: Principal | m.Account | str | None) -> str:
    if actor is None:
        return "(system)"
    if isinstance(actor, str):
        return actor
    return actor.name or "(anonymous)"


def record_event(
    session: Session,
    *,
    actor: Principal | m.Account | str | None,
    action: str,
    repo: m.Repo | None = None,
    details: dict[str, Any] | None = None,
    namespace: str | None = None,
) -> None:
    """Add one event to the log, inside the caller's transaction.

    ``namespace`` defaults to the repo's; pass it for org events (role changes).
    ``details`` must be JSON-serializable and small (old/new names, roles, visibility).
    """
    if "." not in action or len(action) > 64:
        raise ValueError(f"audit action {action!r} must look like 'noun.verb'")
    info = dict(details or {})
    if len(repr(info)) > MAX_DETAILS_CHARS:
        info = {"truncated": repr(info)[:MAX_DETAILS_CHARS]}
    session.add(
        m.AuditEvent(
            created_at=utcnow(),
            actor=_actor_name(actor),
            action=action,
            namespace=namespace or (repo.namespace if repo is not None else None),
            repo_type=repo.type if repo is not None else None,
            repo_name=f"{repo.namespace}/{repo.name}" if repo is not None else None,
            details=info or None,
        )
    )


def list_events(
    session: Session,
    p: Principal,
    *,
    namespace: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    repo: str | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[AuditEntry]:
    """Events the caller may read, newest first (``before``: an event id, for paging).

    Hub admins read everything; org admins the events of the orgs they administer; anyone
    else gets 403, and an org admin asking for another namespace too.
    """
    if p.anonymous:
        raise PermissionDenied(
            "Reading the audit log needs a token of a hub or organization admin.", code="AdminRequired"
        )
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}.", code="InvalidParameter")
    q = select(m.AuditEvent)
    if not p.is_admin:
        admin_of = sorted(name for name, role in p.org_names.items() if role == "admin")
        if not admin_of:
            raise PermissionDenied(
                "Only hub admins and organization admins may read the audit log.", code="AdminRequired"
            )
        if namespace is not None and namespace not in admin_of:
            raise PermissionDenied(
                f"You are not an admin of {namespace!r}: you may read the audit "
                f"log of {', '.join(admin_of)}.",
                code="AdminRequired",
            )
        q = q.where(m.AuditEvent.namespace.in_(admin_of))
    if namespace is not None:
        q = q.where(m.AuditEvent.namespace == namespace)
    if action is not None:
        q = q.where(or_(m.AuditEvent.action == action, m.AuditEvent.action.startswith(action + ".")))
    if actor is not None:
        q = q.where(m.AuditEvent.actor == actor)
    if repo is not None:
        q = q.where(m.AuditEvent.repo_name == repo)
    if before is not None:
        q = q.where(m.AuditEvent.id < before)
    rows = session.scalars(q.order_by(m.AuditEvent.id.desc()).limit(limit))
    return [
        AuditEntry(
            id=r.id,
            created_at=r.created_at,
            actor=r.actor,
            action=r.action,
            namespace=r.namespace,
            repo_type=r.repo_type,
            repo=r.repo_name,
            details=dict(r.details or {}),
        )
        for r in rows
    ]
