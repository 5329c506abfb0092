"""``workbench hub ...``: serve, init, fsck and the audit log, working on the data folder.

Users, tokens and organizations are in ``workbench.cli.hub_accounts``; ``gc`` in
``workbench.cli.hub_gc``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.hub_accounts import org_app, token_app, user_app
from workbench.cli.hub_admin import TableJsonOpt, iso_time, open_store, print_rows
from workbench.cli.hub_backup import backup_command, restore_command
from workbench.cli.hub_gc import gc_command
from workbench.cli.hub_runners import runner_app
from workbench.cli.hub_usage import quota_app, usage_command
from workbench.cli.hub_xet import xet_migrate_command
from workbench.cli.options import DataOpt, DbOpt, StorageOpt, fail, settings_from
from workbench.config import HubSettings, user_config_path

app = typer.Typer(no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(org_app, name="org")
app.command("gc")(gc_command)
app.command("xet-migrate")(xet_migrate_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.command("usage")(usage_command)
app.add_typer(quota_app, name="quota")
app.add_typer(runner_app, name="runner")


def check_storage(settings: HubSettings) -> None:
    """Exit with a message naming ``storage_url`` when the blob store cannot be written (no
    such bucket, credentials refused, s3fs missing), before anything is served."""
    from workbench.store.blobs import BlobStore

    url = settings.resolved_storage_url()
    try:
        BlobStore.for_hub(settings).check()
    except Exception as exc:  # whatever the file system raises (botocore's own errors too)
        hints = {
            FileNotFoundError: "the bucket does not exist",
            PermissionError: "access denied; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ImportError: "install the `s3` extra (s3fs)",
        }
        hint = next((h for cls, h in hints.items() if isinstance(exc, cls)), type(exc).__name__)
        fail(f"storage_url {url!r} (WORKBENCH_STORAGE_URL, --storage) is not usable: {hint}: {exc}")


def check_jupyterhub(settings: HubSettings) -> None:
    """Exit with a message when the JupyterHub settings cannot work (a malformed group
    mapping, no service token, jupyterhub not installed), before anything is served."""
    from workbench.hub.jupyterhub_auth import JupyterHubAuth

    try:
        JupyterHubAuth.from_settings(settings)
    except ValueError as exc:
        fail(f"the JupyterHub settings (WORKBENCH_JUPYTERHUB_*) are not usable: {exc}")


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
    check_storage(settings)
    check_jupyterhub(settings)
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


@app.command()
def init(data: DataOpt = None, database_url: DbOpt = None, storage: StorageOpt = None) -> None:
    """Create the database schema and the admin user of a new hub (safe to run again).

    The admin's token is written to the user config file (mode 0600), or printed once when
    WORKBENCH_WRITE_USER_CONFIG=false.
    """
    from workbench.hub.bootstrap import ensure_admin

    with open_store(data, database_url, storage, create=True) as (store, settings):
        check_storage(settings)  # before the metric spaces are written to it
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
    as_json: TableJsonOpt = False,
) -> None:
    """Check that refs, commits, trees and blobs are consistent.

    Exits 0 when the hub is consistent, 1 when problems were found (listed one per line).
    Unreferenced blobs and leftover temporary files are shown as notes; they are harmless.
    """
    from workbench.store.fsck import fsck

    with open_store(data, database_url, storage) as (store, _settings):
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


@app.command("audit")
def audit_command(
    namespace: Annotated[str | None, typer.Option(help="Only events of this user or org.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. repo.delete, or a group, e.g. repo.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only events by this user.")] = None,
    repo: Annotated[str | None, typer.Option(help="Only events of this repo (ns/name).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many events (newest first).")] = 100,
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Show the audit log: who created, deleted, moved, changed visibility of or merged into
    repos, changed roles, created or revoked tokens."""
    from workbench.store.accounts import Principal
    from workbench.store.audit import list_events

    with open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        # the data folder's owner is the hub's administrator
        local_admin = Principal(user_id=0, name="cli", is_admin=True, scope="write")
        events = list_events(
            s, local_admin, namespace=namespace, action=action, actor=actor, repo=repo, limit=limit
        )
    rows: list[dict[str, Any]] = [
        {
            "id": e.id,
            "when": iso_time(e.created_at),
            "actor": e.actor,
            "action": e.action,
            "target": e.repo or e.namespace,
            "details": e.details if as_json else json.dumps(e.details, sort_keys=True) if e.details else "",
        }
        for e in events
    ]
    print_rows(rows, ["id", "when", "actor", "action", "target", "details"], as_json=as_json)
