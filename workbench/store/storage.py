"""How much storage a namespace's repos use: ``HfApi.list_user_repos`` and ``hf repos ls``.

A repo's storage is the size of the files at the head of ``main`` (what ``usedStorage``
says in repo info); blobs are shared across repos, so the sizes add up to more than the
blob store holds when repos share files.

>>> with store.read() as s:                                              # doctest: +SKIP
...     rows = namespace_storage(store, s, p, "acme")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import NotFound, PermissionDenied
from workbench.store import models as m
from workbench.store.access import Principal, require_write_scope
from workbench.store.accounts import get_account
from workbench.store.store import Store


@dataclass(frozen=True)
class RepoStorage:
    id: str
    type: str
    updated_at: datetime
    private: bool
    storage: int
    share: float  # percent of the namespace's total


def namespace_storage(store: Store, s: Session, p: Principal, namespace: str | None) -> list[RepoStorage]:
    """Every repo of ``namespace`` (the caller's own when None) with its storage, largest first.

    Users see their own namespace, members the organization's, hub admins any.
    """
    require_write_scope(p) if p.anonymous else None
    name = namespace or p.name or ""
    account = get_account(s, name)
    if account is None:
        raise NotFound(f"No user or organization named {name!r}.", code="NamespaceNotFound")
    if not (p.is_admin or account.id == p.user_id or account.id in p.orgs):
        raise PermissionDenied(f"Only members of {name!r} may list its repos' storage.", code="NotOrgMember")
    repos = s.scalars(select(m.Repo).where(m.Repo.namespace == name, m.Repo.type != "paper")).all()
    sizes = {}
    for repo in repos:
        tree = store.main_tree(s, repo)
        sizes[repo.id] = sum(e.size for e in tree.entries.values()) if tree is not None else 0
    total = sum(sizes.values()) or 1
    rows = [
        RepoStorage(
            f"{r.namespace}/{r.name}",
            r.type,
            r.last_modified,
            r.private,
            sizes[r.id],
            100 * sizes[r.id] / total,
        )
        for r in repos
    ]
    return sorted(rows, key=lambda r: (-r.storage, r.id))
