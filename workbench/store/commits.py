"""Atomic commits, history and diffs.

A commit is applied in one database transaction: the new tree and commit rows are written,
then the branch moves with a compare-and-swap on the commit it pointed at. Blobs were
stored before (content-addressed, idempotent), so a crash at any point leaves every branch
at a complete commit. A stale ``parent_commit`` gets 412 and changes nothing; without one,
a commit that lost the race is re-applied on the new head.

>>> result = create_commit(store, p, repo_key, "main", [DeleteFile("old.txt")],
...                        summary="Remove old.txt")          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workbench.errors import (
    Conflict,
    EntryNotFound,
    InvalidRequest,
    PreconditionFailed,
    RevisionNotFound,
)
from workbench.names import validate_path
from workbench.store import models as m
from workbench.store.access import Principal
from workbench.store.blobs import BlobInfo
from workbench.store.head_updates import branch_moved
from workbench.store.paper_text import extract_ahead
from workbench.store.pr_refs import require_push
from workbench.store.refs import Resolved, branch_head, resolve_revision
from workbench.store.storage import check_quota, tree_storage
from workbench.store.store import Store, insert_missing, retry_delays, sleep, utcnow
from workbench.store.trees import Tree, TreeEntry, check_file_dir_clashes
from workbench.store.xet_cas import XetFileRef, committable_file

#: The public hub's answer to a stale parent commit, which the HF clients' users match.
BRANCH_MOVED = "The branch was updated since you opened this page. Please refresh and try again."


@dataclass(frozen=True)
class AddFile:
    path: str
    blob: BlobInfo
    lfs: bool = False


@dataclass(frozen=True)
class AddLfsObject:
    """A file whose bytes were uploaded before (LFS batch) and are referenced by SHA-256."""

    path: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class DeleteFolder:
    path: str


Operation = AddFile | AddLfsObject | DeleteFile | DeleteFolder


@dataclass(frozen=True)
class CommitResult:
    oid: str
    parent: str | None
    branch: str
    changed: int


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added | removed | modified
    old: TreeEntry | None
    new: TreeEntry | None


def commit_oid(
    tree_hash: str, parent: str | None, author: str, when: datetime, title: str, description: str
) -> str:
    text = (
        f"tree {tree_hash}\nparent {parent or ''}\nauthor {author} {when.isoformat()}\n"
        f"nonce {secrets.token_hex(8)}\n\n{title}\n\n{description}"
    )
    return hashlib.sha1(text.encode()).hexdigest()


def _ensure_blob(session: Session, info: BlobInfo) -> None:
    row = session.get(m.Blob, info.sha256)
    if row is None:
        insert_missing(
            session, m.Blob, sha256=info.sha256, size=info.size, git_oid=info.git_oid, created_at=utcnow()
        )
    elif row.git_oid is None and info.git_oid is not None:
        row.git_oid = info.git_oid


def _xet_files(store: Store, repo_key: tuple[str, str, str], ops: list[Operation]) -> dict[str, XetFileRef]:
    """The Xet files (by SHA-256) that the commit's LFS operations name, verified before the
    commit's transaction: rebuilding a file must not hold the database's write lock."""
    wanted = sorted({op.sha256 for op in ops if isinstance(op, AddLfsObject)})
    if not wanted:
        return {}
    with store.read() as s:
        repo_id = store.get_repo(s, *repo_key).id
    found = {}
    for sha256 in wanted:
        ref = committable_file(store, sha256, repo_id=repo_id)
        if ref is not None:
            found[sha256] = ref
    return found


def _apply(
    session: Session, base: Tree, ops: list[Operation], xet_files: dict[str, XetFileRef]
) -> dict[str, TreeEntry]:
    files = dict(base.entries)
    for op in ops:
        path = validate_path(op.path.strip("/") if isinstance(op, DeleteFolder) else op.path)
        if isinstance(op, DeleteFile):
            # a folder's name deletes the folder, as on the public hub (the HF clients send a
            # path without a trailing '/' as deletedFile)
            doomed = [path] if path in files else [p for p in files if p.startswith(path + "/")]
            if not doomed:
                raise EntryNotFound(f"A file with this name doesn't exist: {path!r}.")
            for p in doomed:
                del files[p]
        elif isinstance(op, DeleteFolder):
            prefix = path + "/"
            doomed = [p for p in files if p.startswith(prefix) or p == path]
            if not doomed:
                raise EntryNotFound(f"A folder with this name doesn't exist: {path!r}.")
            for p in doomed:
                del files[p]
        elif isinstance(op, AddFile):
            files[path] = (
                TreeEntry.large(path, op.blob.sha256, op.blob.size)
                if op.lfs
                else TreeEntry.regular(path, op.blob.sha256, op.blob.size, op.blob.git_oid or "")
            )
        elif (xet := xet_files.get(op.sha256)) is not None:
            if op.size is not None and op.size != xet.size:
                raise InvalidRequest(
                    f"Xet file {xet.hash} has {xet.size} bytes, the commit declares {op.size}.",
                    code="SizeMismatch",
                )
            files[path] = TreeEntry.large(path, op.sha256, xet.size, xet_hash=xet.hash)
        else:
            blob = session.get(m.Blob, op.sha256)
            if blob is None:
                raise InvalidRequest(
                    f"LFS object {op.sha256} for {path!r} was never uploaded: send "
                    "it through the LFS batch API or Xet before committing.",
                    code="LfsObjectMissing",
                )
            if op.size is not None and op.size != blob.size:
                raise InvalidRequest(
                    f"LFS object {op.sha256} has {blob.size} bytes, the commit declares {op.size}.",
                    code="SizeMismatch",
                )
            files[path] = TreeEntry.large(path, op.sha256, blob.size)
    check_file_dir_clashes(files)
    return files


def create_commit(
    store: Store,
    p: Principal,
    repo_key: tuple[str, str, str],
    revision: str,
    ops: list[Operation],
    *,
    summary: str,
    description: str = "",
    parent_commit: str | None = None,
    blobs: Sequence[BlobInfo] = (),
) -> CommitResult:
    """Apply ``ops`` on the head of branch ``revision`` atomically; see the module docstring."""
    summary = (summary or "").strip() or "Update files"
    if repo_key[0] == "paper" and revision in ("main", "refs/heads/main") and p.scope == "write":
        extract_ahead(
            store,
            [
                (op.path, op.blob.sha256, op.blob.size)
                if isinstance(op, AddFile)
                else (op.path, op.sha256, op.size or 0)
                for op in ops
                if isinstance(op, AddFile | AddLfsObject)
            ],
        )
    xet_files = _xet_files(store, repo_key, ops)
    for delay in retry_delays():
        with store.write() as s:
            repo = store.get_repo(s, *repo_key)
            require_push(s, p, repo, revision)  # writers, or a PR's author on its refs/pr/N
            resolved = resolve_revision(s, repo, revision)
            if resolved.kind not in ("branch", "pr"):
                raise InvalidRequest(
                    f"Commits go to a branch; {revision!r} is a {resolved.kind}.", code="NotABranch"
                )
            # Lock the branch row: concurrent commits to one branch queue up here (PostgreSQL
            # row lock; SQLite's BEGIN IMMEDIATE already serializes writers) instead of racing
            # to the compare-and-swap below and retrying.
            ref = s.scalar(
                select(m.Ref)
                .where(m.Ref.repo_id == repo.id, m.Ref.kind == resolved.kind, m.Ref.name == resolved.name)
                .with_for_update()
            )
            if ref is None:  # deleted since it was resolved
                raise RevisionNotFound(f"Branch {resolved.name!r} no longer exists.")
            s.refresh(ref)
            head = ref.commit_oid
            if parent_commit and not head.startswith(parent_commit.lower()):
                raise PreconditionFailed(
                    f"{BRANCH_MOVED} The branch {resolved.name!r} moved: its head is {head}, "
                    f"not {parent_commit}. Fetch the new head and retry.",
                    code="StaleParentCommit",
                    head=head,
                )
            base_commit = s.get(m.Commit, head)
            assert base_commit is not None
            base = store.load_tree(s, base_commit.tree_hash)
            for info in blobs:
                _ensure_blob(s, info)
            for op in ops:
                if isinstance(op, AddFile):
                    _ensure_blob(s, op.blob)
            files = _apply(s, base, ops, xet_files)
            tree = Tree.from_entries(files.values())
            check_quota(store, s, repo.namespace, tree_storage(tree) - tree_storage(base))
            if s.get(m.Tree, tree.hash) is None:
                insert_missing(s, m.Tree, hash=tree.hash, entries=tree.to_json())
            s.flush()
            now = utcnow()
            oid = commit_oid(tree.hash, head, p.name or "anonymous", now, summary, description)
            s.add(
                m.Commit(
                    oid=oid,
                    repo_id=repo.id,
                    parent_oid=head,
                    tree_hash=tree.hash,
                    author=p.name or "anonymous",
                    title=summary,
                    description=description,
                    created_at=now,
                    depth=base_commit.depth + 1,
                )
            )
            s.flush()
            moved = s.execute(
                update(m.Ref)
                .where(m.Ref.id == ref.id, m.Ref.commit_oid == head)
                .values(commit_oid=oid, updated_at=now)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                if parent_commit:
                    raise PreconditionFailed(
                        f"{BRANCH_MOVED} The branch {resolved.name!r} moved while committing; "
                        "retry with the new head.",
                        code="StaleParentCommit",
                    )
                s.rollback()
                sleep(delay)
                continue
            main = resolved.kind == "branch" and resolved.name == "main"
            ref_name = f"refs/{'heads' if resolved.kind == 'branch' else 'pr'}/{resolved.name}"
            branch_moved(
                store, s, repo, base, tree, oid, main=main, now=now, ref=ref_name, old_oid=head, actor=p
            )
            changed = len(diff_trees(base, tree))
            return CommitResult(oid, head, resolved.name, changed)
    raise Conflict("Too many concurrent commits to this branch; retry in a moment.", code="CommitContention")


def checkout(store: Store, session: Session, repo: m.Repo, revision: str) -> tuple[Resolved, m.Commit, Tree]:
    """Resolve ``revision`` and return it with its commit row and file tree."""
    head = branch_head(session, repo, revision)
    if head is not None:
        resolved, commit = head
        return resolved, commit, store.load_tree(session, commit.tree_hash)
    resolved = resolve_revision(session, repo, revision)
    found = session.get(m.Commit, resolved.oid)
    if found is None:
        raise RevisionNotFound(f"Commit {resolved.oid} not found.")
    return resolved, found, store.load_tree(session, found.tree_hash)


def commit_tree(store: Store, session: Session, oid: str) -> Tree:
    commit = session.get(m.Commit, oid)
    if commit is None:
        raise RevisionNotFound(f"Commit {oid} not found.")
    return store.load_tree(session, commit.tree_hash)


def history(session: Session, repo: m.Repo, head: str) -> list[m.Commit]:
    """Commits reachable from ``head``, newest first."""
    rows = {c.oid: c for c in session.scalars(select(m.Commit).where(m.Commit.repo_id == repo.id))}
    out: list[m.Commit] = []
    oid: str | None = head
    while oid is not None and oid in rows:
        out.append(rows[oid])
        oid = rows[oid].parent_oid
    return out


def diff_trees(old: Tree, new: Tree) -> list[FileChange]:
    changes = []
    for path in old.changed_paths(new):
        a, b = old.get(path), new.get(path)
        status = "added" if a is None else "removed" if b is None else "modified"
        changes.append(FileChange(path, status, a, b))
    return changes


def last_commits(
    store: Store, session: Session, repo: m.Repo, head: str, paths: list[str], *, max_commits: int = 1000
) -> dict[str, m.Commit]:
    """For each path (file or folder), the newest commit that changed it."""
    found: dict[str, m.Commit] = {}
    commits = history(session, repo, head)[:max_commits]
    for i, commit in enumerate(commits):
        if len(found) == len(paths):
            break
        tree = store.load_tree(session, commit.tree_hash)
        parent = (
            store.load_tree(session, commits[i + 1].tree_hash)
            if i + 1 < len(commits)
            else Tree.from_entries([])
        )
        changed = {c.path for c in diff_trees(parent, tree)}
        for path in paths:
            if path in found:
                continue
            prefix = path + "/"
            if path in changed or any(c.startswith(prefix) for c in changed):
                found[path] = commit
    return found
