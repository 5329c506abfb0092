"""``workbench hub backup`` and ``workbench hub restore`` (see ``workbench.store.backup``)."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import typer

from workbench.cli.hub_admin import TableJsonOpt, open_store
from workbench.cli.options import DataOpt, DbOpt, StorageOpt, errors_to_exit, fail, print_json, settings_from


def _size(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB"


@errors_to_exit
def backup_command(
    dest: Annotated[str, typer.Argument(help="Backup folder: a path or a URL such as s3://bucket/backups.")],
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Add a consistent snapshot of the hub to DEST while it serves.

    The database is copied as one snapshot, then every blob DEST does not hold yet (the first
    backup copies all, later ones only what is new). DEST must be empty or a previous backup.
    No GC runs meanwhile (one that starts is refused; a backup is refused while a GC runs).
    """
    from workbench.store.backup import backup

    with open_store(data, database_url, storage) as (store, settings):
        try:
            info = backup(store, settings, dest, progress=not as_json and sys.stderr.isatty())
        except subprocess.CalledProcessError as exc:
            fail(f"pg_dump failed: {exc.stderr.decode(errors='replace').strip()}")
    if as_json:
        print_json(info.to_dict())
        return
    typer.echo(
        f"snapshot {info.id}: {info.database} database, {info.blobs} blobs ({_size(info.bytes)}); "
        f"copied {info.blobs_copied} new blobs ({_size(info.bytes_copied)})"
    )


@errors_to_exit
def restore_command(
    source: Annotated[str, typer.Argument(help="Backup folder written by `workbench hub backup`.")],
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Snapshot id (see --list); default: the newest.")
    ] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the snapshots; restore nothing.")] = False,
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Bring a snapshot back into an empty hub: a new data folder (or an empty PostgreSQL
    database with --database-url) and its storage. Start the hub on it afterwards."""
    from workbench.store.backup import list_snapshots, restore

    if list_only:
        snapshots = list_snapshots(source)
        if as_json:
            print_json(snapshots)
        for s in [] if as_json else snapshots:
            typer.echo(f"{s['id']}  {s['database']:<10}  {s['blobs']:>8} blobs  {_size(s['bytes'])}")
        return
    try:
        settings = settings_from(data, database_url, storage)
    except ValueError as exc:
        fail(f"invalid settings: {exc}")
    try:
        info = restore(source, settings, snapshot=snapshot, progress=not as_json and sys.stderr.isatty())
    except subprocess.CalledProcessError as exc:
        fail(f"pg_restore failed: {exc.stderr.decode(errors='replace').strip()}")
    if as_json:
        print_json(info.to_dict())
        return
    typer.echo(f"restored snapshot {info.id} ({info.blobs} blobs) into {settings.data_dir}")
