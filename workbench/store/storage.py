"""How much storage repos and namespaces use, and the namespaces' quotas.

A repo's storage is the size of the files at the head of ``main`` (what ``usedStorage``
says in repo info, ``HfApi.list_user_repos`` and ``workbench hub usage``); a namespace's is
the sum of its repos'. A file two repos share counts once in each: the sizes add up to more
than the blob store holds when repos share files. A commit that would take a namespace past
its quota (``workbench hub quota set``) is refused with ``QuotaExceeded`` (413), and so are
a pull request's merge and a repo's move into the namespace (:func:`check_quota`).

>>> with store.read() as s:                                              # doctest: +SKIP
...     rows = namespace_storage(store, s, p, "acme")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import NotFound, PayloadTooLarge, PermissionDenied
from workbench.store import models as m
from workbench.store.access import Principal, require_write_scope
from workbench.store.accounts import get_account
from workbench.store.store import Store
from workbench.store.trees import Tree


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
    account = _account(s, name)
    if not (p.is_admin or account.id == p.user_id or account.id in p.orgs):
        raise PermissionDenied(f"Only members of {name!r} may list its repos' storage.", code="NotOrgMember")
    return repos_storage(store, s, name)


def repos_storage(store: Store, s: Session, namespace: str) -> list[RepoStorage]:
    """``namespace_storage`` without the access check, for hub admins (``workbench hub usage``)."""
    repos = _repos(s, _account(s, namespace).name)
    sizes = {repo.id: repo_storage(store, s, repo) for repo in repos}
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


@dataclass(frozen=True)
class NamespaceUsage:
    namespace: str
    kind: str  # user | org
    repos: int
    storage: int
    quota: int | None


def tree_storage(tree: Tree | None) -> int:
    """Bytes of the files in ``tree`` (0 for none): a repo's storage when it is ``main``'s."""
    return sum(e.size for e in tree.entries.values()) if tree is not None else 0


def repo_storage(store: Store, s: Session, repo: m.Repo) -> int:
    """The size of the files at the head of ``repo``'s ``main``."""
    return tree_storage(store.main_tree(s, repo))


def _repos(s: Session, namespace: str) -> list[m.Repo]:
    return list(s.scalars(select(m.Repo).where(m.Repo.namespace == namespace, m.Repo.type != "paper")))


def _account(s: Session, namespace: str) -> m.Account:
    account = get_account(s, namespace)
    if account is None:
        raise NotFound(f"No user or organization named {namespace!r}.", code="NamespaceNotFound")
    return account


def namespace_usage(store: Store, s: Session, namespace: str | None = None) -> list[NamespaceUsage]:
    """Every namespace (or only ``namespace``) with its repos, storage and quota, largest first;
    for hub admins (``workbench hub usage``), so no access check.

    >>> namespace_usage(store, s, "acme")[0].storage                     # doctest: +SKIP
    1048576
    """
    accounts = [_account(s, namespace)] if namespace else list(s.scalars(select(m.Account)))
    rows = []
    for account in accounts:
        repos = _repos(s, account.name)
        total = sum(repo_storage(store, s, r) for r in repos)
        rows.append(NamespaceUsage(account.name, account.kind, len(repos), total, account.quota_bytes))
    return sorted(rows, key=lambda r: (-r.storage, r.namespace))


def set_quota(s: Session, namespace: str, quota: int | None) -> None:
    """Limit ``namespace``'s storage to ``quota`` bytes; None lifts the limit."""
    if quota is not None and quota < 0:
        raise ValueError("a quota is a number of bytes, 0 or more")
    _account(s, namespace).quota_bytes = quota


def check_quota(store: Store, s: Session, namespace: str, added: int) -> None:
    """Raise ``QuotaExceeded`` (413) when adding ``added`` bytes would take ``namespace``
    past its quota; a change that adds nothing always passes (deleting stays possible)."""
    account = get_account(s, namespace)
    if added <= 0 or account is None or account.quota_bytes is None:
        return
    used = sum(repo_storage(store, s, r) for r in _repos(s, namespace))
    if used + added > account.quota_bytes:
        raise PayloadTooLarge(
            f"Storage quota exceeded for {namespace!r}: the quota is {account.quota_bytes:,} bytes, "
            f"the namespace uses {used:,} bytes and this change adds {added:,} bytes. "
            "Delete files or ask a hub admin to raise the quota (workbench hub quota set).",
            code="QuotaExceeded",
        )
