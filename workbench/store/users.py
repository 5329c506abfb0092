"""Users and everyone's tokens, as hub administrators manage them: create, disable, enable
and delete users; list and revoke any token. The API (``/api/admin/...``) and the
``workbench hub user|token`` commands both call these, so each change is checked the same
way and recorded in the audit log in its own transaction.

``actor`` is the caller's :class:`Principal` (checked: a hub admin with an unlimited write
token) or, from the command line, a label such as ``"cli:alice"`` (whoever can open the data
folder administers the hub).

>>> with store.write() as s:                                             # doctest: +SKIP
...     disable_user(s, p, "mallory")       # every token of mallory's answers 401 at once
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workbench.errors import Conflict
from workbench.store import audit
from workbench.store import models as m
from workbench.store.access import Principal, require_admin
from workbench.store.accounts import create_user, revoke_token
from workbench.store.bucket_models import Bucket
from workbench.store.orgs import TokenInfo, get_user

Actor = Principal | str


def _check(actor: Actor) -> None:
    if isinstance(actor, Principal):
        require_admin(actor)


def create_user_as(
    s: Session, actor: Actor, name: str, *, admin: bool = False, fullname: str = "", email: str | None = None
) -> m.Account:
    _check(actor)
    user = create_user(s, name, admin=admin, fullname=fullname, email=email)
    audit.record_event(s, actor=actor, action=audit.USER_CREATE, namespace=name, details={"admin": admin})
    return user


def set_disabled(s: Session, actor: Actor, name: str, disabled: bool) -> m.Account:
    """Disable a user (every token of theirs answers 401 ``AccountDisabled``; the tokens are
    kept) or enable them again (the same tokens work again, unless revoked or expired)."""
    _check(actor)
    user = get_user(s, name)
    if user.disabled != disabled:
        user.disabled = disabled
        action = audit.USER_DISABLE if disabled else audit.USER_ENABLE
        audit.record_event(s, actor=actor, action=action, namespace=name)
    return user


def delete_user(s: Session, actor: Actor, name: str) -> None:
    """Delete a user with their tokens and memberships; 409 ``AccountInUse`` while they own
    repos or buckets (delete or move those first, or disable the user instead)."""
    _check(actor)
    user = get_user(s, name)
    owns = s.scalar(
        select(exists().where(m.Repo.owner_id == user.id) | exists().where(Bucket.owner_id == user.id))
    )
    if owns:
        raise Conflict(
            f"{name!r} still owns repos or buckets: delete or move them first, or disable the "
            f"user instead (`workbench hub user disable {name}`).",
            code="AccountInUse",
        )
    try:
        with s.begin_nested():
            s.delete(user)
            s.flush()
    except IntegrityError:
        raise Conflict(
            f"Other records still name {name!r}: disable the user instead.", code="AccountInUse"
        ) from None
    audit.record_event(s, actor=actor, action=audit.USER_DELETE, namespace=name)


def all_tokens(s: Session, actor: Actor, user: str | None = None) -> list[TokenInfo]:
    """Every token (``user``: only theirs), oldest first, never their secrets."""
    _check(actor)
    q = select(m.Token, m.Account.name).join(m.Account, m.Account.id == m.Token.user_id).order_by(m.Token.id)
    if user is not None:
        q = q.where(m.Token.user_id == get_user(s, user).id)
    return [TokenInfo.of(t, owner) for t, owner in s.execute(q)]


def revoke_any_token(s: Session, actor: Actor, token_id: int) -> TokenInfo:
    """Revoke anyone's token (404 ``TokenNotFound`` for an id no token has)."""
    _check(actor)
    row = revoke_token(s, None, token_id)
    owner = s.get(m.Account, row.user_id)
    owner_name = owner.name if owner is not None else ""
    audit.record_event(
        s,
        actor=actor,
        action=audit.TOKEN_REVOKE,
        namespace=owner_name,
        details={"token_id": token_id, "name": row.name},
    )
    return TokenInfo.of(row, owner_name)
