"""``workbench hub user|token|org ...``: accounts, tokens and memberships in the data folder."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from workbench.cli.hub_admin import (
    TableJsonOpt,
    audit,
    default_user,
    find_account,
    iso_time,
    open_store,
    print_rows,
)
from workbench.cli.options import DataOpt, DbOpt, StorageOpt, fail
from workbench.errors import NotFound

user_app = typer.Typer(no_args_is_help=True, help="Create and list users.")
token_app = typer.Typer(no_args_is_help=True, help="Create, list and revoke API tokens.")
org_app = typer.Typer(no_args_is_help=True, help="Create organizations and manage members.")


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="User name (also their namespace).")],
    admin: Annotated[bool, typer.Option("--admin", help="Make a hub administrator.")] = False,
    fullname: Annotated[str, typer.Option(help="Their full name, as whoami shows it (default: NAME).")] = "",
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Create a user; give them a token with `workbench hub token create NAME --user USER`."""
    from workbench.store.accounts import create_user

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        create_user(s, name, admin=admin, fullname=fullname)
    typer.echo(f"created {'admin ' if admin else ''}user {name!r}")


@user_app.command("list")
def user_list(
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """List users with their organizations."""
    from workbench.store.orgs import accounts_with_memberships

    with open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        rows: list[dict[str, Any]] = [
            {"name": u.name, "admin": u.is_admin, "created": iso_time(u.created_at), "orgs": orgs}
            for u, orgs in accounts_with_memberships(s, "user")
        ]
    if not as_json:
        rows = [{**r, "orgs": ",".join(r["orgs"])} for r in rows]
    print_rows(rows, ["name", "admin", "created", "orgs"], as_json=as_json)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="A label for the token, e.g. 'laptop' or 'ci'.")],
    user: Annotated[str | None, typer.Option(help="Owner of the token (default: the admin user).")] = None,
    scope: Annotated[str, typer.Option(help="read or write.")] = "write",
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Create a token and print it; it is stored hashed and cannot be shown again."""
    from workbench.store.accounts import create_token

    with open_store(data, database_url, storage) as (store, settings), store.write() as s:
        account = find_account(s, user, "user") if user else default_user(s, settings)
        token = create_token(s, account, name, scope=scope)
        owner = account.name
        audit(s, "token.create", namespace=owner, details={"name": name, "scope": scope})
    typer.echo(f"created {scope} token {name!r} for {owner!r} (shown only now):", err=True)
    typer.echo(token)


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """List tokens (id, owner, name, prefix, scope, dates, revoked); never the tokens."""
    from sqlalchemy import select

    from workbench.store import models as m

    with open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        q = (
            select(m.Token, m.Account.name)
            .join(m.Account, m.Account.id == m.Token.user_id)
            .order_by(m.Token.id)
        )
        if user:
            q = q.where(m.Token.user_id == find_account(s, user, "user").id)
        rows = [
            {
                "id": t.id,
                "user": owner,
                "name": t.name,
                "prefix": t.prefix,
                "scope": t.scope,
                "created": iso_time(t.created_at),
                "last_used": iso_time(t.last_used_at),
                "revoked": t.revoked,
            }
            for t, owner in s.execute(q)
        ]
    print_rows(
        rows, ["id", "user", "name", "prefix", "scope", "created", "last_used", "revoked"], as_json=as_json
    )


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="Token id, from `workbench hub token list`.")],
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Revoke a token: requests using it get 401 from now on."""
    from workbench.store import models as m
    from workbench.store.accounts import revoke_token

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        row = s.get(m.Token, token_id)
        if row is None:
            raise NotFound(f"Token {token_id} not found.", code="TokenNotFound")
        owner = s.get(m.Account, row.user_id)
        assert owner is not None
        revoke_token(s, owner, token_id)
        label = f"{row.name!r} of {owner.name!r}"
        audit(s, "token.revoke", namespace=owner.name, details={"token_id": token_id})
    typer.echo(f"revoked token {token_id} ({label})")


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="Organization name (its namespace).")],
    owner: Annotated[str | None, typer.Option(help="User who becomes its first admin member.")] = None,
    fullname: Annotated[str, typer.Option(help="Its full name (default: NAME).")] = "",
    private_by_default: Annotated[
        bool, typer.Option("--private-by-default", help="New repos are private unless created public.")
    ] = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Create an organization, optionally with an admin member."""
    from workbench.store.accounts import create_org

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        org = create_org(s, name, owner=find_account(s, owner, "user") if owner else None, fullname=fullname)
        org.private_by_default = private_by_default
        audit(s, "org.create", namespace=name, details={"owner": owner} if owner else None)
    typer.echo(f"created organization {name!r}" + (f" owned by {owner!r}" if owner else ""))


@org_app.command("add-member")
def org_add_member(
    org: Annotated[str, typer.Argument(help="Organization name.")],
    user: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="read, write or admin.")] = "read",
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Add a user to an organization, or change their role there."""
    from workbench.store import models as m
    from workbench.store.accounts import set_membership

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        org_row, user_row = find_account(s, org, "org"), find_account(s, user, "user")
        before = s.get(m.Membership, (org_row.id, user_row.id))
        old_role = before.role if before is not None else None
        set_membership(s, org_row, user_row, role)
        if old_role is None:
            audit(s, "member.add", namespace=org, details={"user": user, "role": role})
        elif old_role != role:
            audit(s, "member.role", namespace=org, details={"user": user, "from": old_role, "to": role})
    typer.echo(f"{user!r} is now a {role} member of {org!r}")


@org_app.command("set-role")
def org_set_role(
    org: Annotated[str, typer.Argument(help="Organization name.")],
    user: Annotated[str, typer.Argument(help="User name (already a member).")],
    role: Annotated[str, typer.Argument(help="read, write or admin.")],
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Change a member's role (read, write or admin)."""
    from workbench.store import models as m
    from workbench.store.accounts import ROLES

    if role not in ROLES:
        fail(f"invalid role {role!r}: use one of {', '.join(ROLES)}.")
    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        org_row, user_row = find_account(s, org, "org"), find_account(s, user, "user")
        row = s.get(m.Membership, (org_row.id, user_row.id))
        if row is None:
            raise NotFound(
                f"{user!r} is not a member of {org!r}: add them with "
                f"`workbench hub org add-member {org} {user} --role {role}`.",
                code="MemberNotFound",
            )
        if row.role != role:
            audit(s, "member.role", namespace=org, details={"user": user, "from": row.role, "to": role})
            row.role = role
    typer.echo(f"{user!r} is now a {role} member of {org!r}")


@org_app.command("remove-member")
def org_remove_member(
    org: Annotated[str, typer.Argument(help="Organization name.")],
    user: Annotated[str, typer.Argument(help="User name.")],
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Remove a user from an organization (they lose access to its private repos)."""
    from workbench.store import models as m

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        org_row, user_row = find_account(s, org, "org"), find_account(s, user, "user")
        row = s.get(m.Membership, (org_row.id, user_row.id))
        if row is None:
            raise NotFound(f"{user!r} is not a member of {org!r}.", code="MemberNotFound")
        audit(s, "member.remove", namespace=org, details={"user": user, "role": row.role})
        s.delete(row)
    typer.echo(f"removed {user!r} from {org!r}")


@org_app.command("list")
def org_list(
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """List organizations with their members and roles."""
    from workbench.store.orgs import accounts_with_memberships

    with open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        rows: list[dict[str, Any]] = [
            {"name": o.name, "created": iso_time(o.created_at), "members": members}
            for o, members in accounts_with_memberships(s, "org")
        ]
    if not as_json:
        rows = [{**r, "members": ",".join(r["members"])} for r in rows]
    print_rows(rows, ["name", "created", "members"], as_json=as_json)
