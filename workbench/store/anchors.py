"""Comments anchored to a file, a notebook cell at a commit, or an evaluation run.

An anchor pins the commit it was made at (by default the head of the discussion's target
branch), so the listing can tell, cell by cell, whether the cell's source changed since: it
compares the cell (found by its nbformat id) in the notebook at the anchor's commit with the
same cell at the listed revision. Notebooks older than nbformat 4.5 have no cell ids; a
comment on one of their cells is refused with a message that says so.

>>> with store.read() as s:                                             # doctest: +SKIP
...     notebook_comments(store, s, p, key, path="eval.ipynb")["cells"][0]["changed"]
True
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from workbench.errors import EntryNotFound, InvalidRequest, NotFound
from workbench.names import validate_path
from workbench.store import collab_models as c
from workbench.store import models as m
from workbench.store.commits import commit_tree
from workbench.store.notebook_diff import parsed
from workbench.store.refs import resolve_revision
from workbench.store.store import Store
from workbench.store.trees import TreeEntry

CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # nbformat 4.5 cell id
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Anchor:
    path: str | None = None
    cell: str | None = None
    commit: str | None = None
    run: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.path or self.cell or self.run)

    @classmethod
    def from_json(cls, value: object) -> Anchor | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise InvalidRequest(
                "anchor must be an object with path, cell, commit or run.", code="InvalidAnchor"
            )
        parts = {}
        for k in ("path", "cell", "commit", "run"):
            v = value.get(k)
            if v is not None and not isinstance(v, str):
                raise InvalidRequest(f"anchor.{k} must be a string.", code="InvalidAnchor")
            parts[k] = v or None
        anchor = cls(**parts)
        return None if anchor.empty and not anchor.commit else anchor


def _check_run(s: Session, repo: m.Repo, run: str) -> None:
    if not RUN_ID.match(run):
        raise InvalidRequest(
            f"Invalid run id {run!r}: an evaluation run id is 32 lowercase hex characters.",
            code="InvalidAnchor",
        )
    if not inspect(s.connection()).has_table("eval_runs"):  # this connection: no second lock
        return  # evaluation records not installed on this hub: the format is all we can check
    found = s.execute(
        text("SELECT 1 FROM eval_runs WHERE id = :id AND (model_repo_id = :repo OR dataset_repo_id = :repo)"),
        {"id": run, "repo": repo.id},
    ).first()
    if found is None:
        raise NotFound(
            f"Evaluation run {run} not found for {repo.namespace}/{repo.name}.", code="RunNotFound"
        )


def save_anchor(
    store: Store, s: Session, repo: m.Repo, ev: c.DiscussionEvent, anchor: Anchor, *, default_branch: str
) -> None:
    """Validate ``anchor`` against the repo and store it for comment ``ev``."""
    if anchor.cell and not anchor.path:
        raise InvalidRequest("A cell anchor needs the notebook's path too.", code="InvalidAnchor")
    if anchor.run:
        _check_run(s, repo, anchor.run)
    commit = None
    path = validate_path(anchor.path) if anchor.path else None
    if path:
        commit = resolve_revision(s, repo, anchor.commit or default_branch).oid
        entry = commit_tree(store, s, commit).get(path)
        if entry is None:
            raise EntryNotFound(f"{path!r} does not exist at commit {commit[:12]}.")
        if anchor.cell:
            if not CELL_ID.match(anchor.cell):
                raise InvalidRequest(
                    f"Invalid cell id {anchor.cell!r}: nbformat cell ids are 1-64 "
                    "letters, digits, '-' or '_'.",
                    code="InvalidAnchor",
                )
            cells, missing_ids = notebook_cells(store, entry)
            if missing_ids and not cells:
                raise InvalidRequest(
                    f"{path!r} has no cell ids (nbformat < 4.5): save it with a "
                    "recent Jupyter to give its cells ids, then comment.",
                    code="NotebookWithoutCellIds",
                )
            if anchor.cell not in cells:
                raise NotFound(
                    f"Cell {anchor.cell!r} not found in {path!r} at {commit[:12]}.", code="CellNotFound"
                )
    elif anchor.commit:
        commit = resolve_revision(s, repo, anchor.commit).oid
    s.add(
        c.CommentAnchor(
            event_id=ev.id, repo_id=repo.id, path=path, cell=anchor.cell, commit=commit, run=anchor.run
        )
    )


_CELL_CACHE: OrderedDict[str, tuple[dict[str, tuple[int, str]], int]] = OrderedDict()


def notebook_cells(store: Store, entry: TreeEntry) -> tuple[dict[str, tuple[int, str]], int]:
    """Cell id -> (index, source) of a notebook file, and how many cells have no id."""
    cached = _CELL_CACHE.get(entry.sha256)
    if cached is not None:
        return cached
    if not entry.path.endswith(".ipynb"):
        raise InvalidRequest(
            f"{entry.path!r} is not a notebook (.ipynb): cell anchors need one.", code="NotANotebook"
        )
    if entry.size > MAX_NOTEBOOK_BYTES:
        raise InvalidRequest(f"{entry.path!r} is too large to read its cells.", code="NotebookTooLarge")
    # InvalidNotebook when it is not JSON or not valid nbformat; ids are never invented
    nb = parsed(entry.path, entry.sha256, functools.partial(store.blobs.read, entry.sha256))
    cells: dict[str, tuple[int, str]] = {}
    missing = 0
    for i, cell in enumerate(nb.get("cells", [])):
        cid = cell.get("id")
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if isinstance(cid, str) and cid:
            cells[cid] = (i, source)
        else:
            missing += 1
    _CELL_CACHE[entry.sha256] = (cells, missing)
    while len(_CELL_CACHE) > 256:
        _CELL_CACHE.popitem(last=False)
    return cells, missing


def anchored_comments(
    store: Store, s: Session, repo: m.Repo, *, path: str | None, run: str | None, revision: str
) -> dict[str, Any]:
    """Comments on ``path`` (grouped by cell for notebooks, with ``changed``) or on ``run``."""
    E, A, D = c.DiscussionEvent, c.CommentAnchor, c.Discussion  # noqa: N806 (table aliases)
    q = (
        select(
            E.public_id,
            D.num,
            D.title,
            E.author,
            E.created_at,
            E.content,
            E.hidden,
            E.edited,
            A.path,
            A.cell,
            A.commit,
            A.run,
        )
        .join(A, A.event_id == E.id)
        .join(D, D.id == E.discussion_id)
        .where(A.repo_id == repo.id)
        .order_by(E.id)
    )
    if path:
        q = q.where(A.path == validate_path(path))
    if run:
        q = q.where(A.run == run)
    rows = s.execute(q).all()
    comments = [
        {
            "id": r[0],
            "discussion": r[1],
            "discussionTitle": r[2],
            "author": r[3],
            "createdAt": r[4],
            "content": "" if r[6] else r[5],
            "hidden": bool(r[6]),
            "edited": bool(r[7]),
            "path": r[8],
            "cell": r[9],
            "commit": r[10],
            "run": r[11],
        }
        for r in rows
    ]
    out: dict[str, Any] = {"path": path, "run": run, "comments": comments}
    if not path or not path.endswith(".ipynb"):
        return out
    resolved = resolve_revision(s, repo, revision)
    out["revision"], out["commit"] = revision, resolved.oid
    head_entry = commit_tree(store, s, resolved.oid).get(path)
    now, missing = notebook_cells(store, head_entry) if head_entry is not None else ({}, 0)
    out["exists"] = head_entry is not None
    out["cellsWithoutIds"] = missing
    groups: dict[str, dict[str, Any]] = {}
    for cm in comments:
        if not cm["cell"]:
            continue
        then_entry = commit_tree(store, s, cm["commit"]).get(path) if cm["commit"] else None
        then = notebook_cells(store, then_entry)[0] if then_entry is not None else {}
        cell = cm["cell"]
        current = now.get(cell)
        before = then.get(cell)
        cm["changed"] = current is None or before is None or current[1] != before[1]
        group = groups.setdefault(
            cell,
            {
                "cell": cell,
                "index": current[0] if current else None,
                "deleted": current is None,
                "changed": False,
                "comments": [],
            },
        )
        group["changed"] = group["changed"] or cm["changed"]
        group["comments"].append(cm)
    out["cells"] = sorted(groups.values(), key=lambda g: (g["index"] is None, g["index"] or 0))
    out["fileComments"] = [cm for cm in comments if not cm["cell"]]
    return out
