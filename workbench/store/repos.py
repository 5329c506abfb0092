"""Repositories: create, delete, move, settings, listing.

>>> with store.write() as s:                                             # doctest: +SKIP
...     repo = create_repo(store, s, p, "model", "alice", "tiny-mlp", private=True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from workbench.names import validate_name_part, validate_namespace, validate_repo_type
from workbench.repocard import README, render_card
from workbench.repocard import repo_tags as repo_tags  # re-exported (wire.py)
from workbench.store import models as m
from workbench.store import webhook_events
from workbench.store.access import (
    Principal,
    can_write_namespace,
    readable_clause,
    require_write,
    require_write_scope,
)
from workbench.store.accounts import get_account
from workbench.store.audit import REPO_CREATE, REPO_DELETE, REPO_MOVE, REPO_VISIBILITY, record_event
from workbench.store.commits import commit_oid
from workbench.store.refs import create_ref
from workbench.store.runners import repo_deleted as cancel_eval_jobs
from workbench.store.search import backend, match_text
from workbench.store.search_index import reindex_repo
from workbench.store.search_query import Filters, Term, facet, query_terms
from workbench.store.storage import check_quota, repo_storage
from workbench.store.store import Store, insert_missing, utcnow
from workbench.store.trees import Tree, TreeEntry
from workbench.store.webhooks import follow_move

GITATTRIBUTES = b"""*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pt2 filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
"""

SPACE_CARD_BODY = "A space of this hub: files such as metric modules for `evaluate.load`."

SORT_COLUMNS = {
    "lastModified": m.Repo.last_modified,
    "last_modified": m.Repo.last_modified,
    "createdAt": m.Repo.created_at,
    "created_at": m.Repo.created_at,
    "downloads": m.Repo.downloads,
    "likes": m.Repo.likes,
    "trendingScore": m.Repo.likes,
    "id": m.Repo.name,
}


@dataclass(frozen=True)
class RepoKey:
    type: str
    namespace: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    def as_tuple(self) -> tuple[str, str, str]:
        return (self.type, self.namespace, self.name)


def create_repo(
    store: Store,
    s: Session,
    p: Principal,
    repo_type: str,
    namespace: str,
    name: str,
    *,
    private: bool | None = False,
    sdk: str | None = None,
) -> m.Repo:
    """Create a repo with an initial commit holding ``.gitattributes`` (and, for a space,
    a ``README.md`` whose metadata names its SDK) on ``main``."""
    require_write_scope(p, namespace)
    repo_type = validate_repo_type(repo_type)
    validate_namespace(namespace)
    validate_name_part(name)
    owner = get_account(s, namespace)
    if owner is None:
        if namespace == p.name:
            raise NotFound(f"User {namespace!r} not found.", code="NamespaceNotFound")
        raise PermissionDenied(
            f"You cannot create repos under {namespace!r}: it is not your user "
            "name or an organization where you have the 'write' role.",
            code="NamespaceForbidden",
        )
    if not can_write_namespace(p, owner):
        raise PermissionDenied(
            f"You cannot create repos under {namespace!r}: it is not your user "
            "name or an organization where you have the 'write' role.",
            code="NamespaceForbidden",
        )
    clash = s.scalar(
        select(m.Repo).where(
            m.Repo.type == repo_type,
            func.lower(m.Repo.namespace) == namespace.lower(),
            func.lower(m.Repo.name) == name.lower(),
        )
    )
    if clash is not None:
        raise Conflict(
            f"You already created this {repo_type} repo: {clash.namespace}/{clash.name}.",
            code="RepoExists",
            repo_type=clash.type,
            repo_id=f"{clash.namespace}/{clash.name}",
        )
    _drop_redirect(s, repo_type, namespace, name)
    if private is None:  # the organization's default (private_by_default), else public
        private = owner.private_by_default
    now = utcnow()
    repo = m.Repo(
        type=repo_type,
        namespace=namespace,
        name=name,
        owner_id=owner.id,
        private=private,
        sdk=sdk,
        created_at=now,
        last_modified=now,
    )
    s.add(repo)
    s.flush()
    files = {".gitattributes": GITATTRIBUTES}
    if repo_type == "space":  # the public hub gives every space a card naming its SDK
        repo.card_data = {"title": name, "sdk": sdk or "static", "pinned": False}
        files[README] = render_card(repo.card_data, SPACE_CARD_BODY).encode()
    entries = []
    for path, data in files.items():
        blob = store.blobs.ingest_bytes(data)
        if s.get(m.Blob, blob.sha256) is None:
            row = {"size": blob.size, "git_oid": blob.git_oid, "created_at": now}
            insert_missing(s, m.Blob, sha256=blob.sha256, **row)
        entries.append(TreeEntry.regular(path, blob.sha256, blob.size, blob.git_oid or ""))
    tree = Tree.from_entries(entries)
    if s.get(m.Tree, tree.hash) is None:
        insert_missing(s, m.Tree, hash=tree.hash, entries=tree.to_json())
    s.flush()
    oid = commit_oid(tree.hash, None, p.name or "", now, "initial commit", "")
    s.add(
        m.Commit(
            oid=oid,
            repo_id=repo.id,
            parent_oid=None,
            tree_hash=tree.hash,
            author=p.name or "",
            title="initial commit",
            description="",
            created_at=now,
            depth=0,
        )
    )
    s.flush()
    create_ref(s, repo, "branch", "main", oid, validate=False, announce=False)
    reindex_repo(s, store, repo, tree=tree)
    record_event(s, actor=p, action=REPO_CREATE, repo=repo, details={"private": private})
    webhook_events.repo_created(s, repo)
    return repo


def _drop_redirect(s: Session, repo_type: str, namespace: str, name: str) -> None:
    """A repo takes the id ``namespace/name``: requests for it no longer follow a moved repo."""
    s.execute(
        delete(m.RepoRedirect).where(
            m.RepoRedirect.type == repo_type,
            func.lower(m.RepoRedirect.namespace) == namespace.lower(),
            func.lower(m.RepoRedirect.name) == name.lower(),
        )
    )


def delete_repo(store: Store, s: Session, p: Principal, key: RepoKey) -> None:
    repo = store.get_repo(s, *key.as_tuple())
    require_write(s, p, repo)
    record_event(s, actor=p, action=REPO_DELETE, repo=repo)
    webhook_events.repo_deleted(s, repo)
    cancel_eval_jobs(s, repo)  # they say why, rather than vanish with the repo
    # statistics are keyed by Parquet commit, not repo: drop them before the commits go
    s.execute(
        delete(m.ViewerStatistics).where(
            m.ViewerStatistics.commit.in_(select(m.Commit.oid).where(m.Commit.repo_id == repo.id))
        )
    )
    s.delete(repo)  # commits and refs go with it (ON DELETE CASCADE); blobs stay shared


def move_repo(
    store: Store, s: Session, p: Principal, src: RepoKey, dest_namespace: str, dest_name: str
) -> m.Repo:
    repo = store.get_repo(s, *src.as_tuple())
    require_write(s, p, repo)
    validate_namespace(dest_namespace)
    validate_name_part(dest_name)
    owner = get_account(s, dest_namespace)
    if owner is None or not can_write_namespace(p, owner):
        raise PermissionDenied(f"You cannot move repos into {dest_namespace!r}.", code="NamespaceForbidden")
    if s.scalar(
        select(m.Repo.id).where(  # ids are case-insensitive (create_repo); a case-only rename is fine
            m.Repo.type == repo.type,
            func.lower(m.Repo.namespace) == dest_namespace.lower(),
            func.lower(m.Repo.name) == dest_name.lower(),
            m.Repo.id != repo.id,
        )
    ):
        raise Conflict(  # the public hub's wording, which clients match
            f"A {repo.type} repository called {dest_namespace}/{dest_name} already exists.",
            code="RepoExists",
        )
    if dest_namespace.lower() != repo.namespace.lower():  # its files now count against the new one
        check_quota(store, s, dest_namespace, repo_storage(store, s, repo))
    old_id = f"{repo.namespace}/{repo.name}"
    webhook_events.repo_moving(s, repo, dest_namespace, dest_name, owner.id)
    s.add(
        m.RepoRedirect(
            type=repo.type, namespace=repo.namespace, name=repo.name, repo_id=repo.id, created_at=utcnow()
        )
    )
    s.flush()
    _drop_redirect(s, repo.type, dest_namespace, dest_name)  # the id is a repo's own again
    follow_move(s, repo.type, (repo.namespace, repo.name), (dest_namespace, dest_name))
    repo.namespace, repo.name, repo.owner_id = dest_namespace, dest_name, owner.id
    repo.last_modified = utcnow()
    reindex_repo(s, store, repo)
    record_event(s, actor=p, action=REPO_MOVE, repo=repo, details={"from": old_id})
    if old_id.split("/")[0] != dest_namespace:  # the old namespace's admins see it left
        record_event(
            s,
            actor=p,
            action=REPO_MOVE,
            namespace=old_id.split("/")[0],
            details={"from": old_id, "to": f"{dest_namespace}/{dest_name}"},
        )
    return repo


def update_settings(
    store: Store,
    s: Session,
    p: Principal,
    key: RepoKey,
    *,
    private: bool | None = None,
    gated: str | bool | None = None,
    required_approvals: int | None = None,
    dismiss_stale_approvals: bool | None = None,
) -> m.Repo:
    repo = store.get_repo(s, *key.as_tuple())
    require_write(s, p, repo)
    updated: dict[str, object] = {}
    if private is not None and private != repo.private:
        repo.private = updated["private"] = private
        reindex_repo(s, store, repo)  # the index's visibility tokens
        record_event(s, actor=p, action=REPO_VISIBILITY, repo=repo, details={"private": private})
    if gated is not None:
        if gated not in (False, "auto", "manual"):
            raise InvalidRequest("gated must be false, 'auto' or 'manual'.", code="InvalidSetting")
        value = str(gated) if gated else None
        if value != repo.gated:
            repo.gated, updated["gated"] = value, gated
            record_event(s, actor=p, action="repo.gated", repo=repo, details={"gated": gated})
    if required_approvals is not None and required_approvals != repo.required_approvals:
        if not 0 <= required_approvals <= 100:
            raise InvalidRequest("requiredApprovals must be a number from 0 to 100.", code="InvalidSetting")
        repo.required_approvals = updated["requiredApprovals"] = required_approvals
        details = {"requiredApprovals": required_approvals}
        record_event(s, actor=p, action="repo.required_approvals", repo=repo, details=details)
    if dismiss_stale_approvals is not None and dismiss_stale_approvals != repo.dismiss_stale_approvals:
        repo.dismiss_stale_approvals = updated["dismissStaleApprovals"] = dismiss_stale_approvals
        details = {"dismissStaleApprovals": dismiss_stale_approvals}
        record_event(s, actor=p, action="repo.dismiss_stale_approvals", repo=repo, details=details)
    if updated:
        webhook_events.config_changed(s, repo, updated)
    return repo


# How much more walking the name index costs per row than sorting costs per match: a walk
# tests every row against the words (an FTS5 lookup; on PostgreSQL a vector read from TOAST),
# a sort does a primary-key lookup per match (measured: bench/README.md, "list search").
LIST_WALK_COST = {"sqlite": 20.0, "postgresql": 5.0}


def _sort_matches(s: Session, terms: Sequence[Term], rows: int) -> bool:
    """Whether sorting a search's matches by name costs less than walking every repo in name
    order until ``rows`` of them match (the cost model of the backends' sorted searches):
    always when the page is unbounded, never when the matches are most repos."""
    if rows <= 0:
        return True
    # The words alone, counted for everyone: no visibility clause or type token, whose long
    # posting lists GIN would go through for nothing. Only the plan depends on this number,
    # never what the caller sees.
    matches = backend(s).count(Filters(Principal(is_admin=True)), terms, "name")
    repos = int(s.scalar(select(func.max(m.Repo.id))) or 0)
    cost = LIST_WALK_COST.get(s.get_bind().dialect.name, 20.0)
    return matches * matches <= cost * rows * repos


def list_repos(
    s: Session,
    p: Principal,
    *,
    repo_type: str | None,
    search: Sequence[str] = (),
    author: str | None = None,
    filters: Sequence[str] = (),
    sort: str | None = None,
    direction: int = -1,
    limit: int | None = None,
    offset: int = 0,
) -> list[m.Repo]:
    """Repos the caller may read, filtered and sorted as the HF list endpoints ask.

    ``search`` values are matched in the search index against the words of the repo id
    (all values, the last word of each a prefix: ``tiny-cl`` finds ``alice/tiny-classifier``);
    a ``filter`` is a tag (as ``repo_tags`` derives them) or the namespace.
    """
    q = select(m.Repo).where(readable_clause(p))
    if repo_type:
        q = q.where(m.Repo.type == repo_type)
    if author:
        q = q.where(m.Repo.namespace == author)
    terms = query_terms(*search)
    q = match_text(s, q, terms, scope="name")
    for f in filters:
        q = q.where(or_(m.Repo.namespace == f, facet("tag", f)))
    col = SORT_COLUMNS.get(sort or "", None)
    if col is not None:
        q = q.order_by(col.desc() if direction < 0 else col.asc(), m.Repo.id.desc())
    elif terms and _sort_matches(s, terms, offset + (limit or 0)):
        # "|| ''": sorted, not walked in the (type, namespace, name) index testing every row
        # against the words, which costs far more when few repos match
        q = q.order_by(m.Repo.namespace.op("||")(""), m.Repo.name.op("||")(""))
    else:
        q = q.order_by(m.Repo.namespace, m.Repo.name)
    return list(s.scalars(q.offset(offset).limit(limit)))
