"""Ranked full-text search over the repos a caller may read, with filters, sorts and pages.

The index itself (what is stored, when it is written) is :mod:`workbench.store.search_index`;
a query as data, :mod:`workbench.store.search_query`; how it runs,
:mod:`workbench.store.search_sqlite` and :mod:`workbench.store.search_postgres`
(:func:`backend` picks one).

>>> with store.read() as s:                                              # doctest: +SKIP
...     page = search_repos(s, principal, query="tiny-cl", types=["model"], license="mit")
>>> page.total, page.results[0].id                                       # doctest: +SKIP
(1, 'alice/tiny-classifier')

A query is folded like the index (lower case, no diacritics, split on anything that is not a
letter or digit, so ``tiny-cl`` is the words ``tiny`` and ``cl``); every word must occur in
the repo id, the card metadata or the card body, and the last one may be a prefix.

With ``sort="relevance"`` the matches come in two tiers: first the repos whose id or card
metadata hold every word, then those that need the card body; within a tier by bm25 (SQLite,
fields weighted 10 / 4 / 1) or ``ts_rank_cd`` (PostgreSQL, weights A / B / C). Scoring is
bounded: each tier scores its ``SCORE_CAP`` newest matches and lists any further ones after
them, newest first. Up to that many matches per tier (any narrow query) the ranking is exact;
a query matching most of a large hub ("model") stays as fast as a narrow one. Other sorts
(downloads, likes, lastModified, createdAt) order every match, most first. Without a query,
``relevance`` means downloads.

Visibility (private repos only for those who may read them, as ``access.can_read``) and the
filters are applied in the database, before counting and paging, so pages are exact, and so
are totals, but for one case: on PostgreSQL, when the matches are most of a large hub, a page
within the first ``TOTAL_BOUND`` reports "at least ``TOTAL_BOUND``" (``total_exact`` False)
rather than count them all (see ``search_postgres.TsVectorBackend.total``); pages past it
count. On both backends visibility and filters are tokens in the repo's index row
(``search_text.filter_tokens``: the FTS5 row, the PostgreSQL ``search_vectors.doc``), matched
together with the words, so that counting a filtered set of 100,000 repos merges posting lists instead of
joining ``repos`` row by row; the repos of a page are checked against ``repos`` once more
before they are returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from workbench.errors import InvalidRequest, UnsupportedDatabase
from workbench.names import PLURAL_TYPES, validate_repo_type
from workbench.repocard import card_library, card_license, card_tasks, repo_tags
from workbench.store import models as m
from workbench.store.access import Principal, readable_clause
from workbench.store.search_postgres import TsVectorBackend
from workbench.store.search_query import Backend, Filters, Hit, Term, query_terms
from workbench.store.search_sqlite import Fts5Backend

SCORE_CAP = 1000
TOTAL_BOUND = 1000
R = m.Repo
SORTS: dict[str, Any] = {
    "relevance": None,
    "downloads": R.downloads,
    "likes": R.likes,
    "lastModified": R.last_modified,
    "last_modified": R.last_modified,
    "createdAt": R.created_at,
    "created_at": R.created_at,
}


@dataclass(frozen=True)
class SearchResult:
    id: str
    type: str
    private: bool
    title: str
    summary: str
    tags: list[str]
    task: str | None
    library: str | None
    license: str | None
    downloads: int
    likes: int
    last_modified: datetime
    created_at: datetime
    score: float | None  # None: not scored (other sorts, or past a tier's SCORE_CAP)


@dataclass(frozen=True)
class SearchPage:
    results: list[SearchResult]
    total: int
    total_exact: bool = True  # False: at least ``total`` match (PostgreSQL, dense matches)


BACKENDS: dict[str, type[Fts5Backend] | type[TsVectorBackend]] = {
    "sqlite": Fts5Backend,
    "postgresql": TsVectorBackend,
}


def backend(session: Session) -> Backend:
    """The search backend of ``session``'s database."""
    dialect = session.get_bind().dialect.name
    found = BACKENDS.get(dialect)
    if found is None:
        raise UnsupportedDatabase(dialect)
    return found(session)


def match_text(session: Session, q: Select[Any], terms: Sequence[Term], *, scope: str = "all") -> Select[Any]:
    """Restrict ``q`` (a select from repos) to repos matching every term (``scope``: where)."""
    return backend(session).match(q, terms, scope) if terms else q


def _types(types: str | Iterable[str] | None) -> tuple[str, ...]:
    if types is None:
        return ()
    values = [types] if isinstance(types, str) else list(types)
    return tuple(sorted({validate_repo_type(PLURAL_TYPES.get(t, t)) for t in values if t}))


def search_repos(
    session: Session,
    principal: Principal,
    *,
    query: str = "",
    types: str | Iterable[str] | None = None,
    task: str | None = None,
    library: str | None = None,
    license: str | None = None,
    author: str | None = None,
    tags: Sequence[str] = (),
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    score_cap: int = SCORE_CAP,
    total_bound: int = TOTAL_BOUND,
) -> SearchPage:
    """One page of the repos ``principal`` may read that match ``query`` and every filter.

    ``total_bound``: on PostgreSQL, a page within the first that many matches may report
    "at least ``total_bound``" (``total_exact`` False) instead of counting them all.
    """
    if sort not in SORTS:
        raise InvalidRequest(
            f"Unknown sort {sort!r}: use relevance, downloads, likes, lastModified or createdAt.",
            code="InvalidSort",
        )
    if limit < 1 or offset < 0:
        raise InvalidRequest("limit must be at least 1 and offset at least 0.", code="InvalidParameter")
    facets = [(k, v) for k, v in (("task", task), ("library", library), ("license", license)) if v] + [
        ("tag", t) for t in dict.fromkeys(tags) if t
    ]
    f = Filters(principal, _types(types), author or None, tuple(facets))
    terms = query_terms(query)
    index = backend(session)
    bound = total_bound if offset + limit <= total_bound else 0
    if terms and SORTS[sort] is None:
        # Ranked first: its tiers may show at least `bound` matches, so that none are counted.
        hits = _ranked(index, f, terms, offset, limit, score_cap)
        found = index.total(f, terms, bound)
        return SearchPage(_results(session, principal, hits), found.n, found.exact)
    found = index.total(f, terms, bound)
    if found.n == 0 or offset >= found.n:
        return SearchPage([], found.n, found.exact)
    column = SORTS[sort] if SORTS[sort] is not None else R.downloads
    hits = [(i, None) for i in index.ordered(f, terms, column, offset, limit, found.guess)]
    return SearchPage(_results(session, principal, hits), found.n, found.exact)


def _ranked(
    index: Backend, f: Filters, terms: Sequence[Term], offset: int, limit: int, cap: int
) -> list[Hit]:
    """The page at ``offset``: tier "head" then "rest", each its scored part then the others."""
    hits: list[Hit] = []
    for scope in ("head", "rest"):
        rows = index.scored(f, terms, scope, cap, offset, limit - len(hits))
        hits += rows
        if len(hits) == limit:
            return hits
        size = offset + len(rows) if rows else index.scored_size(f, terms, scope, cap)
        offset = max(0, offset - size)
        if size < cap:
            continue  # every match of this tier was scored
        more = index.newest(f, terms, scope, cap + offset, limit - len(hits))
        hits += [(i, None) for i in more]
        if len(hits) == limit:
            return hits
        if more:
            offset = 0
        else:
            offset = max(0, offset - max(0, index.count(f, terms, scope) - cap))
    return hits


def _results(session: Session, p: Principal, hits: list[Hit]) -> list[SearchResult]:
    if not hits:
        return []
    rows = session.execute(
        select(R, m.SearchDoc.title, m.SearchDoc.summary)
        .outerjoin(m.SearchDoc, m.SearchDoc.repo_id == R.id)
        .where(R.id.in_([i for i, _ in hits]), readable_clause(p))
    ).all()
    found = {repo.id: (repo, title, summary) for repo, title, summary in rows}
    out = []
    for repo_id, score in hits:
        if repo_id not in found:
            continue  # not readable after all: never shown
        repo, title, summary = found[repo_id]
        card = repo.card_data or {}
        tasks = card_tasks(card)
        out.append(
            SearchResult(
                id=f"{repo.namespace}/{repo.name}",
                type=repo.type,
                private=repo.private,
                title=title or repo.name,
                summary=summary or "",
                tags=repo_tags(repo),
                task=tasks[0] if tasks else None,
                library=card_library(card),
                license=card_license(card),
                downloads=repo.downloads,
                likes=repo.likes,
                last_modified=repo.last_modified,
                created_at=repo.created_at,
                score=score,
            )
        )
    return out
