"""GC: time to sweep 100k blobs (issue 25's measure), against the floor of deleting the files.

A store with ``BLOBS`` blobs of 1 KiB: half are files of a live repo (``COMMITS`` commits
adding ``BLOBS / 2 / COMMITS`` files each, so the mark parses as many trees), half belonged
to a repo that was deleted (rows in ``blobs``, files older than the grace period). Measured:

- ``hub gc --dry-run``: mark and scan, against ``hub fsck --no-verify-hashes`` on the same
  store (the same tree walk and blob listing, the floor of a mark);
- ``hub gc --grace 0``: mark, then sweep the dead half, against a plain ``os.unlink`` of as
  many files of the same size on the same disk (the floor of a sweep).

Both in-process (``workbench.store.gc.collect``), so start-up is not counted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

from bench.measure import Result
from workbench.config import HubSettings

log = logging.getLogger(__name__)

BLOBS = 100_000
COMMITS = 50
SIZE = 1024


def _blob(store, i: int) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """Write blob ``i`` straight into the store's layout (as a finished upload leaves it)."""
    data = i.to_bytes(8, "little") * (SIZE // 8)
    sha = hashlib.sha256(data).hexdigest()
    path = Path(store.blobs.key(sha))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha, len(data)


def _seed(root: Path, blobs: int) -> None:
    from workbench.store.accounts import create_user, get_account, principal_for
    from workbench.store.blobs import BlobInfo
    from workbench.store.commits import AddFile, create_commit
    from workbench.store.repos import RepoKey, create_repo, delete_repo
    from workbench.store.store import Store

    store = Store.open(HubSettings(data_dir=root / "data", write_user_config=False))
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
                ops = []
                for k in range(per_commit):
                    sha, size = _blob(store, n)
                    n += 1
                    ops.append(AddFile(f"d{c}/f{k}.bin", BlobInfo(sha, size, None), lfs=True))
                create_commit(store, p, ("model", "admin", repo), "main", ops, summary=f"part {c}")
        with store.write() as s:
            delete_repo(store, s, p, RepoKey("model", "admin", "gone"))
        old = time.time() - 7200
        for sha in store.blobs.iter_all():
            os.utime(store.blobs.key(sha), (old, old))
    finally:
        store.close()


def run(root: Path, *, blobs: int = BLOBS) -> list[Result]:
    from workbench.store.fsck import fsck
    from workbench.store.gc import collect
    from workbench.store.store import Store

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    _seed(root, blobs)
    log.info("gc: seeded %d blobs in %.1f s", blobs, time.perf_counter() - t0)
    store = Store.open(HubSettings(data_dir=root / "data", write_user_config=False))
    try:
        t0 = time.perf_counter()
        report = fsck(store, verify_hashes=False)
        fsck_s = time.perf_counter() - t0
        assert report.ok, report.problems
        t0 = time.perf_counter()
        dry = collect(store, grace=3600, dry_run=True)
        dry_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = collect(store, grace=0)
        gc_s = time.perf_counter() - t0
        assert done.blobs_freed == dry.blobs_freed == blobs // 2, done
        assert fsck(store, verify_hashes=False).ok
    finally:
        store.close()
    floor = root / "floor"  # as many files of the same size, deleted one by one
    for i in range(done.blobs_freed):
        d = floor / f"{i % 256:02x}"
        d.mkdir(parents=True, exist_ok=True)
        (d / str(i)).write_bytes(b"x" * SIZE)
    t0 = time.perf_counter()
    for d in floor.iterdir():
        for f in d.iterdir():
            os.unlink(f)
    unlink_s = time.perf_counter() - t0
    shutil.rmtree(root, ignore_errors=True)
    log.info("gc: dry run %.2f s (fsck %.2f s); sweep %.2f s (unlink %.2f s)", dry_s, fsck_s, gc_s, unlink_s)
    k = blobs // 1000
    return [
        Result(
            f"gc: dry run (mark and scan) of {k}k blobs",
            dry_s,
            "s",
            fsck_s,
            "fsck --no-verify-hashes",
            dry_s / fsck_s,
            note=f"{COMMITS * 2} commits, {blobs // 2} live and {blobs // 2} dead blobs of {SIZE} bytes",
        ),
        Result(
            f"gc: sweep of {k}k blobs ({done.blobs_freed // 1000}k freed)",
            gc_s,
            "s",
            unlink_s,
            f"unlink of {done.blobs_freed // 1000}k files",
            gc_s / unlink_s,
            note=f"grace 0: mark, retract the rows, move aside, delete; {done.bytes_freed} bytes freed",
        ),
    ]
