"""Backups (issue 25's measure): the first backup of a hub of ``size`` bytes and an
incremental one after a small change, against copying the same files with ``cp -r`` + ``sync``.

The hub's store is seeded in-process: files of ``FILE`` bytes of incompressible content,
committed as LFS files of one repo (so the database names them), plus a few hundred small
commits so the database is not empty. Measured in-process (``workbench.store.backup.backup``,
what ``workbench hub backup DEST`` runs), each followed by ``sync``:

- first backup into an empty folder, against ``cp -r`` of the blob folder (the floor: the
  same bytes read and written once), whose copy is deleted before the backup;
- after one more file of ``FILE`` bytes is committed, a second backup into the same folder
  (only new blobs are copied), against the first.

``run_s3`` does the same with the blobs and the backup folder on moto's S3 server, against a
server-side copy of the same objects, then restores the first snapshot into an empty hub whose
blobs go to another prefix of the same server, against the same copy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.measure import MiB, Result, mb_per_s, s3_hub
from workbench.config import HubSettings

log = logging.getLogger(__name__)

FILE = 64 * MiB
INCREMENTAL_GOAL = 0.1  # of the first backup's time: "copies only what is new"


def _add_files(store, p, first: int, count: int) -> int:  # type: ignore[no-untyped-def]
    """Commit ``count`` files of ``FILE`` random bytes (written straight into the store's
    layout, as a finished upload leaves them); returns the bytes added."""
    from workbench.store.blobs import BlobInfo
    from workbench.store.commits import AddFile, create_commit

    ops = []
    for i in range(first, first + count):
        data = os.urandom(FILE)
        sha = hashlib.sha256(data).hexdigest()
        if store.blobs.local:
            path = Path(store.blobs.key(sha))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        else:
            store.blobs.fs.pipe_file(store.blobs.key(sha), data)
        ops.append(AddFile(f"shards/{i:05d}.bin", BlobInfo(sha, len(data), None), lfs=True))
        if len(ops) == 16:
            create_commit(store, p, ("model", "admin", "big"), "main", ops, summary=f"up to {i}")
            ops = []
    if ops:
        create_commit(store, p, ("model", "admin", "big"), "main", ops, summary="the rest")
    return count * FILE


def _timed_sync(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    os.sync()
    return time.perf_counter() - start


def _seeded(store, size: int) -> tuple[Any, int, int]:  # type: ignore[no-untyped-def]
    """The admin's principal, the files and the bytes of a store seeded with ``size`` bytes."""
    from workbench.store.accounts import create_user, get_account, principal_for
    from workbench.store.repos import create_repo

    with store.write() as s:
        admin = get_account(s, "admin") or create_user(s, "admin", admin=True)
        p = principal_for(s, admin, "write")
        create_repo(store, s, p, "model", "admin", "big")
    t0 = time.perf_counter()
    files = max(1, size // FILE)
    total = _add_files(store, p, 0, files)
    log.info("backup: seeded %d files (%d MiB) in %.1f s", files, total // MiB, time.perf_counter() - t0)
    return p, files, total


def run(work: Path, size: int) -> list[Result]:
    """A local hub backed up into a local folder, first and incremental, against ``cp -r`` of
    the blob folder; then the first snapshot restored into a new data folder, against the same."""
    from workbench.store.backup import backup, restore
    from workbench.store.store import Store

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    settings = HubSettings(data_dir=work / "data", write_user_config=False)
    store = Store.open(settings)
    try:
        p, files, total = _seeded(store, size)
        os.sync()
        blobs = Path(store.blobs.root)
        floor = work / "cp"
        cp_s = _timed_sync(lambda: subprocess.run(["cp", "-r", str(blobs), str(floor)], check=True))
        shutil.rmtree(floor)
        os.sync()
        dest = work / "backup"
        first: list[Any] = []
        first_s = _timed_sync(lambda: first.append(backup(store, settings, str(dest))))
        _add_files(store, p, files, 1)
        second_s = _timed_sync(lambda: backup(store, settings, str(dest)))
        store.close()
        target = HubSettings(data_dir=work / "restored", write_user_config=False)
        restore_s = _timed_sync(lambda: restore(str(dest), target, snapshot=first[0].id))
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    log.info("backup: cp %.1f s, first %.1f s, incremental %.1f s", cp_s, first_s, second_s)
    log.info("backup: restore %.1f s", restore_s)
    floor = (cp_s, "cp -r + sync MB/s")
    restored = _restored("", total, floor, restore_s, "a new data folder")
    return [*_results("", total, files, floor, first_s, second_s), restored]


def _restored(where: str, total: int, floor: tuple[float, str], restore_s: float, into: str) -> Result:
    floor_s, floor_label = floor
    return Result(
        f"restore{where}: first snapshot, {total / 1024**3:.0f} GiB hub",
        mb_per_s(total, restore_s),
        "MB/s",
        mb_per_s(total, floor_s),
        floor_label,
        floor_s / restore_s,
        note=f"{restore_s:.1f} s against {floor_s:.1f} s, into {into}",
    )


def _results(
    where: str, total: int, files: int, floor: tuple[float, str], first_s: float, second_s: float
) -> list[Result]:
    floor_s, floor_label = floor
    gib = total / 1024**3
    return [
        Result(
            f"backup{where}: first, {gib:.0f} GiB hub",
            mb_per_s(total, first_s),
            "MB/s",
            mb_per_s(total, floor_s),
            floor_label,
            floor_s / first_s,
            note=f"{first_s:.1f} s against {floor_s:.1f} s; {files} files of {FILE // MiB} MiB",
        ),
        Result(
            f"backup{where}: incremental, +{FILE // MiB} MiB",
            second_s,
            "s",
            first_s,
            "first backup s",
            second_s / first_s,
            goal=f"<= {INCREMENTAL_GOAL} x the first",
            passed=second_s <= INCREMENTAL_GOAL * first_s,
        ),
    ]


def run_s3(work: Path, size: int) -> list[Result]:
    """The same with the hub's blobs and the backup folder on moto's S3 server (one bucket:
    ``blobs/`` and ``backups/``), against a server-side copy of the same objects with s3fs
    (``CopyObject``, concurrent: what ``aws s3 cp --recursive`` does between two prefixes);
    then a restore of the first snapshot into a new data folder and ``restored/``."""
    from workbench.store.backup import backup, restore
    from workbench.store.store import Store

    with s3_hub(work, "wb-bench-backup") as (bucket, settings):
        store = Store.open(settings)
        try:
            p, files, total = _seeded(store, size)
            fs = store.blobs.fs
            keys = sorted(fs.find(store.blobs.root))
            t0 = time.perf_counter()
            fs.copy(keys, [f"{bucket.name}/floor/{k.rsplit('/', 1)[-1]}" for k in keys])
            copy_s = time.perf_counter() - t0
            fs.rm(f"{bucket.name}/floor", recursive=True)
            dest = f"s3://{bucket.name}/backups"
            t0 = time.perf_counter()
            first = backup(store, settings, dest)
            first_s = time.perf_counter() - t0
            _add_files(store, p, files, 1)
            t0 = time.perf_counter()
            backup(store, settings, dest)
            second_s = time.perf_counter() - t0
        finally:
            store.close()
        target = HubSettings(
            data_dir=work / "restored", storage_url=f"s3://{bucket.name}/restored", write_user_config=False
        )
        t0 = time.perf_counter()
        restore(dest, target, snapshot=first.id)
        restore_s = time.perf_counter() - t0
    log.info(
        "backup (S3): copy %.1f s, first %.1f s, incremental %.1f s, restore %.1f s",
        copy_s,
        first_s,
        second_s,
        restore_s,
    )
    floor = (copy_s, "s3fs server-side copy MB/s")
    return [
        *_results(" on S3", total, files, floor, first_s, second_s),
        _restored(" out of S3", total, floor, restore_s, "another prefix of the same server"),
    ]
