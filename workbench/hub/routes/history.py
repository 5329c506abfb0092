"""Workbench API: file-level diff between two revisions (with structured diffs of
checkpoints, Parquet files and cards on request), and hub health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from workbench.hub.deps import Caller, State, repo_key, seg
from workbench.store import models as m
from workbench.store.access import readable_repo
from workbench.store.commits import diff_trees
from workbench.store.diffs import DEFAULT_VALUE_BYTES, MAX_VALUE_BYTES, StructuredDiff
from workbench.store.refs import resolve_revision

router = APIRouter(tags=["workbench"])


@router.get(
    "/api/{repo_type}/{namespace}/{name}/compare/{base}/{head}",
    summary="Files added, removed or modified between two revisions",
)
def compare(
    repo_type: str,
    namespace: str,
    name: str,
    base: str,
    head: str,
    state: State,
    caller: Caller,
    structured: str | None = None,
    values: str | None = None,
) -> dict[str, Any]:
    """``structured=1`` adds a ``structured`` diff to each safetensors, Parquet and README.md
    file and ``bytesRead`` to the answer; ``values=1`` lets it read tensors up to 1 GiB."""
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
    changes = diff_trees(*trees)
    files: list[dict[str, Any]] = [
        {
            "path": c.path,
            "status": c.status,
            "oldSize": c.old.size if c.old else None,
            "newSize": c.new.size if c.new else None,
            "oldOid": c.old.git_oid if c.old else None,
            "newOid": c.new.git_oid if c.new else None,
        }
        for c in changes
    ]
    out: dict[str, Any] = {"base": old.oid, "head": new.oid, "files": files}
    if structured in ("1", "true"):
        budget = MAX_VALUE_BYTES if values in ("1", "true") else DEFAULT_VALUE_BYTES
        diff = StructuredDiff(store, value_budget=budget)
        for doc, c in zip(files, changes, strict=True):
            body = diff.file(c.path, c.old, c.new)
            if body is not None:
                doc["structured"] = body
        out["bytesRead"] = diff.bytes_read
    return out


@router.get("/api/health", summary="Liveness and version")
def health(state: State) -> dict[str, Any]:
    from workbench.version import __version__

    with state.store.read() as s:
        s.execute(m.Repo.__table__.select().limit(1))
    return {"status": "ok", "version": __version__}
