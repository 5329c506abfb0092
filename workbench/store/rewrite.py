"""Rewriting a repo's history to free space or purge a leak: squash a branch to one commit
(``super_squash_history``), list the repo's large files and remove some from every commit
(``list_lfs_files``, ``permanently_delete_lfs_files``).

Neither edits a commit: both write new commits (trees and blobs are reused, nothing is
uploaded), move the refs in one transaction with the refs' rows locked, then delete the
commits of the repo that no ref reaches any more. A commit id stays addressable only while
some branch, tag, pull request or conversion ref reaches it; ``workbench hub gc`` then frees
the blobs (and Xet objects) that only dropped commits named. Comments, merge records and
evaluation runs that pinned a dropped commit keep its id, which no longer resolves; a
purge maps pull requests' fork points and comments to the rewritten commits.

>>> squash_branch(store, p, ("model", "acme", "bert"), "main", message="Squash")  # doctest: +SKIP
CommitResult(oid='5e1c...', parent=None, branch='main', changed=0)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from workbench.errors import InvalidRequest, NotFound
from workbench.names import validate_sha256
from workbench.store import collab_models as c
from workbench.store import models as m
from workbench.store.access import Principal, require_write
from workbench.store.audit import record_event
from workbench.store.commits import CommitResult, commit_oid
from workbench.store.gc import mark_purged_xet
from workbench.store.head_updates import branch_moved
from workbench.store.refs import list_refs, resolve_revision
from workbench.store.store import Store, insert_missing, utcnow
from workbench.store.trees import Tree, TreeEntry

REPO_SQUASH = "repo.squash"
REPO_PURGE = "repo.purge"
_PREFIX = {"branch": "refs/heads/", "tag": "refs/tags/", "pr": "refs/pr/", "convert": "refs/convert/"}
_REF_ORDER = {"branch": 0, "tag": 1, "pr": 2, "convert": 3}


@dataclass(frozen=True)
class LfsFile:
    """A large file some commit of the repo names, as ``list_lfs_files`` shows it: its first
    path and commit (oldest first), and the first ref (``main`` first) that reaches that commit."""

    sha256: str
    size: int
    path: str
    pointer_oid: str  # git blob id of its LFS pointer
    pushed_at: datetime
    ref: str | None
    xet_hash: str | None


@dataclass(frozen=True)
class PurgeResult:
    files: int
    commits_rewritten: int
    commits_dropped: int
    refs_moved: list[str]


def _lock_refs(s: Session) -> None:
    """Hold every commit back while refs move and commits are deleted: a commit racing the
    rewrite could otherwise build on a commit about to go (SQLite's BEGIN IMMEDIATE already
    serializes writers; PostgreSQL takes the lock GC takes, see ``workbench.store.gc``)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("LOCK TABLE refs IN EXCLUSIVE MODE"))


def _full_ref(ref: m.Ref) -> str:
    return _PREFIX[ref.kind] + ref.name


def _commits(s: Session, repo: m.Repo) -> dict[str, m.Commit]:
    return {row.oid: row for row in s.scalars(select(m.Commit).where(m.Commit.repo_id == repo.id))}


def _reached_by(refs: Iterable[m.Ref], parents: dict[str, str | None]) -> dict[str, m.Ref]:
    """For each commit some ref reaches, the first such ref (branches, ``main`` first)."""
    reach: dict[str, m.Ref] = {}
    ordered = sorted(refs, key=lambda r: (_REF_ORDER[r.kind], r.name != "main", r.name))
    for ref in ordered:
        oid: str | None = ref.commit_oid
        while oid is not None and oid in parents and oid not in reach:
            reach[oid] = ref
            oid = parents[oid]
    return reach


def drop_unreachable(s: Session, repo: m.Repo) -> int:
    """Delete the commits of ``repo`` that no ref reaches; return how many went."""
    rows = s.execute(select(m.Commit.oid, m.Commit.parent_oid).where(m.Commit.repo_id == repo.id))
    parents: dict[str, str | None] = {oid: parent for oid, parent in rows}
    doomed = sorted(parents.keys() - _reached_by(list_refs(s, repo), parents).keys())
    for i in range(0, len(doomed), 500):
        batch = doomed[i : i + 500]
        s.execute(delete(m.Commit).where(m.Commit.repo_id == repo.id, m.Commit.oid.in_(batch)))
        # what the viewer derived from a dropped Parquet commit holds its rows (a search index
        # is a blob GC would keep); a new head of main is converted again
        s.execute(delete(m.ViewerSearchIndex).where(m.ViewerSearchIndex.commit.in_(batch)))
        s.execute(delete(m.ViewerStatistics).where(m.ViewerStatistics.commit.in_(batch)))
    return len(doomed)


def _split_message(message: str, default: str) -> tuple[str, str]:
    title, _, description = (message or "").strip().partition("\n")
    return (title.strip() or default), description.strip()


# -- squash -------------------------------------------------------------------------------
def squash_branch(
    store: Store, p: Principal, repo_key: tuple[str, str, str], branch: str, *, message: str = ""
) -> tuple[CommitResult, int]:
    """Replace the history of ``branch`` with one parentless commit of its current tree;
    return it and how many commits were dropped (those no other ref reaches)."""
    with store.write() as s:
        repo = store.get_repo(s, *repo_key)
        require_write(s, p, repo)
        _lock_refs(s)
        resolved = resolve_revision(s, repo, branch)
        # A pull request's or a conversion's ref may be squashed too (the dataset viewer's
        # refs/convert/parquet is the public hub's use); a tag names one commit for good.
        if resolved.kind not in ("branch", "pr", "convert"):
            raise InvalidRequest(
                f"Only a branch's history can be squashed; {branch!r} is a {resolved.kind}.",
                code="NotABranch",
            )
        ref = s.scalar(
            select(m.Ref)
            .where(m.Ref.repo_id == repo.id, m.Ref.kind == resolved.kind, m.Ref.name == resolved.name)
            .with_for_update()
        )
        assert ref is not None  # resolved in this transaction, under the lock
        head = s.get(m.Commit, ref.commit_oid)
        assert head is not None
        tree = store.load_tree(s, head.tree_hash)
        title, description = _split_message(message, f"Super-squash branch '{resolved.name}'")
        now = utcnow()
        author = p.name or "anonymous"
        oid = commit_oid(tree.hash, None, author, now, title, description)
        s.add(
            m.Commit(
                oid=oid,
                repo_id=repo.id,
                parent_oid=None,
                tree_hash=tree.hash,
                author=author,
                title=title,
                description=description,
                created_at=now,
                depth=1 if tree.entries else 0,  # depth 0: a repo's empty first commit
            )
        )
        s.flush()
        ref.commit_oid, ref.updated_at = oid, now
        branch_moved(
            store,
            s,
            repo,
            tree,
            tree,
            oid,
            main=resolved.kind == "branch" and resolved.name == "main",
            now=now,
        )
        s.flush()
        dropped = drop_unreachable(s, repo)
        record_event(
            s,
            actor=p,
            action=REPO_SQUASH,
            repo=repo,
            details={"branch": resolved.name, "from": head.oid, "to": oid, "commitsDropped": dropped},
        )
        return CommitResult(oid, None, resolved.name, 0), dropped


# -- large files --------------------------------------------------------------------------
def _topological(commits: dict[str, m.Commit]) -> list[m.Commit]:
    """The repo's commits, each after its parent."""
    children: dict[str | None, list[m.Commit]] = {}
    for row in commits.values():
        parent = row.parent_oid if row.parent_oid in commits else None
        children.setdefault(parent, []).append(row)
    order: list[m.Commit] = []
    stack = sorted(children.get(None, []), key=lambda r: (r.created_at, r.oid), reverse=True)
    while stack:
        row = stack.pop()
        order.append(row)
        stack.extend(sorted(children.get(row.oid, []), key=lambda r: (r.created_at, r.oid), reverse=True))
    return order


def list_lfs_files(store: Store, s: Session, repo: m.Repo) -> list[LfsFile]:
    """Every large (LFS or Xet) file a commit of ``repo`` names, oldest first."""
    commits = _commits(s, repo)
    reach = _reached_by(list_refs(s, repo), {oid: row.parent_oid for oid, row in commits.items()})
    found: dict[str, LfsFile] = {}
    for row in sorted(commits.values(), key=lambda r: (r.created_at, r.depth, r.oid)):
        ref = reach.get(row.oid)
        for e in store.load_tree(s, row.tree_hash).entries.values():
            if e.lfs and e.sha256 not in found:
                found[e.sha256] = LfsFile(
                    sha256=e.sha256,
                    size=e.size,
                    path=e.path,
                    pointer_oid=e.git_oid,
                    pushed_at=row.created_at,
                    ref=_full_ref(ref) if ref is not None else None,
                    xet_hash=e.xet_hash,
                )
    return list(found.values())


def _without(store: Store, s: Session, tree: Tree, doomed: Collection[str]) -> Tree:
    kept: list[TreeEntry] = [e for e in tree.entries.values() if e.sha256 not in doomed]
    if len(kept) == len(tree.entries):
        return tree
    new = Tree.from_entries(kept)
    if s.get(m.Tree, new.hash) is None:
        insert_missing(s, m.Tree, hash=new.hash, entries=new.to_json())
    store.trees.put(new)
    return new


def _remap_pins(s: Session, repo: m.Repo, moved: dict[str, str]) -> None:
    """Point pull requests' fork points and merges, and comments on files, at the rewritten
    commits (they pin content the purge kept, less the purged files)."""
    for old, new in moved.items():
        for col in (c.Discussion.base_oid, c.Discussion.merge_oid):
            s.execute(
                update(c.Discussion).where(c.Discussion.repo_id == repo.id, col == old).values({col: new})
            )
        s.execute(
            update(c.CommentAnchor)
            .where(c.CommentAnchor.repo_id == repo.id, c.CommentAnchor.commit == old)
            .values(commit=new)
        )


def _unlink_xet(s: Session, repo: m.Repo, shas: Collection[str], xet_hashes: Collection[str]) -> None:
    """Cut the purged files' Xet versions off this repo (its Xet tokens reach them no more), and
    have GC free those no other repo links without waiting out the Xet grace period."""
    files = set(xet_hashes) | set(s.scalars(select(m.XetFile.hash).where(m.XetFile.sha256.in_(sorted(shas)))))
    if not files:
        return
    s.execute(
        delete(m.XetFileRepo).where(m.XetFileRepo.repo_id == repo.id, m.XetFileRepo.file_hash.in_(files))
    )
    linked = set(s.scalars(select(m.XetFileRepo.file_hash).where(m.XetFileRepo.file_hash.in_(files))))
    mark_purged_xet(s, files - linked)


def purge_lfs_files(
    store: Store,
    p: Principal,
    repo_key: tuple[str, str, str],
    shas: Collection[str],
    *,
    rewrite_history: bool,
) -> PurgeResult:
    """Remove the files ``shas`` (SHA-256; large files, and regular ones too) from every commit
    of the repo, rewriting the commits that named them and their descendants, and moving the
    refs that reached them."""
    with store.write() as s:
        repo = store.get_repo(s, *repo_key)
        require_write(s, p, repo)
        if not rewrite_history:
            raise InvalidRequest(
                "This hub purges large files by rewriting history only (rewriteHistory: true): "
                "a commit naming bytes the hub no longer holds would break its downloads.",
                code="RewriteHistoryRequired",
            )
        doomed = {validate_sha256(sha) for sha in shas}
        if not doomed:
            raise InvalidRequest("Name the large files to delete: deletions.sha.", code="MissingField")
        _lock_refs(s)
        refs = list(s.scalars(select(m.Ref).where(m.Ref.repo_id == repo.id).with_for_update()))
        commits = _commits(s, repo)
        reach = _reached_by(refs, {oid: row.parent_oid for oid, row in commits.items()})
        named: dict[str, str | None] = {}  # sha256 -> Xet hash
        for tree_hash in {row.tree_hash for row in commits.values()}:
            for e in store.load_tree(s, tree_hash).entries.values():
                if e.sha256 in doomed:  # a regular file's SHA-256 too: a leak is rarely large
                    named[e.sha256] = named.get(e.sha256) or e.xet_hash
        if missing := sorted(doomed - named.keys()):
            raise NotFound(
                f"No commit of {repo.namespace}/{repo.name} names the file(s) with SHA-256 "
                f"{', '.join(missing[:5])}: list the large ones with list_lfs_files.",
                code="LfsFileNotFound",
            )
        moved: dict[str, str] = {}
        trees: dict[str, tuple[Tree, Tree]] = {}  # new oid -> (old tree, new tree)
        for row in _topological(commits):
            if row.oid not in reach:  # no ref reaches it: dropped below, not rewritten
                continue
            old_tree = store.load_tree(s, row.tree_hash)
            tree = _without(store, s, old_tree, doomed)
            parent = moved.get(row.parent_oid or "", row.parent_oid)
            if tree is old_tree and parent == row.parent_oid:
                continue
            oid = commit_oid(tree.hash, parent, row.author, row.created_at, row.title, row.description)
            s.add(
                m.Commit(
                    oid=oid,
                    repo_id=repo.id,
                    parent_oid=parent,
                    tree_hash=tree.hash,
                    author=row.author,
                    title=row.title,
                    description=row.description,
                    created_at=row.created_at,
                    depth=row.depth,
                )
            )
            moved[row.oid] = oid
            trees[oid] = (old_tree, tree)
        s.flush()
        now = utcnow()
        refs_moved = []
        for ref in refs:
            new = moved.get(ref.commit_oid)
            if new is None:
                continue
            ref.commit_oid, ref.updated_at = new, now
            refs_moved.append(_full_ref(ref))
            if ref.kind == "branch":
                old_tree, tree = trees[new]
                branch_moved(store, s, repo, old_tree, tree, new, main=ref.name == "main", now=now)
        s.flush()
        _remap_pins(s, repo, moved)
        dropped = drop_unreachable(s, repo)
        _unlink_xet(s, repo, named.keys(), [h for h in named.values() if h])
        record_event(
            s,
            actor=p,
            action=REPO_PURGE,
            repo=repo,
            details={"files": sorted(named)[:50], "commitsRewritten": len(moved), "refs": refs_moved[:50]},
        )
        return PurgeResult(len(named), len(moved), dropped, refs_moved)
