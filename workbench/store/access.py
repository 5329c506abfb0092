"""Who may read and write which repo: the one home of that rule, as a check and as SQL.

A repo is readable by everyone when it is public; a private repo only by hub admins, its
owner, and members (any role) of the organization that owns it. Everyone else gets the
same 404 as for a repo that does not exist, on every endpoint. Writing needs a write-scope
token and the write or admin role in the repo's namespace.

A token may be *limited* (fine-grained, as on the public hub) to some repos and namespaces
(:class:`TokenLimit`). Inside its limits it acts with its scope; outside them it reads what
everyone reads (public repos; a private repo answers the 404 of a missing one) and writes
nothing: every write, and every action not tied to a repo or namespace in its limits
(organizations, tokens, webhooks, administration), answers 403 ``TokenScopeForbidden``.
:meth:`Principal.covers` is the one place that tells inside from outside.

:func:`can_read` answers for one repo row; :func:`readable_clause` is the same rule as a
query filter, for every list (search, papers, likes, notifications, evaluation records):

>>> with store.read() as s:                                                 # doctest: +SKIP
...     repos = s.scalars(select(m.Repo).where(readable_clause(principal)))
...     repo = readable_repo(store, s, principal, ("model", "alice", "tiny"))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlalchemy.orm import Session

from workbench.errors import AuthenticationError, InvalidRequest, PermissionDenied, RepoNotFound
from workbench.store import models as m
from workbench.store.store import Store

RepoKeyTuple = tuple[str, str, str]  # (type, namespace, name)
LIMIT_TYPES = ("model", "dataset", "space")


@dataclass(frozen=True)
class TokenLimit:
    """One entry of a limited token: a repo (``type``, ``namespace``, ``name``), or every
    repo, bucket and collection of a namespace (``type`` and ``name`` None).

    >>> TokenLimit.parse({"type": "model", "namespace": "alice", "name": "tiny"}).label()
    'model:alice/tiny'
    >>> TokenLimit.parse({"namespace": "acme"}).covers("dataset", "acme", "iris")
    True
    """

    namespace: str
    type: str | None = None
    name: str | None = None

    @classmethod
    def parse(cls, entry: Mapping[str, Any]) -> TokenLimit:
        """An entry as the API takes and the store keeps it; 400 ``InvalidTokenLimit`` else."""
        ns, kind, name = entry.get("namespace"), entry.get("type"), entry.get("name")
        unknown = set(entry) - {"namespace", "type", "name"}
        whole = kind is None and name is None
        one = kind in LIMIT_TYPES and isinstance(name, str) and name != ""
        if unknown or not isinstance(ns, str) or not ns or not (whole or one):
            raise InvalidRequest(
                f"Invalid token limit {dict(entry)!r}: use {{'namespace': NS}} for a namespace, "
                "or {'type': 'model'|'dataset'|'space', 'namespace': NS, 'name': NAME} for a repo.",
                code="InvalidTokenLimit",
            )
        return cls(namespace=ns, type=kind, name=name)

    def to_dict(self) -> dict[str, str]:
        if self.type is None:
            return {"namespace": self.namespace}
        return {"type": self.type, "namespace": self.namespace, "name": self.name or ""}

    def label(self) -> str:
        """``model:ns/name`` or ``ns/*``, as listings show it."""
        if self.type is None:
            return f"{self.namespace}/*"
        return f"{self.type}:{self.namespace}/{self.name}"

    def covers(self, repo_type: str | None, namespace: str, name: str | None) -> bool:
        if namespace != self.namespace:
            return False
        return self.type is None or (repo_type == self.type and name == self.name)


# What a write is about: a repo or bucket (anything with a namespace and a name, and a type
# for repos), a (type, namespace, name) key, a namespace, or None (nothing in particular).
Target = Any


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (or nobody) and what the token allows."""

    user_id: int | None = None
    name: str | None = None
    is_admin: bool = False
    scope: str | None = None  # read | write | None (anonymous)
    orgs: dict[int, str] = field(default_factory=dict)  # org id -> role
    org_names: dict[str, str] = field(default_factory=dict)  # org name -> role
    limits: tuple[TokenLimit, ...] | None = None  # None: not limited (see the module docstring)
    token_id: int | None = None  # the hub token the request carries, if any
    org_ids: dict[str, int] = field(default_factory=dict)  # org name -> id (limited tokens)
    # a job's read token (``workbench.store.runners``): these repos and nothing else
    repo_ids: frozenset[int] | None = None

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    def covers(self, target: Target) -> bool:
        """Whether ``target`` lies inside the token's limits (always, for an unlimited one).

        >>> p = Principal(user_id=1, limits=(TokenLimit("acme", "model", "bert"),))
        >>> p.covers(("model", "acme", "bert")), p.covers("acme"), p.covers(None)
        (True, False, False)
        """
        if self.limits is None:
            return True
        if target is None:
            return False
        if isinstance(target, str):  # a namespace: only a namespace-wide entry covers it
            return any(lim.type is None and lim.namespace == target for lim in self.limits)
        if isinstance(target, tuple):
            kind, ns, name = target
        else:  # a repo, or a bucket (whose type no repo entry names)
            kind, ns, name = getattr(target, "type", "bucket"), target.namespace, target.name
        return any(lim.covers(kind, ns, name) for lim in self.limits)

    def owner_ids(self) -> list[int] | None:
        """The accounts whose private repos this principal may read (None: every account).

        >>> Principal(user_id=3, orgs={7: "read"}).owner_ids(), Principal().owner_ids()
        ([3, 7], [])
        """
        if self.is_admin:
            return None
        return [] if self.user_id is None else [self.user_id, *self.orgs]

    def whole_owner_ids(self) -> list[int] | None:
        """:meth:`owner_ids` narrowed, for a limited token, to the namespaces its limits cover
        whole (of its user and their organizations): whose private collections it may read,
        and the private repos a full-text search looks among before :func:`readable_clause`.

        >>> p = Principal(user_id=3, name="al", orgs={7: "read"}, org_ids={"acme": 7},
        ...               limits=(TokenLimit("acme"), TokenLimit("al", "model", "x")))
        >>> p.whole_owner_ids()
        [7]
        """
        if self.limits is None:
            return self.owner_ids()
        whole = {lim.namespace for lim in self.limits if lim.type is None}
        mine = [self.user_id] if self.user_id is not None and self.name in whole else []
        return mine + sorted(i for n, i in self.org_ids.items() if n in whole)


ANONYMOUS = Principal()


class Owned(Protocol):
    """What the read rule looks at: a repo, and anything else that is private or public
    under an account (storage buckets)."""

    @property
    def private(self) -> bool: ...

    @property
    def owner_id(self) -> int: ...

    @property
    def namespace(self) -> str: ...

    @property
    def name(self) -> str: ...


# -- reading ------------------------------------------------------------------------------


def can_read(p: Principal, repo: Owned) -> bool:
    """Whether ``p`` may see ``repo`` (or a bucket; see the module docstring)."""
    if p.repo_ids is not None:  # a job's read token: its pinned repos only
        return isinstance(repo, m.Repo) and repo.id in p.repo_ids
    if not repo.private:
        return True
    if p.limits is not None and not p.covers(repo):
        return False
    owners = p.owner_ids()
    return owners is None or repo.owner_id in owners


def readable_clause(p: Principal, repo: Any = m.Repo) -> ColumnElement[bool]:
    """:func:`can_read` as SQL on ``repo`` (``m.Repo`` or an alias of it).

    >>> select(m.Repo).where(readable_clause(ANONYMOUS))                      # doctest: +SKIP
    """
    if p.repo_ids is not None:
        return repo.id.in_(sorted(p.repo_ids))  # type: ignore[no-any-return]
    owners = p.owner_ids()
    if owners is None and p.limits is None:
        return true()
    visible: list[ColumnElement[bool]] = [repo.private.is_(False)]
    private: list[ColumnElement[bool]] = []
    if owners:
        private.append(repo.owner_id.in_(owners))
    if p.limits is not None:
        private.append(_covered_clause(p.limits, repo))
    if owners is None or owners:
        visible.append(and_(*private) if private else true())
    return or_(*visible)


def _covered_clause(limits: tuple[TokenLimit, ...], repo: Any) -> ColumnElement[bool]:
    """:meth:`Principal.covers` as SQL on ``repo``."""
    entries: list[ColumnElement[bool]] = []
    for lim in limits:
        if lim.type is None:
            entries.append(repo.namespace == lim.namespace)
        else:
            one = (repo.type == lim.type, repo.namespace == lim.namespace, repo.name == lim.name)
            entries.append(and_(*one))
    return or_(*entries) if entries else false()


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
    """Whether ``p`` holds the write (or admin) role in ``owner``'s namespace (and a limited
    token is limited to that whole namespace)."""
    return p.covers(owner.name) and _write_role(p, owner.id)


def is_writer(s: Session, p: Principal, repo: m.Repo) -> bool:
    """Whether ``p`` has the write role on ``repo``'s namespace (the token's scope aside;
    a limited token's limits included)."""
    return p.covers(repo) and _write_role(p, repo.owner_id)


def _write_role(p: Principal, owner_id: int) -> bool:
    if p.anonymous:
        return False
    if p.is_admin or owner_id == p.user_id:
        return True
    return p.orgs.get(owner_id) in ("write", "admin")


def require_write_scope(p: Principal, on: Target = None) -> None:
    """A token with the write scope whose limits (if any) cover ``on``: the repo, bucket,
    (type, namespace, name) key or namespace the write is about (None: nothing in particular,
    which no limited token covers)."""
    require_write_token(p)
    if not p.covers(on):
        allowed = ", ".join(lim.label() for lim in p.limits or ())
        raise PermissionDenied(
            f"This token is limited to {allowed}: it may not do this. Use a token "
            "whose limits include it, or one without limits.",
            code="TokenScopeForbidden",
        )


def require_write_token(p: Principal) -> None:
    """A write-scope token, its limits aside: to fail fast before the repo a write is about
    is loaded (and checked with :func:`require_write`, which says 404 for a private repo
    outside a limited token's limits)."""
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
    require_write_scope(p, repo)
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
