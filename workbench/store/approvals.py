"""Whether a pull request has the approvals its repo requires (``repos.required_approvals``).

The one home of the rule, which merging (``pulls.merge_pull_request``) enforces: each
reviewer's latest ``approve`` or ``request_changes`` review counts (``comment`` reviews change
nothing; a later ``request_changes`` withdraws an approval, a later ``approve`` replaces a
request for changes); only reviewers who hold the write role on the repo now count, and
never the pull request's author. An approval is of the PR's head when it was given: once
new commits land on ``refs/pr/N`` it is stale and no longer counts (the reviewer approves
again), unless the repo turned ``dismiss_stale_approvals`` off (GitHub's setting of that
name; on by default here).

>>> approval_status(s, repo, d)                                          # doctest: +SKIP
ApprovalStatus(required=2, approved_by=['ada'], changes_requested_by=[], stale_approved_by=[])
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import Conflict
from workbench.store import collab_models as c
from workbench.store import models as m
from workbench.store import review_models as r
from workbench.store.access import is_writer
from workbench.store.accounts import principal_for
from workbench.store.pr_refs import pr_head

STATES = ("comment", "approve", "request_changes")


@dataclass(frozen=True)
class ApprovalStatus:
    required: int
    approved_by: list[str]
    changes_requested_by: list[str]
    stale_approved_by: list[str]

    @property
    def satisfied(self) -> bool:
        return len(self.approved_by) >= self.required

    def doc(self) -> dict[str, object]:
        return {
            "required": self.required,
            "approvals": len(self.approved_by),
            "approvedBy": self.approved_by,
            "changesRequestedBy": self.changes_requested_by,
            "staleApprovedBy": self.stale_approved_by,
            "satisfied": self.satisfied,
        }


def approval_status(s: Session, repo: m.Repo, d: c.Discussion) -> ApprovalStatus:
    """The approvals that count for pull request ``d`` (see the module docstring)."""
    head = pr_head(s, repo, d)
    latest: dict[int, tuple[str, str]] = {}
    rows = s.execute(
        select(r.Review.author_id, r.Review.state, r.Review.commit_oid)
        .where(r.Review.discussion_id == d.id, r.Review.state != "comment", r.Review.author_id.is_not(None))
        .order_by(r.Review.id)
    ).all()
    for author_id, state, oid in rows:
        if author_id is not None:
            latest[author_id] = (state, oid)
    approved: list[str] = []
    changes: list[str] = []
    stale: list[str] = []
    for author_id, (state, oid) in latest.items():
        if author_id == d.author_id:
            continue
        user = s.get(m.Account, author_id)
        if user is None or not is_writer(s, principal_for(s, user, None), repo):
            continue
        if state == "approve":
            current = oid == head or not repo.dismiss_stale_approvals
            (approved if current else stale).append(user.name)
        else:
            changes.append(user.name)
    return ApprovalStatus(repo.required_approvals or 0, sorted(approved), sorted(changes), sorted(stale))


def require_approvals(s: Session, repo: m.Repo, d: c.Discussion) -> None:
    """Raise 409 ``ApprovalsRequired`` unless ``d`` has the approvals its repo requires."""
    status = approval_status(s, repo, d)
    if status.satisfied:
        return
    who = f" (approved by {', '.join(status.approved_by)})" if status.approved_by else ""
    stale = (
        f" The approvals of {', '.join(status.stale_approved_by)} are stale: the pull request "
        "has new commits since; they must approve again."
        if status.stale_approved_by
        else ""
    )
    raise Conflict(
        f"Pull request #{d.num} needs {status.required} approving review(s) by writers of "
        f"{repo.namespace}/{repo.name} before it merges; it has {len(status.approved_by)}{who}.{stale}",
        code="ApprovalsRequired",
        **status.doc(),
    )
