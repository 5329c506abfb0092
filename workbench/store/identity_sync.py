"""Users and organization memberships decided by an outside identity provider (JupyterHub).

An outside user becomes a Workbench user of the same name on first sight (through
:func:`~workbench.store.accounts.create_user`), and at each sign-in their groups decide their
role in the organizations the group mapping names: the highest role any of their groups
gives, and no membership where none does. Memberships in organizations the mapping does not
name are never touched. Every change is recorded in the audit log with the actor ``jupyterhub``.

>>> mapping = parse_group_roles("ml-team=acme:write,leads=acme:admin")   # doctest: +SKIP
>>> with store.write() as s:                                             # doctest: +SKIP
...     user = sync_user(s, "alice", groups=["ml-team"], group_roles=mapping)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from workbench.errors import AuthenticationError, InvalidRequest
from workbench.names import validate_namespace
from workbench.store import audit
from workbench.store import models as m
from workbench.store.access import Principal
from workbench.store.accounts import ROLES, create_org, create_user, get_account, require_enabled

ACTOR = "jupyterhub"
_RANK = {role: i for i, role in enumerate(ROLES)}

#: group name -> ((org, role), ...)
GroupRoles = Mapping[str, tuple[tuple[str, str], ...]]


def parse_group_roles(text: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """``"ml-team=acme:write,leads=acme:admin"`` → ``{"ml-team": (("acme", "write"),), ...}``;
    a group may be named several times (one org each). Raises ``InvalidRequest`` on a malformed
    entry, an org name that is not a valid namespace, or an unknown role.

    >>> parse_group_roles("ml-team=acme:write, leads=acme:admin")
    {'ml-team': (('acme', 'write'),), 'leads': (('acme', 'admin'),)}
    """
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        group, _, target = entry.partition("=")
        org, _, role = target.partition(":")
        group, org, role = group.strip(), org.strip(), role.strip()
        if not group or not org or role not in ROLES:
            raise InvalidRequest(
                f"Invalid group mapping {entry!r}: expected GROUP=ORG:ROLE with a role among "
                f"{', '.join(ROLES)}.",
                code="InvalidSetting",
            )
        validate_namespace(org)
        out[group] = (*out.get(group, ()), (org, role))
    return out


def roles_for(groups: Iterable[str], group_roles: GroupRoles) -> dict[str, str]:
    """The role in each mapped org that ``groups`` give (the highest of several).

    >>> roles_for(["a", "b"], {"a": (("acme", "read"),), "b": (("acme", "admin"),)})
    {'acme': 'admin'}
    """
    out: dict[str, str] = {}
    for group in groups:
        for org, role in group_roles.get(group, ()):
            if _RANK[role] > _RANK.get(out.get(org, ""), -1):
                out[org] = role
    return out


def sync_user(
    s: Session,
    name: str,
    *,
    groups: Iterable[str] = (),
    group_roles: GroupRoles | None = None,
    admin: bool | None = None,
) -> m.Account:
    """Make the outside user ``name`` a Workbench user (on first sight) and bring their
    memberships of the mapped orgs, and with ``admin`` not None their hub-admin flag, in line.

    A name that is not a valid Workbench namespace, or that an organization holds, is refused
    with 401 ``ExternalUserRefused``: nobody may sign in as an organization.
    """
    try:
        validate_namespace(name)
    except InvalidRequest as exc:
        raise AuthenticationError(
            f"JupyterHub user {name!r} has no valid Workbench name: {exc}", code="ExternalUserRefused"
        ) from None
    user = get_account(s, name)
    if user is None:
        user = create_user(s, name, admin=bool(admin))
        audit.record_event(
            s, actor=ACTOR, action="user.create", namespace=name, details={"admin": user.is_admin}
        )
    elif user.kind != "user":
        raise AuthenticationError(
            f"JupyterHub user {name!r} has the name of an organization of this hub; rename one of them.",
            code="ExternalUserRefused",
        )
    elif admin is not None and user.is_admin != admin:
        user.is_admin = admin
        audit.record_event(s, actor=ACTOR, action="user.admin", namespace=name, details={"admin": admin})
    if group_roles:
        _sync_memberships(
            s, user, roles_for(groups, group_roles), {o for v in group_roles.values() for o, _ in v}
        )
    s.flush()
    return user


def _sync_memberships(s: Session, user: m.Account, wanted: dict[str, str], managed: set[str]) -> None:
    orgs = {o.name: o for o in s.scalars(select(m.Account).where(m.Account.name.in_(managed)))}
    current = {
        org_name: row
        for row, org_name in s.execute(
            select(m.Membership, m.Account.name)
            .join(m.Account, m.Account.id == m.Membership.org_id)
            .where(m.Membership.user_id == user.id, m.Account.name.in_(managed))
        )
    }
    for org_name in sorted(managed):
        role, row = wanted.get(org_name), current.get(org_name)
        details: dict[str, object] = {"user": user.name}
        if role is None and row is not None:
            s.delete(row)
            audit.record_event(
                s,
                actor=ACTOR,
                action=audit.MEMBER_REMOVE,
                namespace=org_name,
                details={**details, "role": row.role},
            )
        elif role is not None and row is None:
            org = orgs.get(org_name)
            if org is None:
                org = orgs[org_name] = create_org(s, org_name)
                audit.record_event(s, actor=ACTOR, action=audit.ORG_CREATE, namespace=org_name)
            elif org.kind != "org":
                continue  # a user's namespace is no org; the mapping cannot make members there
            s.add(m.Membership(org_id=org.id, user_id=user.id, role=role))
            audit.record_event(
                s, actor=ACTOR, action=audit.MEMBER_ADD, namespace=org_name, details={**details, "role": role}
            )
        elif role is not None and row is not None and row.role != role:
            audit.record_event(
                s,
                actor=ACTOR,
                action=audit.MEMBER_ROLE,
                namespace=org_name,
                details={**details, "from": row.role, "to": role},
            )
            row.role = role


@functools.cache
def _user_rows() -> Any:  # a Select, built once (see accounts._token_rows)
    U, M, Org = m.Account, m.Membership, aliased(m.Account)  # noqa: N806
    return (
        select(U.id, U.name, U.is_admin, U.disabled, M.org_id, M.role, Org.name.label("org_name"))
        .outerjoin(M, M.user_id == U.id)
        .outerjoin(Org, Org.id == M.org_id)
        .where(U.name == bindparam("name"), U.kind == "user")
    )


def principal_of(s: Session, name: str, scope: str) -> Principal | None:
    """The principal of the user ``name`` with ``scope`` (None: no such user), in one
    statement, as every request with an outside token needs it.

    >>> principal_of(s, "alice", "write").org_names          # doctest: +SKIP
    {'acme': 'write'}
    """
    rows = s.execute(_user_rows(), {"name": name}).all()
    if not rows:
        return None
    require_enabled(rows[0].name, rows[0].disabled)
    orgs = [r for r in rows if r.org_id is not None]
    return Principal(
        user_id=rows[0].id,
        name=rows[0].name,
        is_admin=rows[0].is_admin,
        scope=scope,
        orgs={r.org_id: r.role for r in orgs},
        org_names={r.org_name: r.role for r in orgs},
    )
