"""``workbench hub user|token|org ...``: accounts, tokens and memberships in the data folder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from workbench.cli.hub_admin import (
    TableJsonOpt,
    audit,
    cli_actor,
    default_user,
    find_account,
    iso_time,
    open_store,
    print_rows,
)
from workbench.cli.options import DataOpt, DbOpt, StorageOpt, fail
from workbench.errors import NotFound

if TYPE_CHECKING:
    from workbench.store.access import TokenLimit

user_app = typer.Typer(no_args_is_help=True, help="Create, list, disable, enable and delete users.")
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
    from workbench.store.users import create_user_as

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        create_user_as(s, cli_actor(), name, admin=admin, fullname=fullname)
    typer.echo(f"created {'admin ' if admin else ''}user {name!r}")


def _set_disabled(name: str, disabled: bool, data: Any, database_url: Any, storage: Any) -> None:
    from workbench.store.users import set_disabled

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        set_disabled(s, cli_actor(), name, disabled)


@user_app.command("disable")
def user_disable(
    name: Annotated[str, typer.Argument(help="User name.")],
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Disable a user: every token of theirs answers 401 AccountDisabled at once (kept, not revoked)."""
    _set_disabled(name, True, data, database_url, storage)
    typer.echo(f"disabled user {name!r}: their tokens answer 401 until `workbench hub user enable {name}`")


@user_app.command("enable")
def user_enable(
    name: Annotated[str, typer.Argument(help="User name.")],
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Enable a disabled user again: their tokens (not revoked, not expired) work again."""
    _set_disabled(name, False, data, database_url, storage)
    typer.echo(f"enabled user {name!r}")


@user_app.command("delete")
def user_delete(
    name: Annotated[str, typer.Argument(help="User name.")],
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Delete a user with their tokens and memberships (refused while they own repos or buckets)."""
    from workbench.store.users import delete_user

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        delete_user(s, cli_actor(), name)
    typer.echo(f"deleted user {name!r}")


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
            {
                "name": u.name,
                "admin": u.is_admin,
                "disabled": u.disabled,
                "created": iso_time(u.created_at),
                "orgs": orgs,
            }
            for u, orgs in accounts_with_memberships(s, "user")
        ]
    if not as_json:
        rows = [{**r, "orgs": ",".join(r["orgs"])} for r in rows]
    print_rows(rows, ["name", "admin", "disabled", "created", "orgs"], as_json=as_json)


def parse_repo_limit(text: str) -> TokenLimit:
    """``[TYPE:]NAMESPACE/NAME`` (TYPE model, the default, dataset or space) as a limit.

    >>> parse_repo_limit("dataset:acme/iris").label()
    'dataset:acme/iris'
    """
    from workbench.store.access import TokenLimit

    kind, _, repo_id = text.rpartition(":")
    namespace, _, name = repo_id.partition("/")
    return TokenLimit.parse({"type": kind or "model", "namespace": namespace, "name": name})


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="A label for the token, e.g. 'laptop' or 'ci'.")],
    user: Annotated[str | None, typer.Option(help="Owner of the token (default: the admin user).")] = None,
    scope: Annotated[str, typer.Option(help="read or write.")] = "write",
    expires_in: Annotated[
        str | None,
        typer.Option(
            "--expires-in", help="It stops working after this long (e.g. 30d, 12h, 90m); default: never."
        ),
    ] = None,
    repo: Annotated[
        list[str] | None,
        typer.Option(
            "--repo",
            help="Limit the token to this repo, [TYPE:]NAMESPACE/NAME (TYPE model, dataset or space); "
            "repeatable. Outside its limits it reads only public repos and writes nothing.",
        ),
    ] = None,
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", help="Limit the token to every repo of this namespace; repeatable."),
    ] = None,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Create a token and print it; it is stored hashed and cannot be shown again."""
    from datetime import timedelta

    from workbench.cli.hub_gc import parse_duration
    from workbench.store.access import TokenLimit
    from workbench.store.orgs import issue_token
    from workbench.store.store import utcnow

    expires = None
    if expires_in is not None:
        seconds = parse_duration(expires_in)
        if seconds <= 0:
            raise typer.BadParameter(f"{expires_in!r} is not a positive duration.", param_hint="--expires-in")
        expires = utcnow() + timedelta(seconds=seconds)
    with open_store(data, database_url, storage) as (store, settings), store.write() as s:
        limits = tuple(parse_repo_limit(r) for r in repo or ()) + tuple(
            TokenLimit.parse({"namespace": ns}) for ns in namespace or ()
        )
        account = find_account(s, user, "user") if user else default_user(s, settings)
        info, token = issue_token(
            s, cli_actor(), account, name, scope=scope, expires_at=expires, limits=limits or None
        )
    what = f"{scope} token {name!r} for {info.user!r}"
    if limits:
        what += " limited to " + ", ".join(lim.label() for lim in limits)
    if expires is not None:
        what += f", expiring {iso_time(expires)}"
    typer.echo(f"created {what} (shown only now):", err=True)
    typer.echo(token)


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    all_users: Annotated[
        bool, typer.Option("--all", help="Every user's tokens (the default without --user).")
    ] = False,
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """List tokens (id, owner, name, prefix, scope, limits, dates, revoked); never the tokens."""
    from workbench.store.users import all_tokens

    if all_users and user:
        raise typer.BadParameter("give --all or --user, not both.", param_hint="--all")
    with open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        rows: list[dict[str, Any]] = [
            {
                "id": t.id,
                "user": t.user,
                "name": t.name,
                "prefix": t.prefix,
                "scope": t.scope,
                "limits": None if t.limits is None else [lim.label() for lim in t.limits],
                "created": iso_time(t.created_at),
                "expires": iso_time(t.expires_at),
                "last_used": iso_time(t.last_used_at),
                "revoked": t.revoked,
            }
            for t in all_tokens(s, cli_actor(), user)
        ]
    if not as_json:
        rows = [{**r, "limits": ",".join(r["limits"] or ["-"])} for r in rows]
    columns = [
        "id",
        "user",
        "name",
        "prefix",
        "scope",
        "limits",
        "created",
        "expires",
        "last_used",
        "revoked",
    ]
    print_rows(rows, columns, as_json=as_json)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="Token id, from `workbench hub token list`.")],
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Revoke anyone's token: requests using it get 401 TokenRevoked from now on."""
    from workbench.store.users import revoke_any_token

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        info = revoke_any_token(s, cli_actor(), token_id)
    typer.echo(f"revoked token {token_id} ({info.name!r} of {info.user!r})")


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
