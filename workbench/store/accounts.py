"""Users, organizations, tokens, and turning a bearer token into a :class:`Principal`.

Who may read or write which repo is :mod:`workbench.store.access`.

Tokens are random, shown once, and stored as their SHA-256 only.

>>> with store.write() as s:                                  # doctest: +SKIP
...     user = create_user(s, "alice")
...     token = create_token(s, user, "laptop", scope="write")
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, aliased

from workbench.errors import AuthenticationError, Conflict, InvalidRequest, NotFound
from workbench.names import validate_namespace
from workbench.store import models as m
from workbench.store.access import ANONYMOUS, Principal
from workbench.store.store import utcnow

TOKEN_PREFIX = "wb_"
SCOPES = ("read", "write")
ROLES = ("read", "write", "admin")


# How fresh tokens' last_used_at is kept: recording every request's use would make every
# request a write transaction.
TOKEN_USE_RESOLUTION = timedelta(minutes=5)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_account(session: Session, name: str) -> m.Account | None:
    return session.scalar(select(m.Account).where(m.Account.name == name))


def create_user(
    session: Session, name: str, *, admin: bool = False, fullname: str = "", email: str | None = None
) -> m.Account:
    validate_namespace(name)
    if get_account(session, name) is not None:
        raise Conflict(f"User or organization {name!r} already exists.", code="AccountExists")
    user = m.Account(
        name=name, kind="user", is_admin=admin, fullname=fullname or name, email=email, created_at=utcnow()
    )
    session.add(user)
    session.flush()
    return user


def create_org(
    session: Session, name: str, *, owner: m.Account | None = None, fullname: str = ""
) -> m.Account:
    validate_namespace(name)
    if get_account(session, name) is not None:
        raise Conflict(f"User or organization {name!r} already exists.", code="AccountExists")
    org = m.Account(name=name, kind="org", fullname=fullname or name, created_at=utcnow())
    session.add(org)
    session.flush()
    if owner is not None:
        session.add(m.Membership(org_id=org.id, user_id=owner.id, role="admin"))
    return org


def set_membership(session: Session, org: m.Account, user: m.Account, role: str) -> None:
    if role not in ROLES:
        raise InvalidRequest(f"Invalid role {role!r}: use one of {', '.join(ROLES)}.", code="InvalidRole")
    row = session.get(m.Membership, (org.id, user.id))
    if row is None:
        session.add(m.Membership(org_id=org.id, user_id=user.id, role=role))
    else:
        row.role = role


def create_token(session: Session, user: m.Account, name: str, *, scope: str = "write") -> str:
    """Create a token and return it in clear text (the only time it is visible)."""
    if scope not in SCOPES:
        raise InvalidRequest(f"Invalid token scope {scope!r}: use 'read' or 'write'.", code="InvalidScope")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        m.Token(
            user_id=user.id,
            name=name,
            token_hash=hash_token(token),
            prefix=token[:7],
            scope=scope,
            created_at=utcnow(),
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, user: m.Account, token_id: int) -> None:
    row = session.get(m.Token, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"Token {token_id} not found.", code="TokenNotFound")
    row.revoked = True


def principal_for(session: Session, user: m.Account, scope: str | None) -> Principal:
    rows = session.execute(
        select(m.Membership.org_id, m.Membership.role, m.Account.name)
        .join(m.Account, m.Account.id == m.Membership.org_id)
        .where(m.Membership.user_id == user.id)
    ).all()
    return Principal(
        user_id=user.id,
        name=user.name,
        is_admin=user.is_admin,
        scope=scope,
        orgs={r[0]: r[1] for r in rows},
        org_names={r[2]: r[1] for r in rows},
    )


def authenticate(session: Session, token: str | None) -> Principal:
    """Turn a bearer token into a Principal; no token means anonymous."""
    return authenticate_use(session, token)[0]


@functools.cache
def _token_rows() -> Any:  # a Select of ten columns
    """The statement of :func:`authenticate_use`, built once: building it cost more than
    running it, on every authenticated request."""
    T, U, M, Org = m.Token, m.Account, m.Membership, aliased(m.Account)  # noqa: N806
    return (
        select(
            T.id.label("token_id"),
            T.revoked,
            T.scope,
            T.last_used_at,
            U.id,
            U.name,
            U.is_admin,
            M.org_id,
            M.role,
            Org.name.label("org_name"),
        )
        .join(U, U.id == T.user_id)
        .outerjoin(M, M.user_id == U.id)
        .outerjoin(Org, Org.id == M.org_id)
        .where(T.token_hash == bindparam("token_hash"))
    )


def authenticate_use(session: Session, token: str | None) -> tuple[Principal, int | None]:
    """:func:`authenticate`, and the token's id when its use is to be recorded (its
    ``last_used_at`` is unset or older than ``TOKEN_USE_RESOLUTION``; see :func:`record_use`).

    One statement (every authenticated request runs it): the token, its user and the user's
    memberships, a row per organization (or one with no organization).
    """
    if not token:
        return ANONYMOUS, None
    rows = session.execute(_token_rows(), {"token_hash": hash_token(token)}).all()
    if not rows or rows[0].revoked:
        raise AuthenticationError(
            "Invalid or revoked token: create a new one with "
            "`workbench hub token create NAME` or log in again.",
            code="InvalidToken",
        )
    first = rows[0]
    orgs = [r for r in rows if r.org_id is not None]
    principal = Principal(
        user_id=first.id,
        name=first.name,
        is_admin=first.is_admin,
        scope=first.scope,
        orgs={r.org_id: r.role for r in orgs},
        org_names={r.org_name: r.role for r in orgs},
    )
    last = first.last_used_at
    due = last is None or utcnow() - last >= TOKEN_USE_RESOLUTION
    return principal, (first.token_id if due else None)


def record_use(session: Session, token_id: int) -> None:
    """Set a token's ``last_used_at`` to now (a write, so at most once per resolution)."""
    session.execute(update(m.Token).where(m.Token.id == token_id).values(last_used_at=utcnow()))
