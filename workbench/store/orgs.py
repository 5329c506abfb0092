"""Organizations, their members' roles, and users' own tokens, as callers manage them.

Each change is checked against the caller (org admins manage their org, a user their own
tokens, hub admins everything) and recorded in the audit log in the same transaction.

>>> with store.write() as s:                                             # doctest: +SKIP
...     org = create_org_as(s, p, "acme")                # p becomes its first admin
...     set_role(s, p, "acme", "bob", "write")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.errors import AuthenticationError, Conflict, InvalidRequest, NotFound, PermissionDenied
from workbench.store import audit
from workbench.store import models as m
from workbench.store.access import Principal, TokenLimit, require_write_scope
from workbench.store.accounts import (
    ROLES,
    create_org,
    create_token,
    get_account,
    parse_limits,
    revoke_token,
)

MAX_TOKEN_NAME = 100


@dataclass(frozen=True)
class Member:
    name: str
    role: str
    fullname: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role, "fullname": self.fullname, "type": "user"}


@dataclass(frozen=True)
class TokenInfo:
    """A token as its owner (or a hub admin) sees it: never the secret, only its first
    characters; its expiry, last use and limits (None: not limited)."""

    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool
    expires_at: datetime | None = None
    limits: tuple[TokenLimit, ...] | None = None
    user: str = ""

    @classmethod
    def of(cls, t: m.Token, user: str = "") -> TokenInfo:
        return cls(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            scope=t.scope,
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            revoked=t.revoked,
            expires_at=t.expires_at,
            limits=parse_limits(t.limits),
            user=user,
        )

    def to_dict(self) -> dict[str, object]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() + "Z" if d else None

        return {
            "id": self.id,
            "user": self.user,
            "name": self.name,
            "prefix": self.prefix,
            "scope": self.scope,
            "createdAt": iso(self.created_at),
            "lastUsedAt": iso(self.last_used_at),
            "expiresAt": iso(self.expires_at),
            "limits": None if self.limits is None else [lim.to_dict() for lim in self.limits],
            "revoked": self.revoked,
        }


def get_org(s: Session, name: str) -> m.Account:
    org = get_account(s, name)
    if org is None or org.kind != "org":
        raise NotFound(f"No organization named {name!r}.", code="OrgNotFound")
    return org


def get_user(s: Session, name: str) -> m.Account:
    user = get_account(s, name)
    if user is None or user.kind != "user":
        raise NotFound(f"No user named {name!r}.", code="UserNotFound")
    return user


def _caller(s: Session, p: Principal) -> m.Account:
    require_write_scope(p)
    user = s.get(m.Account, p.user_id)
    if user is None:
        raise NotFound("The token's user no longer exists.", code="UserNotFound")
    return user


def require_org_admin(p: Principal, org: m.Account) -> None:
    """Hub admins and the org's admins manage it; a write-scope token is needed."""
    require_write_scope(p)
    if not (p.is_admin or p.orgs.get(org.id) == "admin"):
        raise PermissionDenied(
            f"Only admins of {org.name!r} may change its members; ask one of them for the 'admin' role.",
            code="OrgAdminRequired",
        )


def create_org_as(s: Session, p: Principal, name: str, *, fullname: str = "") -> m.Account:
    """Create an organization whose first admin is the caller."""
    owner = _caller(s, p)
    org = create_org(s, name, owner=owner, fullname=fullname)
    audit.record_event(s, actor=p, action=audit.ORG_CREATE, namespace=org.name)
    return org


def list_members(s: Session, p: Principal, org_name: str) -> list[Member]:
    """Members of an org with their roles; visible to its members and hub admins."""
    org = get_org(s, org_name)
    if not (p.is_admin or org.id in p.orgs):
        raise PermissionDenied(f"Only members of {org.name!r} may list its members.", code="NotOrgMember")
    rows = s.execute(
        select(m.Account.name, m.Membership.role, m.Account.fullname)
        .join(m.Membership, m.Membership.user_id == m.Account.id)
        .where(m.Membership.org_id == org.id)
        .order_by(m.Account.name)
    )
    return [Member(name=n, role=r, fullname=f) for n, r, f in rows]


def _admins(s: Session, org: m.Account) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(m.Membership)
            .where(m.Membership.org_id == org.id, m.Membership.role == "admin")
        )
        or 0
    )


def set_role(s: Session, p: Principal, org_name: str, user_name: str, role: str) -> Member:
    """Add ``user`` to the org with ``role``, or change their role."""
    org = get_org(s, org_name)
    require_org_admin(p, org)
    if role not in ROLES:
        raise InvalidRequest(f"Invalid role {role!r}: use one of {', '.join(ROLES)}.", code="InvalidRole")
    user = get_user(s, user_name)
    row = s.get(m.Membership, (org.id, user.id))
    if row is None:
        s.add(m.Membership(org_id=org.id, user_id=user.id, role=role))
        audit.record_event(
            s, actor=p, action=audit.MEMBER_ADD, namespace=org.name, details={"user": user.name, "role": role}
        )
    elif row.role != role:
        if row.role == "admin" and _admins(s, org) == 1:
            raise Conflict(
                f"{user.name!r} is the last admin of {org.name!r}: make someone else admin first.",
                code="LastOrgAdmin",
            )
        audit.record_event(
            s,
            actor=p,
            action=audit.MEMBER_ROLE,
            namespace=org.name,
            details={"user": user.name, "from": row.role, "to": role},
        )
        row.role = role
    s.flush()
    return Member(name=user.name, role=role, fullname=user.fullname)


def remove_member(s: Session, p: Principal, org_name: str, user_name: str) -> None:
    org = get_org(s, org_name)
    require_org_admin(p, org)
    user = get_user(s, user_name)
    row = s.get(m.Membership, (org.id, user.id))
    if row is None:
        raise NotFound(f"{user.name!r} is not a member of {org.name!r}.", code="MemberNotFound")
    if row.role == "admin" and _admins(s, org) == 1:
        raise Conflict(
            f"{user.name!r} is the last admin of {org.name!r}: make someone else admin first.",
            code="LastOrgAdmin",
        )
    s.delete(row)
    audit.record_event(
        s,
        actor=p,
        action=audit.MEMBER_REMOVE,
        namespace=org.name,
        details={"user": user.name, "role": row.role},
    )


def list_orgs(s: Session, p: Principal) -> list[dict[str, str]]:
    """The caller's organizations with their role (hub admins: every org, role 'admin' where
    they hold no membership)."""
    q = select(m.Account).where(m.Account.kind == "org").order_by(m.Account.name)
    if not p.is_admin:
        q = q.where(m.Account.id.in_(list(p.orgs)))
    return [
        {"name": o.name, "fullname": o.fullname, "roleInOrg": p.orgs.get(o.id, "admin"), "type": "org"}
        for o in s.scalars(q)
    ]


def profile(s: Session, p: Principal) -> dict[str, Any]:
    """What ``whoami`` says of the caller beyond the token: full name and organizations.

    Workbench keeps no pictures; ``avatarUrl`` is there (empty) because the HF clients read it.
    """
    me = s.get(m.Account, p.user_id) if p.user_id is not None else None
    q = (
        select(m.Account)
        .where(m.Account.kind == "org", m.Account.id.in_(list(p.orgs)))
        .order_by(m.Account.name)
    )
    return {
        "fullname": me.fullname if me is not None else p.name,
        "avatarUrl": "",
        "orgs": [
            {
                "type": "org",
                "name": o.name,
                "fullname": o.fullname,
                "avatarUrl": "",
                "roleInOrg": p.orgs[o.id],
            }
            for o in s.scalars(q)
        ],
    }


# -- the caller's own tokens ----------------------------------------------------------------


def accounts_with_memberships(s: Session, kind: str) -> list[tuple[m.Account, list[str]]]:
    """Every user (``kind="user"``) or organization (``"org"``), by name, each with its
    memberships as ``"name:role"``: a user's organizations, an organization's members.
    For the hub's operators (``workbench hub user list``, ``org list``); no access check."""
    own, other = (
        (m.Membership.user_id, m.Membership.org_id)
        if kind == "user"
        else (m.Membership.org_id, m.Membership.user_id)
    )
    labels: dict[int, list[str]] = {}
    for account_id, name, role in s.execute(
        select(own, m.Account.name, m.Membership.role)
        .join(m.Account, m.Account.id == other)
        .order_by(m.Account.name)
    ):
        labels.setdefault(account_id, []).append(f"{name}:{role}")
    accounts = s.scalars(select(m.Account).where(m.Account.kind == kind).order_by(m.Account.name))
    return [(a, labels.get(a.id, [])) for a in accounts]


def list_tokens(s: Session, p: Principal) -> list[TokenInfo]:
    if p.anonymous:
        raise AuthenticationError("Listing tokens needs a token.", code="TokenRequired")
    rows = s.scalars(select(m.Token).where(m.Token.user_id == p.user_id).order_by(m.Token.id))
    return [TokenInfo.of(t, p.name or "") for t in rows]


def current_token(s: Session, p: Principal) -> TokenInfo | None:
    """The hub token the caller authenticated with (None: anonymous, or a JupyterHub token)."""
    row = s.get(m.Token, p.token_id) if p.token_id is not None else None
    return TokenInfo.of(row, p.name or "") if row is not None else None


def issue_token(
    s: Session,
    actor: Principal | str,
    user: m.Account,
    name: str,
    *,
    scope: str,
    expires_at: datetime | None = None,
    limits: tuple[TokenLimit, ...] | None = None,
) -> tuple[TokenInfo, str]:
    """A new token for ``user``, audited as ``actor``'s: (its listing entry, the secret shown
    only now). The one way tokens are made, for the API and the command line."""
    if not name.strip() or len(name) > MAX_TOKEN_NAME:
        raise InvalidRequest(f"A token name must be 1-{MAX_TOKEN_NAME} characters.", code="InvalidTokenName")
    secret = create_token(s, user, name.strip(), scope=scope, expires_at=expires_at, limits=limits)
    row = s.scalars(
        select(m.Token).where(m.Token.user_id == user.id).order_by(m.Token.id.desc()).limit(1)
    ).one()
    info = TokenInfo.of(row, user.name)
    details: dict[str, Any] = {"token_id": row.id, "name": row.name, "scope": scope}
    if expires_at is not None:
        details["expires_at"] = info.to_dict()["expiresAt"]
    if limits:
        details["limits"] = [lim.label() for lim in limits]
    audit.record_event(s, actor=actor, action=audit.TOKEN_CREATE, namespace=user.name, details=details)
    return info, secret


def create_token_as(
    s: Session,
    p: Principal,
    name: str,
    *,
    scope: str,
    expires_at: datetime | None = None,
    limits: tuple[TokenLimit, ...] | None = None,
) -> tuple[TokenInfo, str]:
    """A new token for the caller (:func:`issue_token`).

    An unlimited write-scope token is needed: a read token must not mint a write one, nor a
    limited token an unlimited one.
    """
    user = _caller(s, p)
    return issue_token(s, p, user, name, scope=scope, expires_at=expires_at, limits=limits)


def revoke_token_as(s: Session, p: Principal, token_id: int) -> None:
    """Revoke one of the caller's tokens (another user's answers 404, as a missing one)."""
    user = _caller(s, p)
    revoke_token(s, user, token_id)
    audit.record_event(
        s, actor=p, action=audit.TOKEN_REVOKE, namespace=user.name, details={"token_id": token_id}
    )
