"""Who may push commits to a pull request's ``refs/pr/N``.

Repo writers may push anywhere; the author of a pull request may also push to its own ref,
so anyone who may comment can propose a change (as on the public hub) without the write
role. Kept apart from ``pulls`` so ``commits`` can import it without a cycle.

>>> pr_number("refs/pr/3")
3
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import PermissionDenied
from workbench.store import collab_models as c
from workbench.store import models as m
from workbench.store.accounts import Principal, require_read, require_write, require_write_scope


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
    require_write_scope(p)
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
        raise PermissionDenied(
            f"Pull request #{num} is {pr.status}; reopen it before pushing.", code="PullRequestClosed"
        )
