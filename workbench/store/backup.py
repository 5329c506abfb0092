"""Backups of a hub while it serves: a database snapshot and the blobs, incremental.

A backup folder (a local path or any fsspec URL, such as ``s3://bucket/backups``) holds:

- ``backup.json``: what it is and the snapshots it holds, newest last;
- ``blobs/``: every blob, in the blob store's own layout, copied once: a later backup copies
  only blobs the folder does not hold yet (blobs never change, so a name and a size say it);
- ``snapshots/<id>/``: the database at one moment (``database.sqlite``, from SQLite's online
  backup, or ``database.pgdump``, from ``pg_dump``'s custom format), the list of blobs it
  needs (``manifest.json``) and the hub's signing key (``secret.key``), when it has one.

Consistency: the database is copied first, as one snapshot (SQLite's backup API, or
``pg_dump``, which reads in one transaction); every blob a row names was written before the
row, so it is in the store when the blobs are listed afterwards. Garbage collection is the only
thing that removes blobs, so a backup holds the GC lock while it runs (a GC started meanwhile
is refused, and a backup waits for no GC: it is refused while one runs).

Blobs go several at a time, and server-side when both sides are one S3 endpoint used with the
same keys (:mod:`workbench.store.blob_copy`); every blob is complete before the snapshot that
names it is written, and the snapshot before the index that lists it.

Restoring reverses it into an empty data folder (or an empty PostgreSQL database) and any
storage; the restored hub passes ``workbench hub fsck``.

>>> info = backup(store, settings, "/mnt/backups/hub", progress=False)   # doctest: +SKIP
>>> restore("/mnt/backups/hub", target_settings, progress=False)         # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from workbench.config import HubSettings
from workbench.errors import Conflict, InvalidRequest
from workbench.store.blob_copy import BlobCopy, copy_blobs
from workbench.store.blobs import BlobStore, list_blobs
from workbench.store.gc import GcLock
from workbench.store.store import Store

FORMAT = "workbench-backup"
VERSION = 1


@dataclass
class SnapshotInfo:
    id: str
    created: str
    database: str  # "sqlite" or "postgresql"
    blobs: int  # blobs the snapshot needs
    bytes: int
    blobs_copied: int  # by this backup; the others were in the folder already
    bytes_copied: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Folder:
    """A backup folder on any fsspec file system."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.root = self.root.rstrip("/")

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def read_index(self) -> dict[str, Any] | None:
        try:
            with self.fs.open(self.path("backup.json"), "rb") as f:
                data: dict[str, Any] = json.load(f)
        except FileNotFoundError:
            return None
        if data.get("format") != FORMAT:
            raise InvalidRequest(
                f"{self.url}/backup.json is not a Workbench backup index.", code="NotABackup"
            )
        return data

    def is_empty(self) -> bool:
        try:
            return not self.fs.ls(self.root)
        except FileNotFoundError:
            return True

    def write_json(self, name: str, value: Any) -> None:
        self.fs.makedirs(self.root, exist_ok=True)
        with self.fs.open(self.path(name), "w") as f:
            json.dump(value, f, indent=1)

    def put(self, local: Path, *parts: str) -> None:
        self.fs.makedirs(self.path(*parts[:-1]), exist_ok=True)
        self.fs.put_file(str(local), self.path(*parts))

    def get(self, local: Path, *parts: str) -> None:
        self.fs.get_file(self.path(*parts), str(local))

    def exists(self, *parts: str) -> bool:
        return bool(self.fs.exists(self.path(*parts)))


def _blob_parts(sha256: str) -> tuple[str, ...]:
    return ("blobs", sha256[:2], sha256[2:4], sha256)


def _sizes(fs: Any, root: str) -> dict[str, int]:
    """The size of every blob under ``root``, from one listing (:func:`list_blobs`)."""
    return {sha: int(info.get("size") or 0) for sha, info in list_blobs(fs, root)}


@contextmanager
def _no_gc(store: Store) -> Iterator[GcLock]:
    """Hold the GC lock (renewed by the caller's heartbeats): no blob disappears meanwhile."""
    lock = GcLock(store)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


def _pg_url(url: str) -> str:
    """libpq's form of a SQLAlchemy PostgreSQL URL (no ``+driver``)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _dump_database(settings: HubSettings, dest: Path) -> str:
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        source = sqlite3.connect(make_url(url).database or "")
        target = sqlite3.connect(dest / "database.sqlite")
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return "sqlite"
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dest / 'database.pgdump'}", _pg_url(url)],
        check=True,
        capture_output=True,
    )
    return "postgresql"


def _snapshot_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def backup(store: Store, settings: HubSettings, dest: str, *, progress: bool = False) -> SnapshotInfo:
    """Add a snapshot of the hub to the backup folder ``dest``; see the module docstring.

    A folder that is neither empty nor a Workbench backup is refused (``NotABackup``).
    """
    folder = _Folder(dest)
    index = folder.read_index()
    if index is None and not folder.is_empty():
        raise Conflict(
            f"{dest} is not empty and holds no Workbench backup: back up into an empty folder or a "
            "previous backup.",
            code="DestinationNotEmpty",
        )
    index = index or {"format": FORMAT, "version": VERSION, "snapshots": []}
    now = datetime.now(UTC)
    snap = _snapshot_id(now)
    with _no_gc(store) as lock, tempfile.TemporaryDirectory(prefix="backup-", dir=store.blobs.tmp_dir) as tmp:
        work = Path(tmp)
        kind = _dump_database(settings, work)
        held = _sizes(folder.fs, folder.path("blobs"))
        needed = _sizes(store.blobs.fs, store.blobs.root)
        missing = [
            BlobCopy(store.blobs.key(sha), folder.path(*_blob_parts(sha)), size)
            for sha, size in needed.items()
            if held.get(sha) != size
        ]
        copy_blobs(
            store.blobs.fs,
            folder.fs,
            missing,
            total=len(needed),
            progress=progress,
            tick=lock.heartbeat,
            stopped="The backup stopped and added no snapshot; the blobs it copied are kept, and the next "
            "backup skips them.",
        )
        copied, copied_bytes = len(missing), sum(c.size for c in missing)
        (work / "manifest.json").write_text(json.dumps({"blobs": needed}, indent=0))
        secret = Path(settings.data_dir) / "secret.key"
        if secret.exists():
            shutil.copyfile(secret, work / "secret.key")
        for item in sorted(work.iterdir()):
            folder.put(item, "snapshots", snap, item.name)
    info = SnapshotInfo(
        id=snap,
        created=now.isoformat(timespec="seconds"),
        database=kind,
        blobs=len(needed),
        bytes=sum(needed.values()),
        blobs_copied=copied,
        bytes_copied=copied_bytes,
    )
    index["snapshots"].append(info.to_dict())
    folder.write_json("backup.json", index)  # last: a snapshot is listed only once complete
    return info


def list_snapshots(source: str) -> list[dict[str, Any]]:
    index = _Folder(source).read_index()
    if index is None:
        raise InvalidRequest(f"{source} holds no Workbench backup (no backup.json).", code="NotABackup")
    return list(index["snapshots"])


def _target_is_empty(settings: HubSettings) -> bool:
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        return not Path(make_url(url).database or "").exists()
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(
    source: str, settings: HubSettings, *, snapshot: str | None = None, progress: bool = False
) -> SnapshotInfo:
    """Bring a snapshot (the newest by default) back into the empty hub ``settings`` names."""
    folder = _Folder(source)
    snapshots = list_snapshots(source)
    if not snapshots:
        raise InvalidRequest(f"{source} holds no snapshot yet.", code="NotABackup")
    chosen = next((s for s in snapshots if s["id"] == snapshot), None) if snapshot else snapshots[-1]
    if chosen is None:
        raise InvalidRequest(
            f"No snapshot {snapshot!r} in {source}; it holds {', '.join(s['id'] for s in snapshots)}.",
            code="NotABackup",
        )
    if not _target_is_empty(settings):
        raise Conflict(
            "The target hub's database is not empty: restore into a new data folder or an empty database.",
            code="TargetNotEmpty",
        )
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    blobs = BlobStore.for_hub(settings, bounded=False)
    with tempfile.TemporaryDirectory(prefix="restore-", dir=data_dir / "tmp") as tmp:
        work = Path(tmp)
        snap = chosen["id"]
        folder.get(work / "manifest.json", "snapshots", snap, "manifest.json")
        needed: dict[str, int] = json.loads((work / "manifest.json").read_text())["blobs"]
        present = _sizes(blobs.fs, blobs.root)
        missing = [
            BlobCopy(folder.path(*_blob_parts(sha)), blobs.key(sha), size)
            for sha, size in sorted(needed.items())
            if present.get(sha) != size
        ]
        copy_blobs(
            folder.fs,
            blobs.fs,
            missing,
            total=len(needed),
            progress=progress,
            stopped="The restore stopped before the database: run it again into the same target "
            "(the blobs it copied are skipped).",
        )
        if folder.exists("snapshots", snap, "secret.key") and not settings.secret_key:
            folder.get(data_dir / "secret.key", "snapshots", snap, "secret.key")
            os.chmod(data_dir / "secret.key", 0o600)
        url = settings.resolved_database_url()
        if chosen["database"] == "sqlite":
            if not url.startswith("sqlite"):
                raise InvalidRequest("This snapshot holds a SQLite database: restore it into a data folder.")
            folder.get(work / "database.sqlite", "snapshots", snap, "database.sqlite")
            shutil.move(work / "database.sqlite", make_url(url).database or "")
        else:
            if url.startswith("sqlite"):
                raise InvalidRequest(
                    "This snapshot holds a PostgreSQL database: restore it with --database-url."
                )
            folder.get(work / "database.pgdump", "snapshots", snap, "database.pgdump")
            subprocess.run(
                ["pg_restore", "--no-owner", f"--dbname={_pg_url(url)}", str(work / "database.pgdump")],
                check=True,
                capture_output=True,
            )
    return SnapshotInfo(**chosen)
