"""Garbage collection of the blob store (``workbench hub gc``): mark, then sweep.

**Mark.** A blob is live while the database names it: an entry of the tree of any commit of
an existing repo (every commit, not only those a branch, tag, pull-request or conversion ref
reaches: a commit id stays addressable until a squash or a purge of history drops it),
every ``*sha256`` column of any other table (the viewer's search indexes, evaluation runs'
executed notebooks, and whatever a later table adds), and the blobs of live Xet xorbs and
shards. Commits of a deleted repo are dead (the repo row is gone), so its unique blobs
become collectable. Xet rows have their own liveness:
a Xet file is live while a live tree or a storage bucket names its Xet hash, while it is
young, or while a young shard registers it (an upload in progress registers its shard
before the commit); a xorb
while a live file's terms name it, or it or a shard naming it is younger than the Xet
grace period (21 days by default: hf_xet deduplicates new uploads against the shards of its
own uploads for that long without asking, and a shard naming a freed xorb is refused); a
shard while one of its files is live, a live xorb's chunk in the global deduplication index
names it (the index answers from it), or it is younger than either grace period. A Xet file
purged from history (``workbench.store.rewrite``) waits out the grace period only, not the
Xet grace period: its xorbs go once no live file uses them, and a shard that registers only
purged files goes with them. Dead Xet rows are deleted with their blobs. *Young* means
created, or written to the blob store, after the mark began less the grace period, so with
any grace nothing written after GC started is swept.

**Sweep, and why a racing upload or commit cannot lose data.** The mark reads a snapshot;
uploads and commits go on meanwhile. The dangerous case is content the hub already holds
and GC found dead: the LFS batch API tells a client "already there" (it checks the ``blobs``
row and the file), an inline file's upload skips writing bytes that exist, a xorb upload
skips a known xorb; the commit that names the content comes later. So the sweep runs in
three steps, each holding the database's write lock (SQLite's ``BEGIN IMMEDIATE``; on
PostgreSQL ``LOCK TABLE refs IN EXCLUSIVE MODE``, which waits for every commit holding its
branch row and holds new ones back):

1. *Retract.* Re-mark what commits made since the snapshot name, re-read the other
   references, then delete the ``blobs`` rows (and the dead Xet rows) of the doomed blobs;
   the files stay. From now on an LFS commit naming such a blob fails cleanly (400
   ``LfsObjectMissing``; the client uploads again) because commits look the row up under
   the same lock, the batch API answers "upload it", and a Xet commit no longer finds the
   file. Whatever re-registers the content (an inline commit, an LFS upload, a xorb or shard
   upload, a search index, an evaluation run) writes a row again.
2. *Move aside.* In batches: a doomed blob that some row names again, or whose file was
   rewritten after the cutoff, is kept; the others are moved to ``gc-trash/`` in the blob
   store (an atomic rename on a local folder).
3. *Settle, then delete.* After ``settle`` seconds (the grace period, at most a minute),
   a trashed blob that some row names again is moved back; the rest is deleted for good.

What this does not cover without help from the commit path: a request that checked a
file's existence before step 2 and writes its row after step 3 (more than ``settle``
seconds inside one request, between storing the bytes and writing the commit); and a Xet
commit, which looks its files up before its transaction, racing step 1 in the milliseconds
between the two for a file that looked dead (registered before the grace period, named by no
live tree, its shard re-sent byte for byte so that no young shard row vouches for it). A
commit path that re-checks in its transaction the file of a ``blobs`` row it had to write,
and the ``xet_files`` row of each Xet file it names, closes both.

A GC that dies between steps leaves files in ``gc-trash/``: the next run first puts them
all back, then decides again. Only one GC runs at a time, across processes and machines: a
lock row in ``meta`` with a heartbeat (a lock whose holder stopped beating for ten minutes
is taken over).

>>> report = collect(Store.open(HubSettings(data_dir="/tmp/wb")), grace=3600)  # doctest: +SKIP
>>> report.blobs_freed, report.bytes_freed                                  # doctest: +SKIP
(12, 73400320)
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

import workbench.store.evals  # noqa: F401  (its table must be in the metadata the safety net scans)
from workbench.errors import Conflict, IntegrityError
from workbench.store import models as m
from workbench.store.blobs import list_blobs
from workbench.store.bucket_models import BucketFile, XetFileBucket
from workbench.store.fsck import progress_bar, snapshot, tree_rows
from workbench.store.store import Store, insert_missing, utcnow
from workbench.store.trees import parse_tree
from workbench.xet.hashing import hash_to_hex
from workbench.xet.shard import parse_shard

log = logging.getLogger(__name__)

DEFAULT_GRACE = 3600.0
# hf_xet keeps the shards of its uploads for 21 days and deduplicates new uploads against
# them without asking: a xorb freed sooner fails its next upload of the same chunks (400).
DEFAULT_XET_GRACE = 21 * 86400.0
MAX_SETTLE = 60.0
LOCK_KEY = "gc.lock"
PURGED_KEY = "gc.purged-xet"  # Xet files purged from history, until a GC frees them
STALE_LOCK = timedelta(minutes=10)
TRASH = "gc-trash"
BATCH = 1000
# Blobs of object storage moved aside per hold of the writers: each is a copy over the
# network, so a batch of BATCH held commits back for tens of seconds.
OBJECT_BATCH = 100
# Columns whose rows name blobs and that the mark judges itself (a Xet row may be dead); every
# other ``*sha256`` column is a plain reference. All of them show a blob named again.
_ROW_COLUMNS = (m.Blob.sha256, m.XetXorb.blob_sha256, m.XetShard.blob_sha256, m.XetChunk.shard_sha256)
_KNOWN = {(c.table.name, c.name) for c in (*_ROW_COLUMNS, m.XetFile.sha256)}


@dataclass
class GcReport:
    """What a run found and did; ``*_freed`` are what a dry run would free."""

    dry_run: bool
    grace_s: float
    xet_grace_s: float
    stored_blobs: int = 0
    live_blobs: int = 0
    young_blobs: int = 0
    blobs_freed: int = 0
    bytes_freed: int = 0
    blobs_restored: int = 0
    xet_files_freed: int = 0
    xorbs_freed: int = 0
    shards_freed: int = 0
    longest_hold_s: float = 0.0  # the longest time commits waited for GC
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _ShardUse:
    files: frozenset[str]
    xorbs: frozenset[str]


@dataclass
class _Mark:
    commits: set[str] = field(default_factory=set)
    trees: set[str] = field(default_factory=set)
    blobs: set[str] = field(default_factory=set)
    xet_named: set[str] = field(default_factory=set)  # Xet hashes live trees name
    shard_files: dict[str, _ShardUse] = field(default_factory=dict)  # parsed shards


@dataclass
class _XetDead:
    files: set[str] = field(default_factory=set)
    xorbs: set[str] = field(default_factory=set)
    shards: set[str] = field(default_factory=set)
    purged_left: set[str] = field(default_factory=set)  # purged files a later run must free


class GcRunning(Conflict):
    code = "GcRunning"


# -- the lock -----------------------------------------------------------------------------
class GcLock:
    """The one-GC-at-a-time lock: a ``meta`` row that its holder refreshes while it works."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.token = uuid.uuid4().hex
        self.since = utcnow()
        self._beat = 0.0

    def _value(self, now: datetime) -> str:
        return json.dumps(
            {
                "token": self.token,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": self.since.isoformat(timespec="seconds") + "Z",
                "heartbeat": now.isoformat(timespec="seconds"),
            }
        )

    def acquire(self) -> None:
        now = utcnow()
        with self.store.write() as s:
            row = s.get(m.KeyValue, LOCK_KEY, with_for_update=True)
            if row is not None:
                held = json.loads(row.value)
                if now - datetime.fromisoformat(held["heartbeat"]) < STALE_LOCK:
                    raise GcRunning(
                        f"Another GC is running since {held['since']} (pid {held['pid']} on "
                        f"{held['host']}); wait for it to finish.",
                        since=held["since"],
                    )
                log.warning(
                    "taking over the GC lock of pid %s on %s, silent since %s",
                    held["pid"],
                    held["host"],
                    held["heartbeat"],
                )
                row.value = self._value(now)
            else:
                insert_missing(s, m.KeyValue, key=LOCK_KEY, value=self._value(now))
                s.flush()
                row = s.get(m.KeyValue, LOCK_KEY, populate_existing=True)
                if row is None or json.loads(row.value)["token"] != self.token:
                    raise GcRunning("Another GC started at the same moment; wait for it to finish.")
        self._beat = time.monotonic()

    def heartbeat(self, s: Session | None = None) -> None:
        if time.monotonic() - self._beat < 30:
            return
        if s is None:
            with self.store.write() as w:
                self._refresh(w)
        else:
            self._refresh(s)
        self._beat = time.monotonic()

    def _refresh(self, s: Session) -> None:
        row = s.get(m.KeyValue, LOCK_KEY)
        if row is None or json.loads(row.value)["token"] != self.token:
            raise GcRunning("The GC lock was taken over by another GC; this run stops.")
        row.value = self._value(utcnow())

    def release(self) -> None:
        with self.store.write() as s:
            row = s.get(m.KeyValue, LOCK_KEY)
            if row is not None and json.loads(row.value)["token"] == self.token:
                s.delete(row)


# -- purged Xet files ----------------------------------------------------------------------
def mark_purged_xet(s: Session, hashes: Collection[str]) -> None:
    """Have GC free these Xet files' xorbs without waiting out the Xet grace period: they were
    purged from history, and the uploader's memory of them must not keep their bytes."""
    if not hashes:
        return
    row = s.get(m.KeyValue, PURGED_KEY, with_for_update=True)
    if row is None:
        insert_missing(s, m.KeyValue, key=PURGED_KEY, value="[]")
        s.flush()
        row = s.get(m.KeyValue, PURGED_KEY, with_for_update=True, populate_existing=True)
        assert row is not None
    row.value = json.dumps(sorted(set(json.loads(row.value)) | set(hashes)))


def _purged_xet(s: Session) -> set[str]:
    row = s.get(m.KeyValue, PURGED_KEY)
    return set(json.loads(row.value)) if row is not None else set()


def _keep_purged(s: Session, left: set[str]) -> None:
    """Forget the purged files this run freed (step 1 holds the lock purges take)."""
    row = s.get(m.KeyValue, PURGED_KEY)
    if row is not None and left:
        row.value = json.dumps(sorted(left))
    elif row is not None:
        s.delete(row)


# -- mark ---------------------------------------------------------------------------------
def _live_commits(s: Session) -> Iterator[tuple[str, str]]:
    """(oid, tree hash) of every commit of an existing repo."""
    yield from s.execute(select(m.Commit.oid, m.Commit.tree_hash).join(m.Repo, m.Repo.id == m.Commit.repo_id))


def _mark_commits(
    s: Session,
    mark: _Mark,
    commits: Iterable[tuple[str, str]],
    *,
    progress: bool,
    beat: Callable[[], None] = lambda: None,
) -> None:
    new_trees: set[str] = set()
    for oid, tree_hash in commits:
        if oid not in mark.commits:
            mark.commits.add(oid)
            if tree_hash not in mark.trees:
                new_trees.add(tree_hash)
    seen = set()
    for key, entries in progress_bar(tree_rows(s, new_trees), progress, "trees"):
        beat()  # a big hub's mark outlasts the lock's staleness limit
        seen.add(key)
        try:
            tree = parse_tree(key, entries)
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise IntegrityError(f"Tree {key} cannot be parsed ({exc}); run `workbench hub fsck`.") from exc
        for e in tree.entries.values():
            mark.blobs.add(e.sha256)
            if e.xet_hash:
                mark.xet_named.add(e.xet_hash)
    if missing := new_trees - seen:
        raise IntegrityError(f"Tree {min(missing)} of a commit is missing; run `workbench hub fsck`.")
    mark.trees |= new_trees


def _reference_columns() -> list[Any]:
    """Every ``*sha256`` column of the schema outside ``_KNOWN``: the safety net."""
    return [
        col
        for table in m.Base.metadata.sorted_tables
        for col in table.columns
        if col.name.endswith("sha256") and (table.name, col.name) not in _KNOWN
    ]


def _mark_references(s: Session, mark: _Mark) -> None:
    for col in _reference_columns():
        mark.blobs.update(v for (v,) in s.execute(select(col).where(col.is_not(None)).distinct()))


def _shard_files(store: Store, mark: _Mark, sha: str) -> _ShardUse | None:
    """The files a stored shard registers and the xorbs they use (parsed once per run), or
    None when it cannot be read."""
    if sha not in mark.shard_files:
        try:
            shard = parse_shard(store.blobs.read(sha))
        except (OSError, ValueError) as exc:
            log.warning("GC keeps shard %s, which cannot be read: %s", sha, exc)
            return None
        mark.shard_files[sha] = _ShardUse(
            frozenset(hash_to_hex(f.file_hash) for f in shard.files),
            frozenset(hash_to_hex(t.xorb_hash) for f in shard.files for t in f.terms),
        )
    return mark.shard_files[sha]


def _mark_xet(s: Session, store: Store, mark: _Mark, cutoff: datetime, xorb_cutoff: datetime) -> _XetDead:
    """Mark the blobs of live xorbs and shards; return the dead Xet rows."""
    shards = list(s.execute(select(m.XetShard.blob_sha256, m.XetShard.created_at)))
    files_of = {sha: _shard_files(store, mark, sha) for sha, _ in shards}
    young_shards = {sha for sha, created in shards if created > cutoff}
    purged = _purged_xet(s)
    purged_xorbs = {
        str(term[0])
        for (terms,) in s.execute(select(m.XetFile.terms).where(m.XetFile.hash.in_(sorted(purged))))
        for term in terms
    }
    live_files = set(mark.xet_named) | _bucket_files(s)
    live_xorbs: set[str] = set()
    for sha, created in shards:
        use = files_of[sha]
        if use is not None and sha in young_shards:
            live_files |= use.files
        if use is not None and created > xorb_cutoff:  # the uploader's hf_xet still has it
            live_xorbs |= use.xorbs - purged_xorbs
    dead = _XetDead()
    rows = s.execute(
        select(
            m.XetFile.hash, m.XetFile.terms, m.XetFile.created_at, m.XetFile.sha256, m.XetFile.sha256_verified
        )
    )
    for name, terms, created, sha256, verified in rows:
        # A verified Xet version of a file stored whole (workbench hub xet-migrate) lives as
        # long as a live tree names that file by its SHA-256.
        if name in live_files or created > cutoff or (verified and sha256 in mark.blobs):
            live_files.add(name)
            live_xorbs.update(str(t[0]) for t in terms)
        else:
            dead.files.add(name)
    dead.purged_left = purged & live_files
    for name, blob, created in s.execute(select(m.XetXorb.hash, m.XetXorb.blob_sha256, m.XetXorb.created_at)):
        if name in live_xorbs or created > (cutoff if name in purged_xorbs else min(cutoff, xorb_cutoff)):
            live_xorbs.add(name)
            mark.blobs.add(blob)
        else:
            dead.xorbs.add(name)
    # the global deduplication index answers from the shard that registered a chunk
    indexed = {
        shard
        for xorb, shard in s.execute(select(m.XetChunk.xorb_hash, m.XetChunk.shard_sha256).distinct())
        if shard is not None and xorb in live_xorbs
    }
    for sha, created in shards:
        use = files_of[sha]
        # its xorbs stay for its uploader: so does it, unless all it registers was purged
        remembered = created > xorb_cutoff and not (use is not None and use.files and use.files <= purged)
        if sha in young_shards or remembered or sha in indexed or use is None or use.files & live_files:
            mark.blobs.add(sha)
        else:
            dead.shards.add(sha)
    return dead


def _bucket_files(s: Session) -> set[str]:
    """The Xet files storage buckets name: live as long as a bucket holds them."""
    return {str(h) for (h,) in s.execute(select(BucketFile.xet_hash).distinct())}


def _mark(
    s: Session,
    store: Store,
    mark: _Mark,
    cutoffs: tuple[datetime, datetime],
    lock: GcLock,
    *,
    progress: bool,
) -> _XetDead:
    _mark_commits(s, mark, _live_commits(s), progress=progress, beat=lock.heartbeat)
    _mark_references(s, mark)
    return _mark_xet(s, store, mark, *cutoffs)


# -- sweep --------------------------------------------------------------------------------
def _stat(store: Store, key: str) -> tuple[int, float] | None:
    """(size, modification time as a POSIX timestamp) of a stored object, or None if gone.

    A time the backend does not give is "now": GC never deletes what it cannot date.
    """
    if store.blobs.local:
        try:
            st = os.stat(key)
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime
    try:
        info = store.blobs.fs.info(key)
    except FileNotFoundError:
        return None
    return _info_stat(info)


def _info_stat(info: dict[str, Any]) -> tuple[int, float]:
    stamp = info.get("mtime") or info.get("LastModified") or info.get("created")
    if isinstance(stamp, datetime):
        stamp = stamp.timestamp()
    return int(info.get("size") or 0), float(stamp) if stamp else time.time()


def _stored(store: Store) -> Iterator[tuple[str, tuple[int, float] | None]]:
    """Every stored blob, with its (size, modification time) where the listing has them.

    Object storage lists a thousand objects per call with their size and date, where a HEAD
    per blob would take a round trip each; on a local disk ``os.stat`` is cheap, so only the
    blobs the mark leaves are dated (None here).
    """
    if store.blobs.local:
        for sha in store.blobs.iter_all():
            yield sha, None
        return
    for sha, info in list_blobs(store.blobs.fs, store.blobs.root):
        yield sha, _info_stat(info)


def _trash_key(store: Store, sha: str) -> str:
    return f"{store.blobs.root}/{TRASH}/{sha}.gc"


def _move(store: Store, src: str, dest: str) -> None:
    if store.blobs.local:
        try:
            os.replace(src, dest)
        except FileNotFoundError:  # the destination's folder, made on first use
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.replace(src, dest)
    else:
        store.blobs.fs.mv(src, dest)


def _trashed(store: Store) -> list[str]:
    root = f"{store.blobs.root}/{TRASH}"
    if not store.blobs.fs.exists(root):
        return []
    return [p.rsplit("/", 1)[-1][:-3] for p in store.blobs.fs.find(root) if p.endswith(".gc")]


def _remove(store: Store, key: str) -> None:
    if store.blobs.local:
        os.unlink(key)
    else:
        store.blobs.fs.rm(key)


def _remove_all(store: Store, keys: list[str]) -> None:
    """Delete stored objects; on object storage a DeleteObjects call per thousand keys."""
    if store.blobs.local:
        for key in keys:
            os.unlink(key)
    elif keys:
        store.blobs.fs.rm(keys)


def _restore(store: Store, sha: str) -> None:
    """Put a trashed blob back, unless the same content was stored again meanwhile."""
    if store.blobs.exists(sha):
        _remove(store, _trash_key(store, sha))
    else:
        _move(store, _trash_key(store, sha), store.blobs.key(sha))


@contextmanager
def _holding_writers(store: Store, report: GcReport) -> Iterator[Session]:
    """A write transaction that holds commits back until it ends (SQLite: BEGIN IMMEDIATE
    does; PostgreSQL: the lock on ``refs`` that commits take a row of); times the hold."""
    held = 0.0
    try:
        with store.write() as s:
            if s.get_bind().dialect.name == "postgresql":
                s.execute(text("LOCK TABLE refs IN EXCLUSIVE MODE"))
            held = time.monotonic()
            yield s
    finally:
        if held:
            report.longest_hold_s = max(report.longest_hold_s, round(time.monotonic() - held, 3))


def _named(s: Session, shas: Collection[str]) -> set[str]:
    """Those of ``shas`` that some row of the database names now."""
    wanted = sorted(shas)
    found: set[str] = set()
    for col in [*_ROW_COLUMNS, *_reference_columns()]:
        for i in range(0, len(wanted), BATCH):
            found.update(v for (v,) in s.execute(select(col).where(col.in_(wanted[i : i + BATCH]))))
    return found


def _delete_in(s: Session, col: Any, values: Collection[str]) -> None:
    items = sorted(values)
    for i in range(0, len(items), 500):
        s.execute(delete(col.table).where(col.in_(items[i : i + 500])))


def _batches(items: list[str], size: int = BATCH) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def collect(
    store: Store,
    *,
    grace: float = DEFAULT_GRACE,
    xet_grace: float = DEFAULT_XET_GRACE,
    dry_run: bool = False,
    progress: bool = False,
    settle: float | None = None,
) -> GcReport:
    """Delete the blobs (and Xet rows) nothing references that are older than ``grace``
    seconds, xorbs older than ``xet_grace`` too; see the module docstring. Raises
    :class:`GcRunning` when another GC runs."""
    if grace < 0 or xet_grace < 0:
        raise ValueError("grace periods must be >= 0 seconds")
    settle = min(grace, MAX_SETTLE) if settle is None else settle
    started = time.monotonic()
    report = GcReport(dry_run=dry_run, grace_s=grace, xet_grace_s=xet_grace)
    lock = GcLock(store)
    lock.acquire()
    try:
        if not dry_run:
            for sha in _trashed(store):  # left by a run that died: undo, then decide again
                _restore(store, sha)
        cutoff = utcnow() - timedelta(seconds=grace)
        xorb_cutoff = utcnow() - timedelta(seconds=xet_grace)
        cutoff_ts = time.time() - grace
        mark = _Mark()
        with snapshot(store) as s:
            _mark(
                s, store, mark, (cutoff, xorb_cutoff), lock, progress=progress
            )  # Xet: judged again in step 1
        candidates: dict[str, int] = {}
        for sha, listed in progress_bar(_stored(store), progress, "blobs"):
            lock.heartbeat()
            report.stored_blobs += 1
            if sha in mark.blobs:
                report.live_blobs += 1
                continue
            st = listed or _stat(store, store.blobs.key(sha))
            if st is None:
                continue
            if st[1] > cutoff_ts:
                report.young_blobs += 1
            else:
                candidates[sha] = st[0]
        lock.heartbeat()
        with store.read() if dry_run else _holding_writers(store, report) as s:  # step 1: retract
            _mark_commits(s, mark, _live_commits(s), progress=False)
            _mark_references(s, mark)
            dead_xet = _mark_xet(s, store, mark, cutoff, xorb_cutoff)
            doomed = sorted(set(candidates) - mark.blobs)
            report.xet_files_freed = len(dead_xet.files)
            report.xorbs_freed = len(dead_xet.xorbs)
            report.shards_freed = len(dead_xet.shards)
            if not dry_run:
                _delete_in(s, m.XetFileRepo.file_hash, dead_xet.files)
                _delete_in(s, XetFileBucket.file_hash, dead_xet.files)
                _delete_in(s, m.XetFile.hash, dead_xet.files)
                _delete_in(s, m.XetXorb.hash, dead_xet.xorbs)
                _delete_in(s, m.XetShard.blob_sha256, dead_xet.shards)
                _delete_in(s, m.Blob.sha256, doomed)
                _keep_purged(s, dead_xet.purged_left)
        if dry_run:
            report.blobs_freed = len(doomed)
            report.bytes_freed = sum(candidates[sha] for sha in doomed)
            return report
        trashed = _move_aside(store, lock, report, doomed, cutoff_ts, progress=progress)
        if trashed:
            time.sleep(settle)
        restored = _finish(store, lock, report, trashed)
        report.blobs_restored = len(restored)
        freed = [sha for sha in trashed if sha not in restored]
        report.blobs_freed = len(freed)
        report.bytes_freed = sum(candidates[sha] for sha in freed)
        return report
    finally:
        report.seconds = round(time.monotonic() - started, 3)
        lock.release()
        log.info("gc: %s", report.to_dict())


def _move_aside(
    store: Store, lock: GcLock, report: GcReport, doomed: list[str], cutoff_ts: float, *, progress: bool
) -> list[str]:
    """Step 2: move the doomed blobs nothing names again to the trash."""
    trashed = []
    bar = progress_bar(_batches(doomed, BATCH if store.blobs.local else OBJECT_BATCH), progress, "sweep")
    for batch in bar:
        with _holding_writers(store, report) as s:
            lock.heartbeat(s)
            named = _named(s, batch)
            if not store.blobs.local:
                # Stored objects are never rewritten (publishing skips a key that exists), so
                # the date the listing gave still holds: one concurrent copy of the batch and
                # one DeleteObjects call per thousand keys, not a HEAD, COPY and DELETE each.
                moving = [sha for sha in batch if sha not in named]
                _move_all(store, moving)
                trashed += moving
                continue
            for sha in batch:
                key = store.blobs.key(sha)
                st = _stat(store, key)
                if sha in named or st is None or st[1] > cutoff_ts:
                    continue
                _move(store, key, _trash_key(store, sha))
                trashed.append(sha)
    return trashed


def _move_all(store: Store, shas: list[str]) -> None:
    """Move blobs of object storage to the trash: all copied first, then deleted in bulk."""
    if shas:
        keys = [store.blobs.key(sha) for sha in shas]
        store.blobs.fs.copy(keys, [_trash_key(store, sha) for sha in shas])
        store.blobs.fs.rm(keys)


def _finish(store: Store, lock: GcLock, report: GcReport, trashed: list[str]) -> set[str]:
    """Step 3: put back what was named again meanwhile, delete the rest; return the former."""
    restored: set[str] = set()
    for batch in _batches(trashed):
        with _holding_writers(store, report) as s:
            lock.heartbeat(s)
            named = _named(s, batch)
            gone = []
            for sha in batch:
                if sha in named:
                    _restore(store, sha)
                    restored.add(sha)
                else:
                    gone.append(_trash_key(store, sha))
            _remove_all(store, gone)
    if restored:
        log.warning("gc: %d blob(s) were named again while being swept and were put back", len(restored))
    return restored
