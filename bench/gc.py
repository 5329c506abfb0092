"""GC: time to sweep 100k blobs (issue 25's measure), against the floor of deleting the files.

A store with ``BLOBS`` blobs of 1 KiB: half are files of a live repo (``COMMITS`` commits
adding ``BLOBS / 2 / COMMITS`` files each, so the mark parses as many trees), half belonged
to a repo that was deleted (rows in ``blobs``, files older than the grace period). Measured:

- ``hub gc --dry-run``: mark and scan, against ``hub fsck --no-verify-hashes`` on the same
  store (the same tree walk and blob listing, the floor of a mark);
- ``hub gc --grace 0``: mark, then sweep the dead half, against a plain ``os.unlink`` of as
  many files of the same size on the same disk (the floor of a sweep).

Both in-process (``workbench.store.gc.collect``), so start-up is not counted. ``run_s3``
measures the same on moto's S3 server, with ``S3_BLOBS`` blobs (grace 0: objects cannot be
backdated), against a bulk delete of as many objects.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from bench.measure import Result, s3_hub
from workbench.config import HubSettings

log = logging.getLogger(__name__)

BLOBS = 100_000
S3_BLOBS = 10_000  # moto's server answers each call slowly: a size that runs in minutes
COMMITS = 50
SIZE = 1024


# fsck s, dry run s, sweep s, the sweep's report
Times = tuple[float, float, float, Any]


def _blob(i: int) -> tuple[str, bytes]:
    data = i.to_bytes(8, "little") * (SIZE // 8)
    return hashlib.sha256(data).hexdigest(), data


def _write(store, blobs: dict[str, bytes]) -> None:  # type: ignore[no-untyped-def]
    """Write blobs straight into the store's layout (as a finished upload leaves them); on
    object storage in one concurrent batch."""
    if not store.blobs.local:
        store.blobs.fs.pipe({store.blobs.key(sha): data for sha, data in blobs.items()})
        return
    for sha, data in blobs.items():
        path = Path(store.blobs.key(sha))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _seed(settings: HubSettings, blobs: int) -> None:
    from workbench.store.accounts import create_user, get_account, principal_for
    from workbench.store.blobs import BlobInfo
    from workbench.store.commits import AddFile, create_commit
    from workbench.store.repos import RepoKey, create_repo, delete_repo
    from workbench.store.store import Store

    store = Store.open(settings)
    try:
        with store.write() as s:
            admin = get_account(s, "admin") or create_user(s, "admin", admin=True)
            p = principal_for(s, admin, "write")
            create_repo(store, s, p, "model", "admin", "live")
            create_repo(store, s, p, "model", "admin", "gone")
        per_commit = blobs // 2 // COMMITS
        n = 0
        for repo in ("live", "gone"):
            for c in range(COMMITS):
                made = dict(_blob(n + k) for k in range(per_commit))
                n += per_commit
                _write(store, made)
                ops = [
                    AddFile(f"d{c}/f{k}.bin", BlobInfo(sha, SIZE, None), lfs=True)
                    for k, sha in enumerate(made)
                ]
                create_commit(store, p, ("model", "admin", repo), "main", ops, summary=f"part {c}")
        with store.write() as s:
            delete_repo(store, s, p, RepoKey("model", "admin", "gone"))
        if store.blobs.local:  # object storage cannot be backdated: its runs use grace 0
            old = time.time() - 7200
            for sha in store.blobs.iter_all():
                os.utime(store.blobs.key(sha), (old, old))
    finally:
        store.close()


def _measure(settings: HubSettings, blobs: int) -> Times:
    """(fsck s, dry run s, sweep s, the sweep's report) on a seeded store."""
    from workbench.store.fsck import fsck
    from workbench.store.gc import collect
    from workbench.store.store import Store

    # a local store's dead blobs are dated two hours back; an object store's are not
    grace = 3600.0 if settings.storage_url is None else 0.0
    store = Store.open(settings)
    try:
        t0 = time.perf_counter()
        report = fsck(store, verify_hashes=False)
        fsck_s = time.perf_counter() - t0
        assert report.ok, report.problems
        t0 = time.perf_counter()
        dry = collect(store, grace=grace, dry_run=True)
        dry_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = collect(store, grace=0)
        gc_s = time.perf_counter() - t0
        assert done.blobs_freed == dry.blobs_freed == blobs // 2, done
        assert fsck(store, verify_hashes=False).ok
    finally:
        store.close()
    return fsck_s, dry_s, gc_s, done


def _results(
    label: str, blobs: int, times: tuple[float, float, float, Any], floor: tuple[float, str]
) -> list[Result]:
    fsck_s, dry_s, gc_s, done = times
    floor_s, floor_label = floor
    k = f"{blobs // 1000}k"
    return [
        Result(
            f"{label}: dry run (mark and scan) of {k} blobs",
            dry_s,
            "s",
            fsck_s,
            "fsck --no-verify-hashes",
            dry_s / fsck_s,
            note=f"{COMMITS * 2} commits, {blobs // 2} live and {blobs // 2} dead blobs of {SIZE} bytes",
        ),
        Result(
            f"{label}: sweep of {k} blobs ({done.blobs_freed // 1000}k freed)",
            gc_s,
            "s",
            floor_s,
            floor_label,
            gc_s / floor_s,
            note=f"grace 0: mark, retract the rows, move aside, delete; {done.bytes_freed} bytes freed",
        ),
    ]


def run_s3(root: Path, *, blobs: int = S3_BLOBS) -> list[Result]:
    """The same on moto's S3 server (tests/support/s3.py); the floor of the sweep is deleting
    as many objects of the same size with DeleteObjects (s3fs, a thousand keys a call)."""
    import s3fs

    with s3_hub(root, "wb-bench-gc") as (bucket, settings):
        t0 = time.perf_counter()
        _seed(settings, blobs)
        log.info("gc (S3): seeded %d blobs in %.1f s", blobs, time.perf_counter() - t0)
        times = _measure(settings, blobs)
        fs = s3fs.S3FileSystem()
        keys = [f"{bucket.name}/floor/{i:08d}" for i in range(times[3].blobs_freed)]
        fs.pipe({key: b"x" * SIZE for key in keys})
        t0 = time.perf_counter()
        fs.rm(keys)
        rm_s = time.perf_counter() - t0
    log.info(
        "gc (S3): dry run %.2f s (fsck %.2f s); sweep %.2f s (bulk delete %.2f s)",
        *times[1::-1],
        times[2],
        rm_s,
    )
    return _results("gc on S3", blobs, times, (rm_s, f"DeleteObjects of {len(keys) // 1000}k"))


def run(root: Path, *, blobs: int = BLOBS) -> list[Result]:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    settings = HubSettings(data_dir=root / "data", write_user_config=False)
    t0 = time.perf_counter()
    _seed(settings, blobs)
    log.info("gc: seeded %d blobs in %.1f s", blobs, time.perf_counter() - t0)
    times = _measure(settings, blobs)
    floor = root / "floor"  # as many files of the same size, deleted one by one
    for i in range(times[3].blobs_freed):
        d = floor / f"{i % 256:02x}"
        d.mkdir(parents=True, exist_ok=True)
        (d / str(i)).write_bytes(b"x" * SIZE)
    t0 = time.perf_counter()
    for d in floor.iterdir():
        for f in d.iterdir():
            os.unlink(f)
    unlink_s = time.perf_counter() - t0
    shutil.rmtree(root, ignore_errors=True)
    log.info(
        "gc: dry run %.2f s (fsck %.2f s); sweep %.2f s (unlink %.2f s)", *times[1::-1], times[2], unlink_s
    )
    return _results("gc", blobs, times, (unlink_s, f"unlink of {times[3].blobs_freed // 1000}k files"))
