"""Give files stored whole (git-LFS and inline-era uploads) a Xet version, so that they join
chunk-level deduplication.

A file uploaded over git-LFS is one blob. Its next revision, a fine-tune that rewrites a few
percent of it, would be uploaded whole again: neither the client's cache nor the hub's global
deduplication index knows its chunks. Migrating it chunks it once with ``hf_xet`` (the same
library the clients use, writing to a ``local://`` CAS in a scratch folder), then registers the
xorbs and the shard through the same checks as an upload (:mod:`workbench.store.xet_cas`):
every xorb hash recomputed, the file hash recomputed from the chunks. The file is linked to
every repo whose history names it, with its SHA-256 recorded as verified (the blob is stored
under the SHA-256 of its bytes). From then on:

- ``/resolve`` tells clients with ``hf_xet`` to download it through Xet;
- an upload of a changed version sends only the chunks that changed, from any machine;
- a commit that names it again records its Xet hash in the tree.

Commits and trees are not rewritten (their ids would change), and the whole-file blob is kept:
clients without Xet, the viewer and ``Range`` requests keep reading it. Running the migration
again skips what is done, so it can be stopped and resumed at any point.

>>> report = migrate(store, min_size=1 << 20, progress=False)   # doctest: +SKIP
>>> report.files_migrated
3
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from workbench.store import models as m
from workbench.store import xet_cas
from workbench.store.fsck import progress_bar, tree_rows
from workbench.store.store import Store, insert_missing
from workbench.store.trees import parse_tree
from workbench.xet.hashing import hex_to_hash
from workbench.xet.shard import parse_shard

DEFAULT_MIN_SIZE = 1024 * 1024  # smaller files gain little from chunking (a chunk is ~64 KiB)


@dataclass
class MigrateReport:
    candidates: int = 0  # LFS files without a Xet version, at least min_size
    files_migrated: int = 0
    files_linked: int = 0  # already had a Xet version; only linked to more repos
    bytes_migrated: int = 0
    xorbs_added: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lfs_files(
    store: Store, *, min_size: int, repo_ids: set[int] | None = None
) -> dict[str, tuple[int, set[int]]]:
    """SHA-256 -> (size, repos whose commits name it) of the LFS files stored whole: the tree
    entries without a Xet hash, of at least ``min_size`` bytes."""
    with store.read() as s:
        query = select(m.Commit.tree_hash, m.Commit.repo_id)
        if repo_ids is not None:
            query = query.where(m.Commit.repo_id.in_(sorted(repo_ids)))
        trees: dict[str, set[int]] = defaultdict(set)
        for tree_hash, repo_id in s.execute(query):
            trees[tree_hash].add(repo_id)
        found: dict[str, tuple[int, set[int]]] = {}
        for tree_hash, text in tree_rows(s, trees.keys()):
            for e in parse_tree(tree_hash, text).entries.values():
                if e.lfs and e.xet_hash is None and e.size >= min_size:
                    found.setdefault(e.sha256, (e.size, set()))[1].update(trees[tree_hash])
    return found


def _verified(store: Store, sha256s: list[str]) -> dict[str, str]:
    """SHA-256 -> Xet hash of the files that already have a verified Xet version."""
    with store.read() as s:
        rows = s.execute(
            select(m.XetFile.sha256, m.XetFile.hash).where(
                m.XetFile.sha256.in_(sha256s), m.XetFile.sha256_verified.is_(True)
            )
        ).all()
    return {str(sha): str(h) for sha, h in rows}


def _link(store: Store, xet_hash: str, repo_ids: set[int]) -> int:
    added = 0
    with store.write() as s:
        for repo_id in sorted(repo_ids):
            if s.get(m.XetFileRepo, (xet_hash, repo_id)) is None:
                insert_missing(s, m.XetFileRepo, file_hash=xet_hash, repo_id=repo_id)
                added += 1
    return added


@dataclass
class _Chunker:
    """hf_xet writing to a ``local://`` CAS in ``folder``; one session for the whole run, so
    files that share chunks share xorbs here too."""

    folder: Path
    seen_xorbs: set[str] = field(default_factory=set)
    seen_shards: set[str] = field(default_factory=set)

    def chunk(self, path: Path, sha256: str) -> tuple[str, list[Path], list[bytes]]:
        """Chunk one file; its Xet hash, the new xorb files and the new shards."""
        import hf_xet

        commit = hf_xet.XetSession().new_upload_commit(
            endpoint=f"local://{self.folder}", token="local", token_expiry_unix_secs=int(time.time()) + 86400
        )
        handle = commit.start_upload_file(str(path), sha256=sha256)
        commit.wait_to_finish()
        xet_hash = str(handle.result().xet_info.hash)
        xorbs = [p for p in self._files("xorbs", "default.*") if not p.name.endswith(".tagset")]
        new_xorbs = [p for p in xorbs if p.name not in self.seen_xorbs]
        new_shards = [p for p in self._files("shards", "*.mdb") if p.name not in self.seen_shards]
        self.seen_xorbs.update(p.name for p in new_xorbs)
        self.seen_shards.update(p.name for p in new_shards)
        return xet_hash, new_xorbs, [p.read_bytes() for p in new_shards]

    def _files(self, kind: str, pattern: str) -> Iterator[Path]:
        yield from sorted((self.folder / "xet" / "xorbs" / kind).glob(pattern))


def _local_copy(store: Store, sha256: str, scratch: Path) -> tuple[Path, bool]:
    """A path of the blob's bytes on this machine, and whether it is a copy to remove."""
    path = store.blobs.local_path(sha256)
    if path is not None:
        return path, False
    copy = scratch / sha256
    with store.blobs.open(sha256) as src, open(copy, "wb") as dest:
        shutil.copyfileobj(src, dest, 4 * 1024 * 1024)
    return copy, True


def _register(
    store: Store, chunker: _Chunker, sha256: str, repo_ids: set[int], scratch: Path
) -> tuple[str, int]:
    """Chunk one blob and register it; its Xet hash and how many xorbs were new to the hub."""
    path, is_copy = _local_copy(store, sha256, scratch)
    try:
        xet_hash, xorb_files, shards = chunker.chunk(path, sha256)
    finally:
        if is_copy:
            path.unlink(missing_ok=True)
    added = 0
    for xorb in xorb_files:
        staged = store.blobs.tmp_dir / f"upload-migrate-{xorb.name}"
        shutil.copyfile(xorb, staged)  # register_xorb consumes its file
        added += xet_cas.register_xorb(store, staged, hex_to_hash(xorb.name.split(".", 1)[1]))
    first = min(repo_ids)
    for body in shards:
        xet_cas.register_shard(store, parse_shard(body), body, repo_id=first)
    with store.write() as s:
        row = s.get(m.XetFile, xet_hash)
        if row is None:
            raise RuntimeError(
                f"hf_xet reported Xet file {xet_hash} for blob {sha256}; no shard registered it"
            )
        # The blob store keeps every blob under the SHA-256 of its bytes, checked on the way in.
        row.sha256, row.sha256_verified = sha256, True
    _link(store, xet_hash, repo_ids)
    return xet_hash, added


def migrate(
    store: Store,
    *,
    min_size: int = DEFAULT_MIN_SIZE,
    repo_ids: set[int] | None = None,
    dry_run: bool = False,
    progress: bool = False,
) -> MigrateReport:
    """Give every LFS file of at least ``min_size`` bytes (of the repos in ``repo_ids``, or
    all) a Xet version; see the module docstring."""
    report = MigrateReport()
    files = lfs_files(store, min_size=min_size, repo_ids=repo_ids)
    done = _verified(store, sorted(files))
    for sha256, xet_hash in done.items():
        if not dry_run:
            report.files_linked += bool(_link(store, xet_hash, files[sha256][1]))
    todo = sorted((sha, size_repos) for sha, size_repos in files.items() if sha not in done)
    report.candidates = len(todo)
    if dry_run or not todo:
        report.bytes_migrated = sum(size for _, (size, _) in todo) if dry_run else 0
        return report
    with tempfile.TemporaryDirectory(prefix="xet-migrate-", dir=store.blobs.tmp_dir) as tmp:
        scratch = Path(tmp)
        chunker = _Chunker(scratch / "cas")
        for sha256, (size, repos) in progress_bar(todo, progress, "files"):
            if not store.blobs.exists(sha256):
                report.errors.append(f"blob {sha256} is missing from storage (run workbench hub fsck)")
                continue
            _xet_hash, added = _register(store, chunker, sha256, repos, scratch)
            report.files_migrated += 1
            report.bytes_migrated += size
            report.xorbs_added += added
    return report
