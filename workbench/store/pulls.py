"""Pull requests: a discussion with a ``refs/pr/N`` branch forked from its target branch.

The PR remembers where it forked (``base_oid``). Merging, in one transaction:

* fast-forward when the target still points at the fork point;
* otherwise a new commit on the target that applies the PR's changes (3-way on paths: what
  the PR changed relative to the fork point, onto what the target has now), when no path was
  changed differently on both sides, or when the only such paths are notebooks that both
  sides edited and nbdime merges cell by cell (``notebook_diff.merge_notebook``);
* otherwise 409 ``MergeConflict`` listing the conflicting files (and, for a notebook, the
  conflicting cells); nothing changes.

That decision is :func:`plan_merge`'s, which also gives a PR's ``filesWithConflicts``.

Before any of that, the PR must have the approvals its repo requires (``approvals``).

>>> merge_pull_request(store, p, key, 3)                                    # doctest: +SKIP
MergeResult(oid='9c1e...', fast_forward=True, conflicts=[])
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest, RevisionNotFound
from workbench.store import collab_models as c
from workbench.store import discussions as disc
from workbench.store import models as m
from workbench.store import webhook_events
from workbench.store.access import Principal, readable_repo, require_write
from workbench.store.approvals import require_approvals
from workbench.store.audit import record_event
from workbench.store.commits import commit_oid, commit_tree, diff_trees
from workbench.store.head_updates import branch_moved
from workbench.store.inbox import notify_status
from workbench.store.notebook_diff import merge_notebook
from workbench.store.pr_refs import pr_head
from workbench.store.refs import get_ref
from workbench.store.storage import check_quota, tree_storage
from workbench.store.store import Store, insert_missing, utcnow
from workbench.store.trees import Tree, TreeEntry, check_file_dir_clashes

MAX_DIFF_FILE_BYTES = 512 * 1024
MAX_DIFF_CHARS = 2 * 1024 * 1024


@dataclass(frozen=True)
class PrCommit:
    oid: str
    title: str
    author: str
    created_at: datetime


@dataclass(frozen=True)
class PrState:
    target: str
    head: str
    base: str
    commits: list[PrCommit]
    conflicts: list[str]
    merge_oid: str | None
    diff: str | None


@dataclass(frozen=True)
class MergeResult:
    oid: str
    fast_forward: bool


def pr_commits(s: Session, repo: m.Repo, d: c.Discussion) -> list[PrCommit]:
    """Commits on the PR since its fork point, oldest first."""
    out: list[PrCommit] = []
    oid: str | None = pr_head(s, repo, d)
    while oid and oid != d.base_oid and len(out) < 1000:
        row = s.get(m.Commit, oid)
        if row is None or row.repo_id != repo.id:
            break
        out.append(PrCommit(row.oid, row.title, row.author, row.created_at))
        oid = row.parent_oid
    return out[::-1]


def _changes(base: Tree, other: Tree) -> dict[str, TreeEntry | None]:
    return {ch.path: ch.new for ch in diff_trees(base, other)}


def conflicting_files(base: Tree, target: Tree, pr: Tree) -> list[str]:
    """The paths both sides changed differently since ``base`` (before any notebook merge)."""
    ours, theirs = _changes(base, target), _changes(base, pr)
    return sorted(p for p in set(ours) & set(theirs) if ours[p] != theirs[p])


@dataclass(frozen=True)
class MergePlan:
    """How a pull request's changes land on its target: the notebooks nbdime merges cell by
    cell (their merged bytes), and the files that cannot merge (``conflicts``), with the
    reason for each notebook among them and its conflicting cells (``cells``)."""

    notebooks: dict[str, bytes]
    conflicts: list[str]
    reasons: list[str]
    cells: dict[str, list[int]]


def plan_merge(store: Store, base: Tree, target: Tree, pr: Tree) -> MergePlan:
    """The one merge decision, for merging and for the PR's ``filesWithConflicts``: a path
    both sides changed differently merges when it is a notebook on all three sides and
    nbdime merges it; otherwise it is a conflict."""
    notebooks: dict[str, bytes] = {}
    conflicts: list[str] = []
    reasons: list[str] = []
    cells: dict[str, list[int]] = {}
    for path in conflicting_files(base, target, pr):
        trio = (base.get(path), target.get(path), pr.get(path))
        if path.endswith(".ipynb") and all(trio):
            try:
                notebooks[path] = merge_notebook(path, *(store.blobs.read(e.sha256) for e in trio if e))
                continue
            except Conflict as exc:  # cells both sides changed differently
                reasons.append(exc.message)
                cells.update(exc.details.get("conflicting_cells") or {})
            except InvalidRequest:  # a side that is not a notebook: a plain conflict
                pass
        conflicts.append(path)
    return MergePlan(notebooks, conflicts, reasons, cells)


def _merged_entries(store: Store, s: Session, plan: MergePlan, pr: Tree) -> dict[str, TreeEntry]:
    """The merged notebooks as tree entries (their blobs stored), LFS as the PR has them."""
    out: dict[str, TreeEntry] = {}
    for path, data in plan.notebooks.items():
        blob = store.blobs.ingest_bytes(data)
        if s.get(m.Blob, blob.sha256) is None:
            row = {"size": blob.size, "git_oid": blob.git_oid, "created_at": utcnow()}
            insert_missing(s, m.Blob, sha256=blob.sha256, **row)
        entry = pr.get(path)
        if entry is not None and entry.lfs:
            out[path] = TreeEntry.large(path, blob.sha256, blob.size)
        else:
            out[path] = TreeEntry.regular(path, blob.sha256, blob.size, blob.git_oid or "")
    return out


def unified_diff(store: Store, base: Tree, pr: Tree) -> str:
    """A git-style diff of the PR's changes (text files; others are named as binary)."""
    parts: list[str] = []
    for ch in diff_trees(base, pr):
        a, b = ch.old, ch.new
        parts.append(f"diff --git a/{ch.path} b/{ch.path}\n")
        if a is None:
            parts.append("new file\n")
        elif b is None:
            parts.append("deleted file\n")
        texts = [text_of(store, e) for e in (a, b)]
        if texts[0] is None or texts[1] is None:
            parts.append(f"Binary files a/{ch.path} and b/{ch.path} differ\n")
            continue
        parts.extend(
            difflib.unified_diff(
                texts[0].splitlines(keepends=True),
                texts[1].splitlines(keepends=True),
                "/dev/null" if a is None else f"a/{ch.path}",
                "/dev/null" if b is None else f"b/{ch.path}",
            )
        )
        if sum(len(x) for x in parts) > MAX_DIFF_CHARS:
            parts.append("\n[diff truncated]\n")
            break
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


def text_of(store: Store, entry: TreeEntry | None) -> str | None:
    if entry is None:
        return ""
    if entry.lfs or entry.size > MAX_DIFF_FILE_BYTES:
        return None
    data = store.blobs.read(entry.sha256)
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def pr_state(store: Store, s: Session, repo: m.Repo, d: c.Discussion, *, with_diff: bool) -> PrState:
    head = pr_head(s, repo, d)
    base_oid = d.base_oid or head
    target = d.target_branch or "main"
    conflicts: list[str] = []
    base_tree = commit_tree(store, s, base_oid)
    pr_tree = commit_tree(store, s, head)
    if d.status in ("open", "draft"):
        ref = get_ref(s, repo, "branch", target)
        if ref is not None and ref.commit_oid != base_oid:
            target_tree = commit_tree(store, s, ref.commit_oid)
            conflicts = plan_merge(store, base_tree, target_tree, pr_tree).conflicts
    diff = unified_diff(store, base_tree, pr_tree) if with_diff else None
    return PrState(target, head, base_oid, pr_commits(s, repo, d), conflicts, d.merge_oid, diff)


def merge_pull_request(
    store: Store, p: Principal, key: tuple[str, str, str], num: int, *, comment: str | None, max_chars: int
) -> MergeResult:
    """Merge PR ``num`` into its target branch; see the module docstring."""
    with store.write() as s:
        repo = readable_repo(store, s, p, key)
        d = disc.get_discussion(s, repo, num, lock=True)
        require_write(s, p, repo)
        if not d.is_pull_request:
            raise InvalidRequest(f"#{num} is a discussion, not a pull request.", code="NotAPullRequest")
        if d.status == "merged":
            raise Conflict(f"Pull request #{num} is already merged.", code="PullRequestMerged")
        if d.status == "closed":
            raise Conflict(
                f"Pull request #{num} is closed: reopen it before merging.", code="PullRequestClosed"
            )
        require_approvals(s, repo, d)
        head = pr_head(s, repo, d)
        if head == d.base_oid:
            raise InvalidRequest(
                f"Pull request #{num} has no commits to merge: push to refs/pr/{num}.", code="NothingToMerge"
            )
        target = d.target_branch or "main"
        ref = s.scalar(
            select(m.Ref)
            .where(m.Ref.repo_id == repo.id, m.Ref.kind == "branch", m.Ref.name == target)
            .with_for_update()
        )
        if ref is None:
            raise RevisionNotFound(f"The target branch {target!r} no longer exists.")
        s.refresh(ref)
        old = ref.commit_oid
        base = commit_tree(store, s, d.base_oid or old)
        target_tree = commit_tree(store, s, old)
        pr_tree = commit_tree(store, s, head)
        now = utcnow()
        if old == d.base_oid:
            new_oid, tree, fast = head, pr_tree, True
        else:
            plan = plan_merge(store, base, target_tree, pr_tree)
            if plan.conflicts:
                why = "".join(f" {reason}" for reason in plan.reasons)
                extra = {"conflicting_cells": plan.cells} if plan.cells else {}
                raise Conflict(
                    f"Pull request #{num} conflicts with {target!r}, which changed the "
                    f"same files since the PR started: {', '.join(plan.conflicts[:20])}.{why} "
                    f"Update refs/pr/{num} from {target!r} and retry.",
                    code="MergeConflict",
                    conflicting_files=plan.conflicts,
                    **extra,
                )
            merged = _merged_entries(store, s, plan, pr_tree)
            files = dict(target_tree.entries)
            for path, entry in _changes(base, pr_tree).items():
                if entry is None:
                    files.pop(path, None)
                else:
                    files[path] = entry
            files.update(merged)
            try:
                check_file_dir_clashes(files)
            except InvalidRequest as exc:  # a file on one side, a folder of that name on the other
                raise Conflict(
                    f"Pull request #{num} conflicts with {target!r}: {exc.message}",
                    code="MergeConflict",
                    conflicting_files=[],
                ) from None
            tree = Tree.from_entries(files.values())
            if s.get(m.Tree, tree.hash) is None:
                insert_missing(s, m.Tree, hash=tree.hash, entries=tree.to_json())
            s.flush()
            title = f"Merge pull request #{num}: {d.title}"[:500]
            new_oid = commit_oid(tree.hash, old, p.name or "", now, title, f"Merged refs/pr/{num} ({head})")
            parent = s.get(m.Commit, old)
            s.add(
                m.Commit(
                    oid=new_oid,
                    repo_id=repo.id,
                    parent_oid=old,
                    tree_hash=tree.hash,
                    author=p.name or "",
                    title=title,
                    description=f"Merged refs/pr/{num} ({head})",
                    created_at=now,
                    depth=(parent.depth + 1) if parent else 0,
                )
            )
            s.flush()
            fast = False
        # the merged files count against the namespace's quota as a commit's would
        check_quota(store, s, repo.namespace, tree_storage(tree) - tree_storage(target_tree))
        moved = s.execute(
            update(m.Ref)
            .where(m.Ref.id == ref.id, m.Ref.commit_oid == old)
            .values(commit_oid=new_oid, updated_at=now)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"{target!r} moved while merging; retry.", code="StaleParentCommit")
        branch_moved(
            store,
            s,
            repo,
            target_tree,
            tree,
            new_oid,
            main=target == "main",
            now=now,
            ref=f"refs/heads/{target}",
            old_oid=old,
            actor=p,
        )
        if comment is not None and comment.strip():
            disc.post_comment(store, s, p, repo, d, disc.check_text(comment, max_chars), None)
        d.status, d.merge_oid = "merged", new_oid
        webhook_events.discussion_changed(s, repo, d, "update")
        ev = disc.new_event(s, d, p, "status-change", data={"status": "merged", "oid": new_oid})
        notify_status(s, repo, d, ev, p)
        details = {"num": num, "target": target, "commit": new_oid, "fastForward": fast}
        record_event(s, actor=p, action="repo.merge", repo=repo, details=details)
        return MergeResult(new_oid, fast)


# -- create_pr=1 on the commit endpoint ----------------------------------------------------


def open_for_commit(
    store: Store,
    p: Principal,
    key: tuple[str, str, str],
    branch: str,
    *,
    title: str,
    description: str,
    max_chars: int,
) -> int:
    """Open a pull request on ``branch`` for a commit that will follow; returns its number."""
    with store.write() as s:
        d, _ev = disc.create_discussion(
            store,
            s,
            p,
            key,
            title=title or "Update files",
            description=description,
            max_chars=max_chars,
            pull_request=True,
            target=branch,
        )
        return d.num


def discard(store: Store, key: tuple[str, str, str], num: int) -> None:
    """Undo ``open_for_commit`` when the commit that should follow failed."""
    with store.write() as s:
        repo = store.get_repo(s, *key)
        d = s.scalar(select(c.Discussion).where(c.Discussion.repo_id == repo.id, c.Discussion.num == num))
        ref = get_ref(s, repo, "pr", str(num))
        if ref is not None:
            s.delete(ref)
        if d is not None:
            s.delete(d)


def note_commit(store: Store, key: tuple[str, str, str], num: int) -> None:
    """A commit landed on ``refs/pr/num``: a draft becomes open."""
    with store.write() as s:
        repo = store.get_repo(s, *key)
        s.execute(
            update(c.Discussion)
            .where(c.Discussion.repo_id == repo.id, c.Discussion.num == num, c.Discussion.status == "draft")
            .values(status="open", updated_at=utcnow())
        )
