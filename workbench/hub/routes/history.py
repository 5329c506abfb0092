"""Workbench API: file-level diff between two revisions (with structured diffs of
checkpoints, Parquet files and cards on request), and hub health."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Response

from workbench.hub.deps import Caller, State, repo_key, seg
from workbench.store import models as m
from workbench.store.access import readable_repo
from workbench.store.commits import diff_trees
from workbench.store.diffs import DEFAULT_VALUE_BYTES, MAX_VALUE_BYTES, StructuredDiff
from workbench.store.readme import card_at
from workbench.store.refs import resolve_revision
from workbench.store.store import Store
from workbench.store.trees import Tree
from workbench.viewer.layout import LayoutError, plan_layout

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
    response: Response,
    structured: str | None = None,
    values: str | None = None,
    ignore_outputs: str | None = None,
    ignore_metadata: str | None = None,
) -> dict[str, Any]:
    """``structured=1`` adds a ``structured`` diff to each safetensors, Parquet, notebook and
    README.md file and ``bytesRead`` to the answer; ``values=1`` lets it read tensors up to
    1 GiB; ``ignore_outputs=1`` and ``ignore_metadata=1`` leave those out of notebook diffs.
    ``Server-Timing: app;dur=<ms>`` is the handler's time (bench/notebook_diff.py reads it)."""
    started = time.perf_counter()
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
    flags = Flags(structured, values, ignore_outputs, ignore_metadata)
    out = {"base": old.oid, "head": new.oid, **compare_trees(store, key.type, trees, flags)}
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
    return out


@dataclass(frozen=True)
class Flags:
    """The compare's query flags, as given (``"1"`` or ``"true"`` turns one on)."""

    structured: str | None = None
    values: str | None = None
    ignore_outputs: str | None = None
    ignore_metadata: str | None = None

    @staticmethod
    def on(value: str | None) -> bool:
        return value in ("1", "true")


def compare_trees(store: Store, repo_type: str, trees: list[Tree], flags: Flags) -> dict[str, Any]:
    """``files`` changed between two trees (and, with ``structured``, their structured diffs,
    ``splits`` of a dataset and ``bytesRead``): the compare's answer, also a pull request's."""
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
    out: dict[str, Any] = {"files": files}
    if flags.on(flags.structured):
        diff = StructuredDiff(
            store,
            value_budget=MAX_VALUE_BYTES if flags.on(flags.values) else DEFAULT_VALUE_BYTES,
            ignore_outputs=flags.on(flags.ignore_outputs),
            ignore_metadata=flags.on(flags.ignore_metadata),
        )
        for doc, c in zip(files, changes, strict=True):
            body = diff.file(c.path, c.old, c.new)
            if body is not None:
                doc["structured"] = body
        if repo_type == "dataset":
            out["splits"] = split_changes(store, trees, files)
        out["bytesRead"] = diff.bytes_read
    return out


def split_changes(store: Store, trees: list[Tree], files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per split of a dataset (as ``datasets`` lays the files out on either side), the change
    in rows and the column changes of its Parquet files; each file's diff gets its split."""
    where: dict[str, tuple[str, str]] = {}
    for tree in trees:  # the old layout first: a file on both sides takes the new one's split
        try:
            layout = plan_layout(tree, card_at(store, tree), tmp_dir=store.blobs.tmp_dir)
        except (LayoutError, OSError):
            continue
        where |= {e.path: (c.name, sp.split) for c in layout for sp in c.splits for e in sp.files}
    splits: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in files:
        body = doc.get("structured") or {}
        if body.get("kind") != "parquet" or "rows" not in body or doc["path"] not in where:
            continue
        config, split = where[doc["path"]]
        body |= {"config": config, "split": split}
        acc = splits.setdefault(
            (config, split),
            {
                "config": config,
                "split": split,
                "rowsChange": 0,
                "columns": {"added": [], "removed": [], "retyped": []},
            },
        )
        acc["rowsChange"] += (body["rows"]["new"] or 0) - (body["rows"]["old"] or 0)
        for change, cols in body["columns"].items():
            acc["columns"][change] += [c for c in cols if c not in acc["columns"][change]]
    return list(splits.values())


@router.get("/api/health", summary="Liveness and version")
def health(state: State) -> dict[str, Any]:
    from workbench.version import __version__

    with state.store.read() as s:
        s.execute(m.Repo.__table__.select().limit(1))
    return {"status": "ok", "version": __version__}
