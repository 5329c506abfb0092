"""Turning store rows into the JSON shapes the Hugging Face clients parse (docs/hf-protocol.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workbench.names import URL_PREFIX
from workbench.store import models as m
from workbench.store.repos import repo_tags
from workbench.store.trees import Tree, TreeEntry


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 UTC with a trailing Z (the clients reject '+00:00')."""
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def repo_url(base: str, repo: m.Repo) -> str:
    return f"{base}/{URL_PREFIX[repo.type]}{repo.namespace}/{repo.name}"


def repo_info(
    repo: m.Repo, *, sha: str | None, tree: Tree | None, blobs: bool = False, full: bool = True
) -> dict[str, Any]:
    card = repo.card_data or {}
    out: dict[str, Any] = {
        "_id": f"{repo.type}-{repo.id}",
        "id": f"{repo.namespace}/{repo.name}",
        "author": repo.namespace,
        "private": repo.private,
        "gated": repo.gated or False,
        "disabled": False,
        "downloads": repo.downloads,
        "likes": repo.likes,
        "tags": repo_tags(repo),
        "createdAt": iso(repo.created_at),
        "lastModified": iso(repo.last_modified),
    }
    if repo.type == "model":
        out["modelId"] = out["id"]
        if card.get("library_name"):
            out["library_name"] = card["library_name"]
        if card.get("pipeline_tag"):
            out["pipeline_tag"] = card["pipeline_tag"]
    if repo.type == "space":
        out["sdk"] = repo.sdk or card.get("sdk")
    if repo.type == "paper":
        out["title"] = card.get("title")
    if sha is not None:
        out["sha"] = sha
    if full:
        out["cardData"] = card or None
        if tree is not None:
            out["siblings"] = [sibling(e, blobs) for e in tree.entries.values()]
    return out


def sibling(e: TreeEntry, blobs: bool) -> dict[str, Any]:
    if not blobs:
        return {"rfilename": e.path}
    out: dict[str, Any] = {"rfilename": e.path, "size": e.size, "blobId": e.git_oid}
    if e.lfs:
        out["lfs"] = {"size": e.size, "sha256": e.sha256, "pointerSize": e.pointer_size}
    return out


def tree_entry(path: str, e: TreeEntry | None, tree: Tree, last: m.Commit | None = None) -> dict[str, Any]:
    if e is None:
        out: dict[str, Any] = {"type": "directory", "oid": tree.dir_oid(path), "size": 0, "path": path}
    else:
        out = {"type": "file", "oid": e.git_oid, "size": e.size, "path": path}
        if e.lfs:
            out["lfs"] = {"oid": e.sha256, "size": e.size, "pointerSize": e.pointer_size}
        if e.xet_hash:
            out["xetHash"] = e.xet_hash
    if last is not None:
        out["lastCommit"] = {"id": last.oid, "title": last.title, "date": iso(last.created_at)}
    return out


def commit_out(c: m.Commit, *, formatted: bool = False) -> dict[str, Any]:
    message = c.title + ("\n\n" + c.description if c.description else "")
    out: dict[str, Any] = {
        "id": c.oid,
        "title": c.title,
        "message": message,
        "date": iso(c.created_at),
        "authors": [{"user": c.author}],
        "parents": [c.parent_oid] if c.parent_oid else [],
    }
    if formatted:
        out["formatted"] = {"title": c.title, "message": message}
    return out


def ref_out(r: m.Ref) -> dict[str, Any]:
    full = {"branch": "refs/heads/", "tag": "refs/tags/", "pr": "refs/pr/", "convert": "refs/convert/"}[
        r.kind
    ] + r.name
    return {"name": r.name, "ref": full, "targetCommit": r.commit_oid}


_CONTROL = {c: " " for c in (*range(32), 127)}


def header_value(text: str, limit: int = 500) -> str:
    """Text fit for an HTTP header (X-Error-Message): one line, ASCII, bounded.

    >>> header_value("bad\\nyaml: é")
    'bad yaml: ?'
    """
    return text.translate(_CONTROL)[:limit].encode("ascii", "replace").decode()
