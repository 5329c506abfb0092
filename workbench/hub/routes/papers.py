"""Paper pages: the HF paper endpoints over paper repos, citation links, BibTeX.

A paper is found by its arXiv id (``/api/papers/1706.03762``), its DOI (``/api/papers/10.1234/abc``,
or with the slash encoded as ``%2F``) or its repo id (``/api/papers/ns/name``, which is also the
repo-info URL of a paper repo: the answer is the repo info with the paper fields added).
Every answer carries ``id`` = the paper's repo id, so ``paper_info(p.id)`` finds any listed paper.
Models, datasets and spaces whose cards cite the paper are ``linkedModels`` / ``linkedDatasets`` /
``linkedSpaces`` (see :mod:`workbench.store.paper_links`); private ones only for those who may
read them, and a private paper answers 404 like a missing one. ``supplements`` lists the files
under ``supplements/`` at main (``name``, ``path``, ``size``), as ``wb.publish_paper`` puts them.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from workbench.bibtex import to_bibtex
from workbench.errors import NotFound, RevisionNotFound
from workbench.hub import wire
from workbench.hub.deps import Caller, State, base_url, repo_key, seg
from workbench.hub.repo_info import repo_info_at
from workbench.store import contents
from workbench.store import models as m
from workbench.store.access import Principal, readable_repo
from workbench.store.commits import checkout
from workbench.store.paper_links import cited_papers, citing_repos, find_paper
from workbench.store.search import search_repos
from workbench.store.store import Store

router = APIRouter(tags=["papers"])
MAX_LINKED = 100
MAX_SEARCH = 100
_DOI_PREFIX = re.compile(r"^10\.\d{4,9}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SUPPLEMENTS = "supplements/"


def _published(repo: m.Repo) -> str | None:
    raw = str((repo.card_data or {}).get("published") or "")
    if _DATE.match(raw):
        return f"{raw}T00:00:00.000Z"
    if re.match(r"^\d{4}$", raw):
        return f"{raw}-01-01T00:00:00.000Z"
    return wire.iso(repo.created_at)


def _supplements(store: Store, s: Session, repo: m.Repo) -> list[dict[str, Any]]:
    try:
        _resolved, _commit, tree = checkout(store, s, repo, "main")
    except RevisionNotFound:  # no main branch (yet): nothing published
        return []
    return [
        {"name": e.path[len(SUPPLEMENTS) :], "path": e.path, "size": e.size} for e in tree.under(SUPPLEMENTS)
    ]


def paper_out(s: Session, p: Principal, repo: m.Repo, *, links: bool, store: Store) -> dict[str, Any]:
    """The HF paper object of a paper repo (docs/hf-protocol.md, "Papers"), with its links when ``links``."""
    card = repo.card_data or {}
    raw_ids = card.get("identifiers")
    ids: dict[str, Any] = raw_ids if isinstance(raw_ids, dict) else {}
    names = card.get("authors") or []
    names = names if isinstance(names, list) else [names]
    out: dict[str, Any] = {
        "id": f"{repo.namespace}/{repo.name}",
        "repoId": f"{repo.namespace}/{repo.name}",
        "title": str(card.get("title") or repo.name),
        "summary": str(card.get("abstract") or ""),
        "authors": [{"name": str(a.get("name", "")) if isinstance(a, dict) else str(a)} for a in names],
        "publishedAt": _published(repo),
        "upvotes": repo.likes,
        "discussionId": None,
        "source": "workbench",
        "arxivId": ids.get("arxiv") or card.get("arxiv_id"),
        "doi": ids.get("doi") or card.get("doi"),
        "private": repo.private,
        "supplements": _supplements(store, s, repo),
    }
    if links:
        for repo_type, key, total in (
            ("model", "linkedModels", "numTotalModels"),
            ("dataset", "linkedDatasets", "numTotalDatasets"),
            ("space", "linkedSpaces", None),
        ):
            repos, count = citing_repos(s, p, repo, repo_type=repo_type, limit=MAX_LINKED)
            out[key] = [wire.repo_info(r, sha=None, tree=None, full=False) for r in repos]
            if total:
                out[total] = count
    return out


def _find(s: Session, p: Principal, identifier: str) -> m.Repo:
    repo = find_paper(s, p, identifier)
    if repo is None:
        raise NotFound(
            f"No paper {identifier!r} here: give an arXiv id, a DOI or a paper repo "
            "id, and check that your token may read it.",
            code="PaperNotFound",
        )
    return repo


@router.get("/api/papers/search", summary="Search papers (title, abstract, authors, PDF text)")
def search_papers(
    state: State,
    caller: Caller,
    q: str = Query("", max_length=500),
    limit: int = Query(20, ge=1, le=MAX_SEARCH),
) -> list[dict[str, Any]]:
    with state.store.read() as s:
        page = search_repos(s, caller, query=q, types="paper", limit=limit)
        out = []
        for hit in page.results:
            ns, name = hit.id.split("/", 1)
            repo = state.store.get_repo(s, "paper", ns, name)
            out.append(paper_out(s, caller, repo, links=False, store=state.store))
        return out


@router.get("/api/papers/{paper_id}", summary="Paper info by arXiv id or DOI (slash as %2F)")
def paper_info(paper_id: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.read() as s:
        return paper_out(s, caller, _find(s, caller, seg(paper_id)), links=True, store=state.store)


@router.get(
    "/api/papers/{namespace}/{name}", summary="Paper repo info with its paper fields, or a paper by DOI"
)
def paper_repo_info(
    namespace: str, name: str, request: Request, state: State, caller: Caller, blobs: bool = False
) -> dict[str, Any]:
    ns, nm = seg(namespace), seg(name)
    if _DOI_PREFIX.match(ns):  # HfApi.paper_info("10.1234/abc") sends the DOI's slash as is
        with state.store.read() as s:
            repo = find_paper(s, caller, f"{ns}/{nm}")
            if repo is not None:
                return paper_out(s, caller, repo, links=True, store=state.store)
    info = repo_info_at(state.store, caller, repo_key("papers", namespace, name), None, blobs=blobs)
    with state.store.read() as s:
        repo = state.store.get_repo(s, "paper", *info["id"].split("/", 1))
        return {**info, **paper_out(s, caller, repo, links=True, store=state.store)}


def _markdown(state: State, caller: Caller, repo: m.Repo, s: Session) -> Response:
    _resolved, _commit, tree = checkout(state.store, s, repo, "main")
    entry = tree.get("README.md")
    text = contents.read_bytes(state.store, entry).decode("utf-8", "replace") if entry else ""
    # Markdown as text: never HTML built from user text (DESIGN: markdown is untrusted).
    return Response(
        text, media_type="text/markdown; charset=utf-8", headers={"X-Content-Type-Options": "nosniff"}
    )


@router.get("/papers/{paper_id}.md", summary="A paper's card as markdown (by arXiv id or DOI)")
def read_paper(paper_id: str, state: State, caller: Caller) -> Response:
    with state.store.read() as s:
        return _markdown(state, caller, _find(s, caller, seg(paper_id)), s)


@router.get("/papers/{namespace}/{name}.md", summary="A paper repo's card as markdown")
def read_paper_repo(namespace: str, name: str, state: State, caller: Caller) -> Response:
    with state.store.read() as s:
        return _markdown(state, caller, _find(s, caller, f"{seg(namespace)}/{seg(name)}"), s)


@router.get("/api/papers/{namespace}/{name}/bibtex", tags=["workbench"], summary="The paper's BibTeX entry")
def bibtex(namespace: str, name: str, request: Request, state: State, caller: Caller) -> Response:
    key = repo_key("papers", namespace, name)
    with state.store.read() as s:
        repo = readable_repo(state.store, s, caller, key.as_tuple())
        text = to_bibtex(repo.card_data or {}, key.id, url=wire.repo_url(base_url(request), repo))
    return Response(
        text,
        media_type="application/x-bibtex; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{repo.name}.bib"'},
    )


@router.get(
    "/api/{repo_type}/{namespace}/{name}/papers",
    tags=["workbench"],
    summary="Papers this repo's card cites (models, datasets, spaces) or papers citing it",
)
def repo_papers(repo_type: str, namespace: str, name: str, state: State, caller: Caller) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        repo = readable_repo(state.store, s, caller, key.as_tuple())
        cited = [
            paper_out(s, caller, r, links=False, store=state.store) for r in cited_papers(s, caller, repo)
        ]
        citing: list[dict[str, Any]] = []
        if repo.type == "paper":
            repos, _total = citing_repos(s, caller, repo, limit=MAX_LINKED)
            citing = [{"id": f"{r.namespace}/{r.name}", "type": r.type, "private": r.private} for r in repos]
    return {"papers": cited, "citedBy": citing}
