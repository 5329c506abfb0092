"""Users, organizations, tokens, and turning a bearer token into a :class:`Principal`.

Who may read or write which repo is :mod:`workbench.store.access`.

Tokens are random, shown once, and stored as their SHA-256 only. A token may expire
(``expires_at``) and be limited to some repos and namespaces (``limits``, see
:mod:`workbench.store.access`); a disabled user's tokens all answer 401 until re-enabled.

>>> with store.write() as s:                                  # doctest: +SKIP
...     user = create_user(s, "alice")
...     token = create_token(s, user, "laptop", scope="write")
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, aliased

from workbench.errors import AuthenticationError, Conflict, InvalidRequest, NotFound
from workbench.names import validate_namespace
from workbench.store import models as m
from workbench.store.access import ANONYMOUS, Principal, TokenLimit
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


def parse_limits(entries: Sequence[Mapping[str, Any]] | None) -> tuple[TokenLimit, ...] | None:
    """A token's limits from their JSON form; None or an empty list: not limited."""
    if not entries:
        return None
    return tuple(dict.fromkeys(TokenLimit.parse(e) for e in entries))


def create_token(
    session: Session,
    user: m.Account,
    name: str,
    *,
    scope: str = "write",
    expires_at: datetime | None = None,
    limits: Sequence[TokenLimit] | None = None,
) -> str:
    """Create a token and return it in clear text (the only time it is visible).

    ``expires_at``: when it stops working (None: never); ``limits``: the repos and
    namespaces it is limited to (None or empty: not limited).
    """
    if scope not in SCOPES:
        raise InvalidRequest(f"Invalid token scope {scope!r}: use 'read' or 'write'.", code="InvalidScope")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidRequest("A token's expiry must be in the future.", code="InvalidExpiry")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        m.Token(
            user_id=user.id,
            name=name,
            token_hash=hash_token(token),
            prefix=token[:7],
            scope=scope,
            created_at=utcnow(),
            expires_at=expires_at,
            limits=[lim.to_dict() for lim in limits] if limits else None,
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, user: m.Account | None, token_id: int) -> m.Token:
    """Revoke token ``token_id`` of ``user`` (None: of anyone, for hub admins)."""
    row = session.get(m.Token, token_id)
    if row is None or (user is not None and row.user_id != user.id):
        raise NotFound(f"Token {token_id} not found.", code="TokenNotFound")
    row.revoked = True
    return row


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
def _token_rows() -> Any:  # a Select of thirteen columns
    """The statement of :func:`authenticate_use`, built once: building it cost more than
    running it, on every authenticated request."""
    T, U, M, Org = m.Token, m.Account, m.Membership, aliased(m.Account)  # noqa: N806
    return (
        select(
            T.id.label("token_id"),
            T.revoked,
            T.scope,
            T.last_used_at,
            T.expires_at,
            T.limits,
            U.id,
            U.name,
            U.is_admin,
            U.disabled,
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
    if not rows:
        raise AuthenticationError(
            "Unknown token: this hub never issued it (a typo, or a token of another hub?). "
            "Create one with `workbench hub token create NAME` or `workbench login` again.",
            code="InvalidToken",
        )
    first = rows[0]
    check_usable(first)
    orgs = [r for r in rows if r.org_id is not None]
    principal = Principal(
        user_id=first.id,
        name=first.name,
        is_admin=first.is_admin,
        scope=first.scope,
        orgs={r.org_id: r.role for r in orgs},
        org_names={r.org_name: r.role for r in orgs},
        limits=parse_limits(first.limits),
        token_id=first.token_id,
        org_ids={r.org_name: r.org_id for r in orgs},
    )
    last = first.last_used_at
    due = last is None or utcnow() - last >= TOKEN_USE_RESOLUTION
    return principal, (first.token_id if due else None)


def check_usable(row: Any) -> None:
    """401 with the code that says why a known token no longer works: ``TokenRevoked``,
    ``AccountDisabled`` (its user's, every token at once) or ``TokenExpired``. ``row`` has
    the token's ``revoked`` and ``expires_at`` and its user's ``disabled``."""
    if row.revoked:
        raise AuthenticationError(
            "This token was revoked: create a new one with `workbench hub token create NAME` "
            "or `workbench login` again.",
            code="TokenRevoked",
        )
    require_enabled(row.name, row.disabled)
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise AuthenticationError(
            f"This token expired at {row.expires_at.isoformat(timespec='seconds')}Z: create a new one.",
            code="TokenExpired",
        )


def require_enabled(name: str, disabled: bool) -> None:
    """401 ``AccountDisabled`` for a disabled user, whatever token (ours or JupyterHub's) they bring."""
    if disabled:
        raise AuthenticationError(
            f"The account {name!r} is disabled: ask a hub administrator to enable it.",
            code="AccountDisabled",
        )


def record_use(session: Session, token_id: int) -> None:
    """Set a token's ``last_used_at`` to now (a write, so at most once per resolution)."""
    session.execute(update(m.Token).where(m.Token.id == token_id).values(last_used_at=utcnow()))
