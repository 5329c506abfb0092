"""Workbench API: ranked full-text search over models, datasets, spaces and papers.

``GET /api/search?q=tiny-cl&type=model&license=mit&tags=iris&sort=relevance&limit=20``
answers ``{"results": [...], "total": N, "totalExact": true, "query": "tiny-cl"}``; see
:mod:`workbench.store.search` for matching, ranking and visibility. ``totalExact`` false: at
least ``total`` repos match (PostgreSQL, when the matches are most of a large hub and the
page is within the first 1,000).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from workbench.hub import wire
from workbench.hub.deps import Caller, Position, State
from workbench.store.search import SearchResult, search_repos

router = APIRouter(tags=["workbench"])
MAX_LIMIT = 100


def result_out(r: SearchResult) -> dict[str, Any]:
    return {
        "id": r.id,
        "type": r.type,
        "private": r.private,
        "title": r.title,
        "summary": r.summary,
        "tags": r.tags,
        "task": r.task,
        "library": r.library,
        "license": r.license,
        "downloads": r.downloads,
        "likes": r.likes,
        "lastModified": wire.iso(r.last_modified),
        "createdAt": wire.iso(r.created_at),
        "score": r.score,
    }


@router.get("/api/search", summary="Ranked full-text search over repos (ids, cards, metadata)")
def search(
    state: State,
    caller: Caller,
    q: str = Query(
        "",
        max_length=500,
        description="Words to find; the last may be a prefix. Empty: every repo, in `sort` order.",
    ),
    type: list[str] = Query([], description="model, dataset, space or paper (repeatable; default: all)"),
    task: str | None = Query(None, description="pipeline_tag or task_categories"),
    library: str | None = Query(None, description="library_name"),
    license: str | None = Query(None, description="license"),
    author: str | None = Query(None, description="namespace (user or organization)"),
    tags: list[str] = Query([], description="tags that must all be present (repeatable)"),
    sort: str = Query("relevance", description="relevance, downloads, likes, lastModified or createdAt"),
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    offset: Position = 0,
) -> dict[str, Any]:
    with state.store.read() as s:
        page = search_repos(
            s,
            caller,
            query=q,
            types=type or None,
            task=task,
            library=library,
            license=license,
            author=author,
            tags=tags,
            sort=sort,
            limit=limit,
            offset=offset,
        )
    return {
        "results": [result_out(r) for r in page.results],
        "total": page.total,
        "totalExact": page.total_exact,
        "query": q,
    }
