"""A pull request's branch ``refs/pr/N``: forked from its target, its head, who may push to it.

Repo writers may push anywhere; the author of a pull request may also push to its own ref,
so anyone who may comment can propose a change (as on the public hub) without the write
role. Apart from ``pulls`` (merging), so that ``commits`` and ``discussions`` use it
without depending on merges.

>>> pr_number("refs/pr/3")
3
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import Conflict, PermissionDenied, RevisionNotFound
from workbench.store import collab_models as c
from workbench.store import models as m
from workbench.store.access import Principal, require_read, require_write, require_write_scope
from workbench.store.refs import create_ref, get_ref, resolve_revision


def start_pull_request(s: Session, repo: m.Repo, d: c.Discussion, target: str) -> None:
    """Fork ``refs/pr/N`` from the head of branch ``target``."""
    resolved = resolve_revision(s, repo, target)
    if resolved.kind != "branch":  # RevisionNotFound, as the public hub answers
        raise RevisionNotFound(
            f"A pull request targets a branch; {target!r} is a {resolved.kind}, "
            f"not a branch of {repo.namespace}/{repo.name}."
        )
    d.target_branch, d.base_oid = resolved.name, resolved.oid
    create_ref(s, repo, "pr", str(d.num), resolved.oid, validate=False)


def pr_head(s: Session, repo: m.Repo, d: c.Discussion) -> str:
    ref = get_ref(s, repo, "pr", str(d.num))
    if ref is None:
        raise RevisionNotFound(f"refs/pr/{d.num} no longer exists.")
    return ref.commit_oid


def has_commits(s: Session, repo: m.Repo, d: c.Discussion) -> bool:
    return d.is_pull_request and pr_head(s, repo, d) != d.base_oid


def pr_number(revision: str) -> int | None:
    if revision.startswith("refs/pr/") and revision[8:].isdigit():
        return int(revision[8:])
    return None


def require_push(session: Session, p: Principal, repo: m.Repo, revision: str) -> None:
    """``require_write``, relaxed for the author of the open pull request ``revision`` names."""
    num = pr_number(revision)
    if num is None:
        require_write(session, p, repo)
        return
    require_read(p, repo)
    require_write_scope(p, repo)
    try:
        require_write(session, p, repo)
        return
    except PermissionDenied:
        pass
    pr = session.scalar(select(c.Discussion).where(c.Discussion.repo_id == repo.id, c.Discussion.num == num))
    if pr is None or not pr.is_pull_request or pr.author_id != p.user_id:
        raise PermissionDenied(
            f"Only its author and writers of {repo.namespace}/{repo.name} may push to refs/pr/{num}.",
            code="WriteForbidden",
        )
    if pr.status not in ("open", "draft"):
        raise Conflict(
            f"Pull request #{num} is {pr.status}; reopen it before pushing.", code="PullRequestClosed"
        )
