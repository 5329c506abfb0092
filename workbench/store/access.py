"""Who may read and write which repo: the one home of that rule, as a check and as SQL.

A repo is readable by everyone when it is public; a private repo only by hub admins, its
owner, and members (any role) of the organization that owns it. Everyone else gets the
same 404 as for a repo that does not exist, on every endpoint. Writing needs a write-scope
token and the write or admin role in the repo's namespace.

:func:`can_read` answers for one repo row; :func:`readable_clause` is the same rule as a
query filter, for every list (search, papers, likes, notifications, evaluation records):

>>> with store.read() as s:                                                 # doctest: +SKIP
...     repos = s.scalars(select(m.Repo).where(readable_clause(principal)))
...     repo = readable_repo(store, s, principal, ("model", "alice", "tiny"))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm import Session

from workbench.errors import AuthenticationError, PermissionDenied, RepoNotFound
from workbench.store import models as m
from workbench.store.store import Store

RepoKeyTuple = tuple[str, str, str]  # (type, namespace, name)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (or nobody) and what the token allows."""

    user_id: int | None = None
    name: str | None = None
    is_admin: bool = False
    scope: str | None = None  # read | write | None (anonymous)
    orgs: dict[int, str] = field(default_factory=dict)  # org id -> role
    org_names: dict[str, str] = field(default_factory=dict)  # org name -> role
    # a job's read token (``workbench.store.runners``): these repos and nothing else
    repo_ids: frozenset[int] | None = None

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    def owner_ids(self) -> list[int] | None:
        """The accounts whose private repos this principal may read (None: every account).

        >>> Principal(user_id=3, orgs={7: "read"}).owner_ids(), Principal().owner_ids()
        ([3, 7], [])
        """
        if self.is_admin:
            return None
        return [] if self.user_id is None else [self.user_id, *self.orgs]


ANONYMOUS = Principal()


class Owned(Protocol):
    """What the read rule looks at: a repo, and anything else that is private or public
    under an account (storage buckets)."""

    @property
    def private(self) -> bool: ...

    @property
    def owner_id(self) -> int: ...


# -- reading ------------------------------------------------------------------------------


def can_read(p: Principal, repo: Owned) -> bool:
    """Whether ``p`` may see ``repo`` (or a bucket; see the module docstring)."""
    if p.repo_ids is not None:  # a job's read token: its pinned repos only
        return isinstance(repo, m.Repo) and repo.id in p.repo_ids
    if not repo.private:
        return True
    owners = p.owner_ids()
    return owners is None or repo.owner_id in owners


def readable_clause(p: Principal, repo: Any = m.Repo) -> ColumnElement[bool]:
    """:func:`can_read` as SQL on ``repo`` (``m.Repo`` or an alias of it).

    >>> select(m.Repo).where(readable_clause(ANONYMOUS))                      # doctest: +SKIP
    """
    if p.repo_ids is not None:
        return repo.id.in_(sorted(p.repo_ids))  # type: ignore[no-any-return]
    owners = p.owner_ids()
    if owners is None:
        return true()
    visible: list[ColumnElement[bool]] = [repo.private.is_(False)]
    if owners:
        visible.append(repo.owner_id.in_(owners))
    return or_(*visible)


def require_read(p: Principal, repo: m.Repo) -> None:
    """Raise ``RepoNotFound`` (404, as for a missing repo) unless ``p`` may read ``repo``."""
    if not can_read(p, repo):
        raise RepoNotFound(
            f"Repository {repo.namespace}/{repo.name} ({repo.type}) not found. "
            "Check the name and type, and that your token may read it."
        )


def readable_repo(store: Store, s: Session, p: Principal, key: RepoKeyTuple) -> m.Repo:
    """The repo ``key`` names, if ``p`` may read it (else the 404 of a missing repo)."""
    repo = store.get_repo(s, *key)
    require_read(p, repo)
    return repo


# -- writing ------------------------------------------------------------------------------


def can_write_namespace(p: Principal, owner: m.Account) -> bool:
    """Whether ``p`` holds the write (or admin) role in ``owner``'s namespace."""
    if p.anonymous:
        return False
    if p.is_admin or owner.id == p.user_id:
        return True
    return p.orgs.get(owner.id) in ("write", "admin")


def is_writer(s: Session, p: Principal, repo: m.Repo) -> bool:
    """Whether ``p`` has the write role on ``repo``'s namespace (the token's scope aside)."""
    owner = s.get(m.Account, repo.owner_id)
    return owner is not None and can_write_namespace(p, owner)


def require_write_scope(p: Principal) -> None:
    if p.repo_ids is not None:
        raise PermissionDenied("A job's read token only reads the job's pinned repos.", code="ReadOnlyToken")
    if p.anonymous:
        raise AuthenticationError(
            "This action needs a token: pass `Authorization: Bearer <token>` "
            "(create one with `workbench hub token create`).",
            code="TokenRequired",
        )
    if p.scope != "write":
        raise PermissionDenied(
            "This token has the 'read' scope; use a token with the 'write' scope.", code="ReadOnlyToken"
        )


def require_write(session: Session, p: Principal, repo: m.Repo) -> None:
    require_read(p, repo)
    require_write_scope(p)
    if not is_writer(session, p, repo):
        raise PermissionDenied(
            f"You may read {repo.namespace}/{repo.name} but not write to it; "
            "ask an admin of its namespace for the 'write' role.",
            code="WriteForbidden",
        )


def writable_repo(store: Store, s: Session, p: Principal, key: RepoKeyTuple) -> m.Repo:
    """The repo ``key`` names, if ``p`` may write to it (:func:`require_write`)."""
    repo = store.get_repo(s, *key)
    require_write(s, p, repo)
    return repo


def require_admin(p: Principal) -> None:
    require_write_scope(p)
    if not p.is_admin:
        raise PermissionDenied("Only hub administrators may do this.", code="AdminRequired")
