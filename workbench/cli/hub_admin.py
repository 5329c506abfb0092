"""What the ``workbench hub`` administration commands share: they work on the data folder.

The store opened from the data-folder options, accounts looked up by name, the audit record of
a change made from the command line, and tables or JSON on stdout.

>>> with open_store(data, None, None) as (store, settings), store.read() as s:  # doctest: +SKIP
...     print_rows([{"name": find_account(s, "alice", "user").name}], ["name"], as_json=False)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from workbench.cli.options import fail, settings_from
from workbench.config import HubSettings
from workbench.errors import NotFound, WorkbenchError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workbench.store import models as m
    from workbench.store.store import Store

TableJsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@contextmanager
def open_store(
    data: Path | None, database_url: str | None, storage: str | None, *, create: bool = False
) -> Iterator[tuple[Store, HubSettings]]:
    """Open the store (migrating it); errors become ``error: ...`` and exit status 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from workbench.store.store import Store

    try:
        settings = settings_from(data, database_url, storage)
    except ValueError as exc:
        fail(f"invalid settings: {exc}")
    if not create and not settings.database_url:
        db = Path(settings.data_dir).absolute() / "hub.sqlite"
        if not db.exists():
            fail(
                f"no hub in {db.parent} (no hub.sqlite): pass --data, set WORKBENCH_DATA "
                "or run `workbench hub init` first."
            )
    try:
        store = Store.open(settings)
    except SQLAlchemyError as exc:
        fail(f"cannot open the database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    try:
        yield store, settings
    except WorkbenchError as exc:
        fail(exc.message)
    except SQLAlchemyError as exc:
        fail(f"database error: {str(exc).splitlines()[0]}")
    finally:
        store.close()


def iso_time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def print_rows(rows: list[dict[str, Any]], columns: list[str], *, as_json: bool) -> None:
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


def find_account(s: Session, name: str, kind: str) -> m.Account:
    from workbench.store.accounts import get_account

    account = get_account(s, name)
    if account is None or account.kind != kind:
        what = "organization" if kind == "org" else "user"
        raise NotFound(f"No {what} named {name!r}.", code="AccountNotFound")
    return account


def default_user(s: Session, settings: HubSettings) -> m.Account:
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


def cli_actor() -> str:
    """Who the audit log names for a change made from the command line: the local OS user."""
    import getpass

    return f"cli:{getpass.getuser()}"


def audit(
    s: Session, action: str, *, namespace: str | None = None, details: dict[str, Any] | None = None
) -> None:
    """Record a change made from the command line; the actor is the local OS user."""
    from workbench.store.audit import record_event

    record_event(s, actor=cli_actor(), action=action, namespace=namespace, details=details)
