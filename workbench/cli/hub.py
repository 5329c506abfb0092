"""``workbench hub ...``: serve, init, fsck, users and tokens, working on the data folder."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from workbench.config import HubSettings, user_config_path
from workbench.errors import NotFound, WorkbenchError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workbench.store import models as m
    from workbench.store.store import Store

app = typer.Typer(no_args_is_help=True)
user_app = typer.Typer(no_args_is_help=True, help="Create and list users.")
token_app = typer.Typer(no_args_is_help=True, help="Create, list and revoke API tokens.")
org_app = typer.Typer(no_args_is_help=True, help="Create organizations and manage members.")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(org_app, name="org")

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Data folder (default: $WORKBENCH_DATA or ~/.local/share/workbench)."),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL of the metadata store (default: SQLite in the data folder)."
    ),
]
StorageOpt = Annotated[
    str | None,
    typer.Option("--storage", help="fsspec URL of the blob store (default: blobs/ in the data folder)."),
]


def settings_from(
    data: Path | None, database_url: str | None, storage: str | None, **extra: object
) -> HubSettings:
    kwargs: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if data is not None:
        kwargs["data_dir"] = data
    elif os.environ.get("WORKBENCH_DATA"):
        kwargs["data_dir"] = Path(os.environ["WORKBENCH_DATA"])
    if database_url:
        kwargs["database_url"] = database_url
    if storage:
        kwargs["storage_url"] = storage
    return HubSettings(**kwargs)  # type: ignore[arg-type]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
    public_url: Annotated[str | None, typer.Option(help="URL clients use to reach the hub.")] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Worker processes serving requests (uvicorn workers; see docs/deploy.md)."),
    ] = 1,
) -> None:
    """Start the hub (FastAPI under uvicorn), in one process or ``--workers`` processes."""
    import uvicorn

    from workbench.hub.app import configure_logging, create_app, workers_of

    settings = settings_from(data, database_url, storage, host=host, port=port, public_url=public_url)
    configure_logging(settings)
    where = f"http://{settings.host}:{settings.port} (data: {Path(settings.data_dir).absolute()})"
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "timeout_keep_alive": 30,
    }
    if workers == 1:
        app_ = create_app(settings)
        typer.echo(f"Workbench hub on {where}", err=True)
        uvicorn.run(app_, **options)
        return
    with workers_of(settings) as factory:
        typer.echo(f"Workbench hub on {where}, {workers} worker processes", err=True)
        uvicorn.run(factory, factory=True, workers=workers, **options)


# -- administration: these work on the data folder / database directly, no hub needed -------

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def _open_store(
    data: Path | None, database_url: str | None, storage: str | None, *, create: bool = False
) -> Iterator[tuple[Store, HubSettings]]:
    """Open the store (migrating it); errors become ``error: ...`` and exit status 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from workbench.store.store import Store

    try:
        settings = settings_from(data, database_url, storage)
    except ValueError as exc:
        raise _fail(f"invalid settings: {exc}") from None
    if not create and not settings.database_url:
        db = Path(settings.data_dir).absolute() / "hub.sqlite"
        if not db.exists():
            raise _fail(
                f"no hub in {db.parent} (no hub.sqlite): pass --data, set WORKBENCH_DATA "
                "or run `workbench hub init` first."
            )
    try:
        store = Store.open(settings)
    except SQLAlchemyError as exc:
        raise _fail(
            f"cannot open the database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from None
    try:
        yield store, settings
    except WorkbenchError as exc:
        raise _fail(exc.message) from None
    except SQLAlchemyError as exc:
        raise _fail(f"database error: {str(exc).splitlines()[0]}") from None
    finally:
        store.close()


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _print_rows(rows: list[dict[str, Any]], columns: list[str], *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("(none)")
        return
    cells = [[("" if r[c] is None else str(r[c])) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _account(s: Session, name: str, kind: str) -> m.Account:
    from workbench.store.accounts import get_account

    account = get_account(s, name)
    if account is None or account.kind != kind:
        what = "organization" if kind == "org" else "user"
        raise NotFound(f"No {what} named {name!r}.", code="AccountNotFound")
    return account


def _default_user(s: Session, settings: HubSettings) -> m.Account:
    """The configured admin user, else the oldest admin."""
    from sqlalchemy import select

    from workbench.store import models as m
    from workbench.store.accounts import get_account

    user = get_account(s, settings.admin_user)
    if user is None or user.kind != "user":
        user = s.scalar(
            select(m.Account)
            .where(m.Account.kind == "user", m.Account.is_admin)
            .order_by(m.Account.id)
            .limit(1)
        )
    if user is None:
        raise NotFound("No admin user: run `workbench hub init` or pass --user.", code="AccountNotFound")
    return user


@app.command()
def init(data: DataOpt = None, database_url: DbOpt = None, storage: StorageOpt = None) -> None:
    """Create the database schema and the admin user of a new hub (safe to run again).

    The admin's token is written to the user config file (mode 0600), or printed once when
    WORKBENCH_WRITE_USER_CONFIG=false.
    """
    from workbench.hub.bootstrap import ensure_admin

    with _open_store(data, database_url, storage, create=True) as (store, settings):
        url = settings.public_url or f"http://{settings.host}:{settings.port}"
        token = ensure_admin(store, settings, url=url)
        from workbench.hub.metric_spaces import ensure_metric_spaces

        if settings.builtin_metrics:
            ensure_metric_spaces(store, settings.admin_user)
        where = Path(settings.data_dir).absolute()
        if token is None:
            typer.echo(f"Hub in {where} is already initialised; nothing to do.")
        elif settings.write_user_config:
            typer.echo(
                f"Initialised a hub in {where} with admin user {settings.admin_user!r}; "
                f"its token was written to {user_config_path()}."
            )
        else:
            typer.echo(
                f"Initialised a hub in {where} with admin user {settings.admin_user!r}. "
                "Its token (shown only now):",
                err=True,
            )
            typer.echo(token)


@app.command("fsck")
def fsck_command(
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
    verify_hashes: Annotated[
        bool,
        typer.Option(
            "--verify-hashes/--no-verify-hashes",
            help="Re-hash every referenced blob (slow on big hubs); without it only sizes are checked.",
        ),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Check that refs, commits, trees and blobs are consistent.

    Exits 0 when the hub is consistent, 1 when problems were found (listed one per line).
    Unreferenced blobs and leftover temporary files are shown as notes; they are harmless.
    """
    from workbench.store.fsck import fsck

    with _open_store(data, database_url, storage) as (store, _settings):
        report = fsck(store, verify_hashes=verify_hashes, progress=not as_json and sys.stderr.isatty())
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        c = report.counts
        typer.echo(
            f"checked {c['repos']} repos, {c['refs']} refs, {c['commits']} commits, "
            f"{c['trees']} trees, {c['blobs']} blobs"
            + (f" ({c['bytes_hashed']} bytes re-hashed)" if verify_hashes else "")
        )
        for note in report.notes:
            typer.echo(f"note: {note.kind}: {note.message}")
        for problem in report.problems:
            typer.echo(f"problem: {problem.kind}: {problem.message}")
        typer.echo("consistent" if report.ok else f"{len(report.problems)} problem(s) found")
    raise typer.Exit(0 if report.ok else 1)


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="User name (also their namespace).")],
    admin: Annotated[bool, typer.Option("--admin", help="Make a hub administrator.")] = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Create a user; give them a token with `workbench hub token create NAME --user USER`."""
    from workbench.store.accounts import create_user

    with _open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        create_user(s, name, admin=admin)
    typer.echo(f"created {'admin ' if admin else ''}user {name!r}")


@user_app.command("list")
def user_list(
    as_json: JsonOpt = False, data: DataOpt = None, database_url: DbOpt = None, storage: StorageOpt = None
) -> None:
    """List users with their organizations."""
    from sqlalchemy import select

    from workbench.store import models as m

    with _open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        orgs: dict[int, list[str]] = {}
        for user_id, org, role in s.execute(
            select(m.Membership.user_id, m.Account.name, m.Membership.role)
            .join(m.Account, m.Account.id == m.Membership.org_id)
            .order_by(m.Account.name)
        ):
            orgs.setdefault(user_id, []).append(f"{org}:{role}")
        rows: list[dict[str, Any]] = [
            {"name": u.name, "admin": u.is_admin, "created": _when(u.created_at), "orgs": orgs.get(u.id, [])}
            for u in s.scalars(select(m.Account).where(m.Account.kind == "user").order_by(m.Account.name))
        ]
    if not as_json:
        rows = [{**r, "orgs": ",".join(r["orgs"])} for r in rows]
    _print_rows(rows, ["name", "admin", "created", "orgs"], as_json=as_json)


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

    with _open_store(data, database_url, storage) as (store, settings), store.write() as s:
        account = _account(s, user, "user") if user else _default_user(s, settings)
        token = create_token(s, account, name, scope=scope)
        owner = account.name
        _audit(s, "token.create", namespace=owner, details={"name": name, "scope": scope})
    typer.echo(f"created {scope} token {name!r} for {owner!r} (shown only now):", err=True)
    typer.echo(token)


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    as_json: JsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """List tokens (id, owner, name, prefix, scope, dates, revoked); never the tokens."""
    from sqlalchemy import select

    from workbench.store import models as m

    with _open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        q = (
            select(m.Token, m.Account.name)
            .join(m.Account, m.Account.id == m.Token.user_id)
            .order_by(m.Token.id)
        )
        if user:
            q = q.where(m.Token.user_id == _account(s, user, "user").id)
        rows = [
            {
                "id": t.id,
                "user": owner,
                "name": t.name,
                "prefix": t.prefix,
                "scope": t.scope,
                "created": _when(t.created_at),
                "last_used": _when(t.last_used_at),
                "revoked": t.revoked,
            }
            for t, owner in s.execute(q)
        ]
    _print_rows(
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

    with _open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        row = s.get(m.Token, token_id)
        if row is None:
            raise NotFound(f"Token {token_id} not found.", code="TokenNotFound")
        owner = s.get(m.Account, row.user_id)
        assert owner is not None
        revoke_token(s, owner, token_id)
        label = f"{row.name!r} of {owner.name!r}"
        _audit(s, "token.revoke", namespace=owner.name, details={"token_id": token_id})
    typer.echo(f"revoked token {token_id} ({label})")


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="Organization name (its namespace).")],
    owner: Annotated[str | None, typer.Option(help="User who becomes its first admin member.")] = None,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Create an organization, optionally with an admin member."""
    from workbench.store.accounts import create_org

    with _open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        create_org(s, name, owner=_account(s, owner, "user") if owner else None)
        _audit(s, "org.create", namespace=name, details={"owner": owner} if owner else None)
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

    with _open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        org_row, user_row = _account(s, org, "org"), _account(s, user, "user")
        before = s.get(m.Membership, (org_row.id, user_row.id))
        old_role = before.role if before is not None else None
        set_membership(s, org_row, user_row, role)
        if old_role is None:
            _audit(s, "member.add", namespace=org, details={"user": user, "role": role})
        elif old_role != role:
            _audit(s, "member.role", namespace=org, details={"user": user, "from": old_role, "to": role})
    typer.echo(f"{user!r} is now a {role} member of {org!r}")


def _audit(
    s: Session, action: str, *, namespace: str | None = None, details: dict[str, Any] | None = None
) -> None:
    """Record a change made from the command line; the actor is the local OS user."""
    import getpass

    from workbench.store.audit import record_event

    record_event(s, actor=f"cli:{getpass.getuser()}", action=action, namespace=namespace, details=details)


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
        raise _fail(f"invalid role {role!r}: use one of {', '.join(ROLES)}.")
    with _open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        org_row, user_row = _account(s, org, "org"), _account(s, user, "user")
        row = s.get(m.Membership, (org_row.id, user_row.id))
        if row is None:
            raise NotFound(
                f"{user!r} is not a member of {org!r}: add them with "
                f"`workbench hub org add-member {org} {user} --role {role}`.",
                code="MemberNotFound",
            )
        if row.role != role:
            _audit(s, "member.role", namespace=org, details={"user": user, "from": row.role, "to": role})
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

    with _open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        org_row, user_row = _account(s, org, "org"), _account(s, user, "user")
        row = s.get(m.Membership, (org_row.id, user_row.id))
        if row is None:
            raise NotFound(f"{user!r} is not a member of {org!r}.", code="MemberNotFound")
        _audit(s, "member.remove", namespace=org, details={"user": user, "role": row.role})
        s.delete(row)
    typer.echo(f"removed {user!r} from {org!r}")


@org_app.command("list")
def org_list(
    as_json: JsonOpt = False, data: DataOpt = None, database_url: DbOpt = None, storage: StorageOpt = None
) -> None:
    """List organizations with their members and roles."""
    from sqlalchemy import select

    from workbench.store import models as m

    with _open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        members: dict[int, list[str]] = {}
        for org_id, user, role in s.execute(
            select(m.Membership.org_id, m.Account.name, m.Membership.role)
            .join(m.Account, m.Account.id == m.Membership.user_id)
            .order_by(m.Account.name)
        ):
            members.setdefault(org_id, []).append(f"{user}:{role}")
        rows: list[dict[str, Any]] = [
            {"name": o.name, "created": _when(o.created_at), "members": members.get(o.id, [])}
            for o in s.scalars(select(m.Account).where(m.Account.kind == "org").order_by(m.Account.name))
        ]
    if not as_json:
        rows = [{**r, "members": ",".join(r["members"])} for r in rows]
    _print_rows(rows, ["name", "created", "members"], as_json=as_json)


@app.command("audit")
def audit_command(
    namespace: Annotated[str | None, typer.Option(help="Only events of this user or org.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. repo.delete, or a group, e.g. repo.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only events by this user.")] = None,
    repo: Annotated[str | None, typer.Option(help="Only events of this repo (ns/name).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many events (newest first).")] = 100,
    as_json: JsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Show the audit log: who created, deleted, moved, changed visibility of or merged into
    repos, changed roles, created or revoked tokens."""
    from workbench.store.accounts import Principal
    from workbench.store.audit import list_events

    with _open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        # the data folder's owner is the hub's administrator
        local_admin = Principal(user_id=0, name="cli", is_admin=True, scope="write")
        events = list_events(
            s, local_admin, namespace=namespace, action=action, actor=actor, repo=repo, limit=limit
        )
    rows: list[dict[str, Any]] = [
        {
            "id": e.id,
            "when": _when(e.created_at),
            "actor": e.actor,
            "action": e.action,
            "target": e.repo or e.namespace,
            "details": e.details if as_json else json.dumps(e.details, sort_keys=True) if e.details else "",
        }
        for e in events
    ]
    _print_rows(rows, ["id", "when", "actor", "action", "target", "details"], as_json=as_json)
