"""Consistency check of a hub's metadata store against its blob store (``workbench hub fsck``).

Checks that every ref points at a commit of its repo, every commit's parent and tree exist,
every tree row hashes to its key, and every file a tree names is stored with the right size
(and, with ``verify_hashes``, the right SHA-256 and git blob id). Blobs nobody references and
temporary files left by crashes are harmless and reported as notes, not problems.

>>> report = fsck(Store.open(HubSettings(data_dir="/tmp/wb")))   # doctest: +SKIP
>>> report.ok, report.counts["commits"]                           # doctest: +SKIP
(True, 12)
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from workbench.errors import IntegrityError, InvalidRequest
from workbench.names import TYPE_PLURALS
from workbench.store import models as m
from workbench.store.blobs import CHUNK
from workbench.store.store import Store
from workbench.store.trees import git_blob_oid, lfs_pointer, parse_tree, tree_hash
from workbench.xet.hashing import hex_to_hash
from workbench.xet.xorb import scan_xorb, verify_xorb


@dataclass(frozen=True)
class Problem:
    """One finding: ``kind`` is a stable identifier, ``subject`` what it is about."""

    kind: str
    subject: str
    message: str


@dataclass
class FsckReport:
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": self.counts,
            "problems": [asdict(p) for p in self.problems],
            "notes": [asdict(n) for n in self.notes],
        }


@dataclass
class _BlobUse:
    """What the trees expect of one blob: its size, and git ids of regular entries."""

    size: int
    where: str  # one place that uses it, for messages
    git_oids: set[str] = field(default_factory=set)


def fsck(store: Store, *, verify_hashes: bool = True, progress: bool = False) -> FsckReport:
    """Check the whole hub; see the module docstring. Never modifies anything."""
    report = FsckReport()
    with snapshot(store) as s:
        repos = {r.id: r for r in s.scalars(select(m.Repo))}
        names = {rid: _repo_name(r) for rid, r in repos.items()}
        # Refs before commits: commits are only ever added, so even where the session is no
        # snapshot, a ref read first never points at a commit that a later read misses.
        refs = list(s.scalars(select(m.Ref)))
        commits = {c.oid: c for c in progress_bar(s.scalars(select(m.Commit)), progress, "commits")}
        tree_uses: dict[str, str] = {}  # tree hash -> one commit using it
        _check_refs(report, repos, names, refs, commits)
        for c in commits.values():
            _check_commit(report, names, commits, c)
            tree_uses.setdefault(c.tree_hash, f"{names.get(c.repo_id, c.repo_id)}@{c.oid}")
        xet_uses: dict[str, _XetUse] = {}
        blobs, n_trees = _check_trees(s, report, tree_uses, progress, xet_uses)
        # One listing of the store, after the snapshot began: every blob it names is in it.
        held = store.blobs.sizes()
        xet_blobs = _check_xet(s, store, report, xet_uses, held, verify_hashes=verify_hashes)
        rows = {b.sha256: b for b in s.scalars(select(m.Blob))}
        for idx in s.scalars(select(m.ViewerSearchIndex)):  # derived blobs outside any tree
            if idx.blob_sha256 not in blobs:
                row = rows.get(idx.blob_sha256)
                blobs[idx.blob_sha256] = _BlobUse(
                    row.size if row is not None else -1,
                    f"search index of {idx.config}/{idx.split} in Parquet commit {idx.commit}",
                )
        from workbench.store.evals import EvalRun

        for run_id, sha in s.execute(
            select(EvalRun.id, EvalRun.executed_sha256).where(EvalRun.executed_sha256.is_not(None))
        ):
            if sha is not None and sha not in blobs:  # executed notebooks: outside any tree
                row = rows.get(sha)
                blobs[sha] = _BlobUse(
                    row.size if row is not None else -1, f"executed notebook of evaluation run {run_id}"
                )
    _check_blobs(store, report, blobs, rows, held, verify_hashes=verify_hashes, progress=progress)
    stored = _note_orphans(store, report, held, blobs.keys() | xet_blobs)
    report.counts.update(
        repos=len(repos),
        refs=len(refs),
        commits=len(commits),
        trees=n_trees,
        blobs=len(blobs),
        blob_rows=len(rows),
        stored_blobs=stored,
    )
    return report


@contextmanager
def snapshot(store: Store) -> Iterator[Session]:
    """A read session that sees one consistent state (REPEATABLE READ on PostgreSQL)."""
    engine = store.engine
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(engine, expire_on_commit=False) as s, s.begin():
        yield s


def _repo_name(repo: m.Repo) -> str:
    return f"{TYPE_PLURALS.get(repo.type, repo.type)}/{repo.namespace}/{repo.name}"


def progress_bar(
    items: Iterable[Any], progress: bool, desc: str, *, total: int | None = None
) -> Iterable[Any]:
    """``items``, counted on stderr with tqdm when ``progress`` (out of ``total`` where the
    items have no length)."""
    return tqdm(items, desc=desc, unit=f" {desc}", total=total) if progress else items


def tree_rows(s: Session, hashes: Collection[str] | None = None) -> Iterator[tuple[str, str]]:
    """(hash, entries JSON) of every tree row, or of those in ``hashes``; streamed."""
    if hashes is None:
        yield from s.execute(select(m.Tree.hash, m.Tree.entries)).yield_per(200)
        return
    wanted = sorted(hashes)
    for i in range(0, len(wanted), 500):
        yield from s.execute(select(m.Tree.hash, m.Tree.entries).where(m.Tree.hash.in_(wanted[i : i + 500])))


def _check_refs(
    report: FsckReport,
    repos: dict[int, m.Repo],
    names: dict[int, str],
    refs: list[m.Ref],
    commits: dict[str, m.Commit],
) -> None:
    branches = {(r.repo_id, r.name) for r in refs if r.kind == "branch"}
    for repo_id, name in names.items():
        if (repo_id, "main") not in branches:
            report.problems.append(Problem("missing_main", name, f"{name} has no 'main' branch."))
    for ref in refs:
        subject = f"{names.get(ref.repo_id, ref.repo_id)}@{ref.kind}:{ref.name}"
        commit = commits.get(ref.commit_oid)
        if ref.repo_id not in repos:
            report.problems.append(Problem("orphan_ref", subject, f"{subject} belongs to no repository."))
        elif commit is None:
            report.problems.append(
                Problem(
                    "missing_commit",
                    subject,
                    f"{subject} points at commit {ref.commit_oid}, which does not exist.",
                )
            )
        elif commit.repo_id != ref.repo_id:
            report.problems.append(
                Problem(
                    "foreign_commit",
                    subject,
                    f"{subject} points at commit {ref.commit_oid} of "
                    f"another repository "
                    f"({names.get(commit.repo_id, commit.repo_id)}).",
                )
            )


def _check_commit(
    report: FsckReport, names: dict[int, str], commits: dict[str, m.Commit], c: m.Commit
) -> None:
    subject = f"{names.get(c.repo_id, c.repo_id)}@{c.oid}"
    if c.parent_oid is not None:
        parent = commits.get(c.parent_oid)
        if parent is None:
            report.problems.append(
                Problem(
                    "missing_parent",
                    subject,
                    f"Commit {subject} has parent {c.parent_oid}, which does not exist.",
                )
            )
        elif parent.repo_id != c.repo_id:
            report.problems.append(
                Problem(
                    "foreign_parent",
                    subject,
                    f"Commit {subject} has parent {c.parent_oid} from another repository.",
                )
            )


def _check_trees(
    s: Session, report: FsckReport, tree_uses: dict[str, str], progress: bool, xet_uses: dict[str, _XetUse]
) -> tuple[dict[str, _BlobUse], int]:
    """Check every tree row; collect what the referenced trees expect of each blob."""
    blobs: dict[str, _BlobUse] = {}
    seen: set[str] = set()
    n = 0
    for key, text in progress_bar(tree_rows(s), progress, "trees"):
        n += 1
        seen.add(key)
        used_by = tree_uses.get(key)
        try:
            tree = parse_tree(key, text)
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            report.problems.append(Problem("bad_tree", key, f"Tree {key} cannot be parsed: {exc}."))
            continue
        actual = tree_hash(tree.entries.values())
        if actual != key:
            report.problems.append(
                Problem(
                    "tree_hash_mismatch",
                    key,
                    f"Tree {key} hashes to {actual}: its entries were changed after it was written.",
                )
            )
        if used_by is None:
            report.notes.append(Problem("orphan_tree", key, f"Tree {key} is used by no commit."))
            continue
        for e in tree.entries.values():
            where = f"{used_by}:{e.path}"
            if e.lfs and e.git_oid != git_blob_oid(lfs_pointer(e.sha256, e.size)):
                report.problems.append(
                    Problem(
                        "bad_lfs_oid",
                        where,
                        f"{where} is an LFS file whose git id {e.git_oid} is not that of its pointer file.",
                    )
                )
            if e.xet_hash:  # stored as xorb chunks, checked by _check_xet
                xet_uses.setdefault(e.xet_hash, _XetUse(e.sha256, e.size, where))
                continue
            use = blobs.get(e.sha256)
            if use is None:
                use = blobs[e.sha256] = _BlobUse(e.size, where)
            elif use.size != e.size:
                report.problems.append(
                    Problem(
                        "entry_size_mismatch",
                        where,
                        f"{where} says blob {e.sha256} has {e.size} bytes; {use.where} says {use.size}.",
                    )
                )
            if not e.lfs:
                use.git_oids.add(e.git_oid)
    for key in tree_uses.keys() - seen:
        report.problems.append(
            Problem(
                "missing_tree",
                tree_uses[key],
                f"Commit {tree_uses[key]} has tree {key}, which does not exist.",
            )
        )
    return blobs, n


def _check_blobs(
    store: Store,
    report: FsckReport,
    blobs: dict[str, _BlobUse],
    rows: dict[str, m.Blob],
    held: dict[str, int],
    *,
    verify_hashes: bool,
    progress: bool,
) -> None:
    to_hash: list[str] = []
    for sha, use in blobs.items():
        row = rows.get(sha)
        if row is None:
            report.problems.append(
                Problem(
                    "missing_blob_row",
                    sha,
                    f"Blob {sha} (used by {use.where}) has no row in the blobs table.",
                )
            )
        elif row.size != use.size:
            report.problems.append(
                Problem(
                    "blob_row_size",
                    sha,
                    f"Blob {sha} is recorded with {row.size} bytes; {use.where} says {use.size}.",
                )
            )
        size = held.get(sha)
        if size is None:
            report.problems.append(
                Problem(
                    "missing_blob",
                    sha,
                    f"Blob {sha} (used by {use.where}) is not in the blob store ({store.blobs.key(sha)}).",
                )
            )
            continue
        if size != use.size:
            report.problems.append(
                Problem(
                    "blob_size_mismatch",
                    sha,
                    f"Blob {sha} (used by {use.where}) has {size} bytes "
                    f"in the blob store, {use.size} expected.",
                )
            )
            continue
        if verify_hashes:
            to_hash.append(sha)
        elif row is not None and row.git_oid is not None and use.git_oids - {row.git_oid}:
            report.problems.append(_git_mismatch(sha, use, row.git_oid))
    total = sum(blobs[sha].size for sha in to_hash)
    bar = tqdm(total=total, desc="hashing", unit="B", unit_scale=True) if progress else None
    try:
        for sha in to_hash:
            use = blobs[sha]
            actual_sha, actual_git = _hash_blob(store, sha, use.size, bar)
            if actual_sha != sha:
                report.problems.append(
                    Problem(
                        "blob_hash_mismatch",
                        sha,
                        f"Blob {sha} (used by {use.where}) is corrupt: its content hashes to {actual_sha}.",
                    )
                )
                continue
            if use.git_oids - {actual_git}:
                report.problems.append(_git_mismatch(sha, use, actual_git))
            row = rows.get(sha)
            if row is not None and row.git_oid is not None and row.git_oid != actual_git:
                report.problems.append(
                    Problem(
                        "blob_row_git_oid",
                        sha,
                        f"Blob {sha} is recorded with git id {row.git_oid}; its content has {actual_git}.",
                    )
                )
    finally:
        if bar is not None:
            bar.close()
    report.counts["bytes_hashed"] = total if verify_hashes else 0


def _git_mismatch(sha: str, use: _BlobUse, actual: str) -> Problem:
    wrong = ", ".join(sorted(use.git_oids - {actual}))
    return Problem(
        "git_oid_mismatch",
        sha,
        f"Blob {sha} has git id {actual}, but tree entries (e.g. {use.where}) say {wrong}.",
    )


def _hash_blob(store: Store, sha: str, size: int, bar: Any) -> tuple[str, str]:
    h = hashlib.sha256()
    g = hashlib.sha1(b"blob %d\x00" % size)
    with store.blobs.open(sha) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            g.update(chunk)
            if bar is not None:
                bar.update(len(chunk))
    return h.hexdigest(), g.hexdigest()


@dataclass(frozen=True)
class _XetUse:
    """What the trees expect of one Xet file: its SHA-256 and size."""

    sha256: str
    size: int
    where: str


def _check_xet(
    s: Session,
    store: Store,
    report: FsckReport,
    uses: dict[str, _XetUse],
    held: dict[str, int],
    *,
    verify_hashes: bool,
) -> set[str]:
    """Check the Xet files trees name, the xorbs files need, and the blobs of xorbs and
    shards; return those blobs' SHA-256s (used, so never orphans)."""
    files = {f.hash: f for f in s.scalars(select(m.XetFile))}
    xorbs = {x.hash: (x.blob_sha256, x.size) for x in s.scalars(select(m.XetXorb))}
    shards = [(x.blob_sha256, x.size) for x in s.scalars(select(m.XetShard))]
    for xet_hash, use in uses.items():
        row = files.get(xet_hash)
        if row is None:
            report.problems.append(
                Problem(
                    "missing_xet_file", use.where, f"{use.where} names Xet file {xet_hash}, not registered."
                )
            )
        elif row.size != use.size or row.sha256 != use.sha256 or not row.sha256_verified:
            report.problems.append(
                Problem(
                    "xet_file_mismatch",
                    use.where,
                    f"{use.where} names Xet file {xet_hash} as {use.sha256} ({use.size} bytes); it is "
                    f"registered as {row.sha256} ({row.size} bytes, verified: {row.sha256_verified}).",
                )
            )
    for f in files.values():
        for term in f.terms:
            if term[0] not in xorbs:
                report.problems.append(
                    Problem("missing_xorb", f.hash, f"Xet file {f.hash} needs xorb {term[0]}, not stored.")
                )
    used = set()
    checked = [("xorb", h, *v) for h, v in xorbs.items()] + [("shard", None, *v) for v in shards]
    for what, xorb_hash, sha, size in checked:
        used.add(sha)
        stored = held.get(sha)
        if stored != size:
            report.problems.append(
                Problem(
                    f"{what}_blob",
                    sha,
                    f"The {what} blob {sha} has {stored} bytes in the blob store, {size} expected.",
                )
            )
        elif verify_hashes and not (
            _xorb_intact(store, sha, size, xorb_hash)
            if xorb_hash is not None
            else _hash_blob(store, sha, size, None)[0] == sha
        ):
            report.problems.append(Problem(f"{what}_blob", sha, f"The {what} blob {sha} is corrupt."))
    report.counts.update(xet_files=len(files), xorbs=len(xorbs), shards=len(shards))
    return used


def _xorb_intact(store: Store, key: str, size: int, xorb_hash: str) -> bool:
    """Whether a xorb's blob still hashes to the xorb's hash (its key, or the SHA-256 of its
    records for xorbs stored by earlier versions: the Xet hash is what proves it either way)."""
    try:
        with store.blobs.open(key) as f:
            verify_xorb(scan_xorb(f, size), hex_to_hash(xorb_hash))
    except (IntegrityError, InvalidRequest):
        return False
    return True


def _note_orphans(store: Store, report: FsckReport, held: dict[str, int], blobs: Collection[str]) -> int:
    n = 0
    for sha in sorted(held):
        n += 1
        if sha not in blobs:
            report.notes.append(Problem("orphan_blob", sha, f"Blob {sha} is stored but no commit uses it."))
    if store.blobs.tmp_dir.is_dir():
        for p in sorted(store.blobs.tmp_dir.iterdir()):
            report.notes.append(
                Problem("temp_file", str(p), f"Temporary file {p} of an interrupted or running upload.")
            )
    return n
