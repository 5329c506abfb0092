"""Workbench API: file-level diff between two revisions, and hub health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from workbench.hub.deps import Caller, State, repo_key, seg
from workbench.store import models as m
from workbench.store.access import readable_repo
from workbench.store.commits import diff_trees
from workbench.store.refs import resolve_revision

router = APIRouter(tags=["workbench"])


@router.get(
    "/api/{repo_type}/{namespace}/{name}/compare/{base}/{head}",
    summary="Files added, removed or modified between two revisions",
)
def compare(
    repo_type: str, namespace: str, name: str, base: str, head: str, state: State, caller: Caller
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    store = state.store
    with store.read() as s:
        repo = readable_repo(store, s, caller, key.as_tuple())
        old = resolve_revision(s, repo, seg(base))
        new = resolve_revision(s, repo, seg(head))
        trees = []
        for oid in (old.oid, new.oid):
            commit = s.get(m.Commit, oid)
            assert commit is not None
            trees.append(store.load_tree(s, commit.tree_hash))
    files = [
        {
            "path": c.path,
            "status": c.status,
            "oldSize": c.old.size if c.old else None,
            "newSize": c.new.size if c.new else None,
            "oldOid": c.old.git_oid if c.old else None,
            "newOid": c.new.git_oid if c.new else None,
        }
        for c in diff_trees(*trees)
    ]
    return {"base": old.oid, "head": new.oid, "files": files}


@router.get("/api/health", summary="Liveness and version")
def health(state: State) -> dict[str, Any]:
    from workbench.version import __version__

    with state.store.read() as s:
        s.execute(m.Repo.__table__.select().limit(1))
    return {"status": "ok", "version": __version__}
