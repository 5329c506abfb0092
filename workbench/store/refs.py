"""Branches, tags and other refs, and resolving a revision string to a commit.

>>> resolve_revision(session, repo, "main")          # doctest: +SKIP
Resolved(oid='3f2a...', kind='branch', name='main')
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest, NotFound, RevisionNotFound
from workbench.names import is_commit_id, validate_ref_name
from workbench.store import models as m
from workbench.store.store import utcnow
from workbench.store.webhook_events import ref_moved


@dataclass(frozen=True)
class Resolved:
    oid: str
    kind: str  # branch | tag | pr | convert | commit
    name: str


def _special(rev: str) -> tuple[str, str] | None:
    if rev.startswith("refs/pr/") and rev[8:].isdigit():
        return "pr", rev[8:]
    if rev.startswith("refs/convert/"):
        return "convert", rev[13:]
    if rev.startswith("refs/heads/"):
        return "branch", rev[11:]
    if rev.startswith("refs/tags/"):
        return "tag", rev[10:]
    return None


def get_ref(session: Session, repo: m.Repo, kind: str, name: str) -> m.Ref | None:
    return session.scalar(
        select(m.Ref).where(m.Ref.repo_id == repo.id, m.Ref.kind == kind, m.Ref.name == name)
    )


def resolve_revision(session: Session, repo: m.Repo, rev: str) -> Resolved:
    """Branch, tag, ``refs/pr/N``, ``refs/convert/X``, full or (≥7 chars) short commit id."""
    special = _special(rev)
    if special:
        ref = get_ref(session, repo, *special)
        if ref is not None:
            return Resolved(ref.commit_oid, ref.kind, ref.name)
    else:
        for kind in ("branch", "tag"):
            ref = get_ref(session, repo, kind, rev)
            if ref is not None:
                return Resolved(ref.commit_oid, kind, rev)
        if is_commit_id(rev):
            if session.scalar(select(m.Commit.oid).where(m.Commit.oid == rev, m.Commit.repo_id == repo.id)):
                return Resolved(rev, "commit", rev)
        elif 7 <= len(rev) < 40 and all(c in "0123456789abcdef" for c in rev):
            oids = session.scalars(
                select(m.Commit.oid).where(m.Commit.repo_id == repo.id, m.Commit.oid.startswith(rev)).limit(2)
            ).all()
            if len(oids) == 1:
                return Resolved(oids[0], "commit", oids[0])
    raise RevisionNotFound(
        f"Revision {rev!r} not found in {repo.namespace}/{repo.name}: use a "
        "branch, a tag or a commit id of this repo."
    )


def branch_head(session: Session, repo: m.Repo, rev: str) -> tuple[Resolved, m.Commit] | None:
    """``rev`` as a branch, with its head commit, in one query; None when it names no branch.

    What :func:`resolve_revision` finds first for a name that is no ``refs/...`` path; every
    repo page and tree listing asks for a branch (``main``).
    """
    if _special(rev):
        return None
    commit = session.scalar(
        select(m.Commit)
        .join(m.Ref, m.Ref.commit_oid == m.Commit.oid)
        .where(m.Ref.repo_id == repo.id, m.Ref.kind == "branch", m.Ref.name == rev)
    )
    return (Resolved(commit.oid, "branch", rev), commit) if commit is not None else None


def list_refs(session: Session, repo: m.Repo) -> list[m.Ref]:
    return list(session.scalars(select(m.Ref).where(m.Ref.repo_id == repo.id).order_by(m.Ref.name)))


def create_ref(
    session: Session,
    repo: m.Repo,
    kind: str,
    name: str,
    oid: str,
    *,
    message: str | None = None,
    validate: bool = True,
    announce: bool = True,
) -> m.Ref:
    """A new ref; a new branch or tag is a ``repo.content`` event (unless not ``announce``:
    a new repo's ``main`` is part of its ``repo`` event)."""
    if validate:
        validate_ref_name(name, "tag" if kind == "tag" else "branch")
    if get_ref(session, repo, kind, name) is not None:
        # "Reference refs/heads/x already exists" is the public hub's wording, which clients match
        raise Conflict(
            f"Reference {_full_name(kind, name)} already exists in {repo.namespace}/{repo.name}.",
            code="RefExists",
        )
    # a branch and a tag may share a name, as in git and on the public hub: revisions name
    # the branch first (resolve_revision), refs/tags/NAME the tag
    ref = m.Ref(repo_id=repo.id, kind=kind, name=name, commit_oid=oid, message=message, updated_at=utcnow())
    session.add(ref)
    session.flush()
    if announce and kind in _REF_DIRS:
        ref_moved(session, repo, _full_name(kind, name), None, oid)
    return ref


def delete_ref(session: Session, repo: m.Repo, kind: str, name: str) -> None:
    """Delete a ref; a deleted branch or tag is a ``repo.content`` event."""
    if kind == "branch" and name == "main":
        raise InvalidRequest(
            "Cannot delete refs/heads/main: it is the repo's default branch.", code="DefaultBranch"
        )
    ref = get_ref(session, repo, kind, name)
    if ref is None:
        raise NotFound(
            f"Invalid rev id: {_full_name(kind, name)} not found in {repo.namespace}/{repo.name}.",
            code="RevisionNotFound",
        )
    old = ref.commit_oid
    session.execute(delete(m.Ref).where(m.Ref.id == ref.id))
    if kind in _REF_DIRS:
        ref_moved(session, repo, _full_name(kind, name), old, None)


def _full_name(kind: str, name: str) -> str:
    """The git name of a ref: ``refs/heads/main``, ``refs/tags/v1``, ``refs/pr/3``.

    >>> _full_name("tag", "v1")
    'refs/tags/v1'
    """
    return f"refs/{_REF_DIRS.get(kind, kind)}/{name}"


_REF_DIRS = {"branch": "heads", "tag": "tags"}
