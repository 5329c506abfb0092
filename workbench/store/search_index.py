"""The full-text search index: one document per repo, written in the transaction that changes it.

A repo's document (:func:`workbench.store.search_text.build_document`) is built from its card
metadata, its README body (the first ``readme.MAX_BODY_BYTES``) and, for a paper, its PDF text
(:mod:`workbench.store.paper_text`). Each backend stores it its own way
(:mod:`workbench.store.search_sqlite`: an FTS5 row; :mod:`workbench.store.search_postgres`: a
``tsvector``); both share ``search_docs`` (title, summary of each result) and
``search_facets`` (one row per tag, task, library and license, for filters).

Migration 0002 creates the tables, 0008 PostgreSQL's ``search_vectors``, 0011 its
``search_ranks`` (it replaced 0010's ``search_heads``).

``create_repo``, ``move_repo`` and a new head of ``main`` (``head_updates``, when ``README.md``
or a paper's PDF changes) call :func:`reindex_repo`; deleting a repo deletes its document
(foreign keys, and a trigger for the FTS5 table).

>>> with store.write() as s:                                     # doctest: +SKIP
...     reindex_repo(s, store, repo)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from workbench.errors import UnsupportedDatabase
from workbench.store import models as m
from workbench.store import search_postgres, search_sqlite
from workbench.store.paper_links import refresh_refs
from workbench.store.paper_text import pdf_text
from workbench.store.readme import body_at

# Migration 0008 imports these two from here (migrations never change).
from workbench.store.search_postgres import PG_PAD_TOKEN as PG_PAD_TOKEN
from workbench.store.search_text import IndexDoc, build_document
from workbench.store.search_text import repo_filter_tokens as repo_filter_tokens
from workbench.store.store import Store
from workbench.store.trees import Tree

log = logging.getLogger(__name__)

REINDEX_KEY = "search_reindex"  # set by migration 0002 when repos existed before the index
WRITERS: dict[str, Callable[..., None]] = {
    "sqlite": search_sqlite.write_documents,
    "postgresql": search_postgres.write_documents,
}


def write_documents(session: Session, docs: Sequence[IndexDoc], *, fresh: bool = False) -> None:
    """Insert or replace the documents (``fresh``: none of these repos is indexed yet)."""
    if not docs:
        return
    dialect = session.get_bind().dialect.name
    writer = WRITERS.get(dialect)
    if writer is None:
        raise UnsupportedDatabase(dialect)
    if not fresh:
        ids = [d.repo_id for d in docs]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            session.execute(delete(m.SearchFacet).where(m.SearchFacet.repo_id.in_(chunk)))
    writer(session, docs, fresh=fresh)
    session.execute(
        text(
            "INSERT INTO search_docs (repo_id, title, summary) VALUES (:id, :title, :summary) "
            "ON CONFLICT (repo_id) DO UPDATE SET title = excluded.title, summary = excluded.summary"
        ),
        [{"id": d.repo_id, "title": d.title, "summary": d.summary} for d in docs],
    )
    facets = [{"kind": k, "value": v, "repo_id": d.repo_id} for d in docs for k, v in d.facets]
    if facets:
        session.execute(
            text(
                "INSERT INTO search_facets (kind, value, repo_id) VALUES "
                "(:kind, :value, :repo_id) ON CONFLICT DO NOTHING"
            ),
            facets,
        )


def reindex_repo(session: Session, store: Store, repo: m.Repo, *, tree: Tree | None = None) -> None:
    """Write ``repo``'s document from its metadata and the README at ``tree`` (default: main).

    >>> with store.write() as s:                                     # doctest: +SKIP
    ...     reindex_repo(s, store, store.get_repo(s, "model", "alice", "tiny"))
    """
    session.flush()  # the repo row (and its id) must exist before its document
    if tree is None:
        tree = store.main_tree(session, repo)
    refresh_refs(session, repo)  # paper citations follow the card (see paper_links)
    body = body_at(store, tree)
    if repo.type == "paper":  # a paper is found by words of its PDF too (see paper_text)
        body = f"{body}\n\n{pdf_text(session, repo)}"
    write_documents(session, [build_document(repo, body)])


def reindex_pending(store: Store, *, batch: int = 500) -> int:
    """Index every repo once after migration 0002 found repos without documents.

    Idempotent and safe to run from several processes; returns how many repos it indexed.
    """
    with store.read() as s:
        if s.get(m.KeyValue, REINDEX_KEY) is None:
            return 0
        ids = list(s.scalars(select(m.Repo.id).order_by(m.Repo.id)))
    for start in range(0, len(ids), batch):
        with store.write() as s:
            repos = s.scalars(select(m.Repo).where(m.Repo.id.in_(ids[start : start + batch])))
            write_documents(s, [build_document(r, body_at(store, store.main_tree(s, r))) for r in repos])
    with store.write() as s:
        s.execute(delete(m.KeyValue).where(m.KeyValue.key == REINDEX_KEY))
    log.info("search index: indexed %d existing repos", len(ids))
    return len(ids)


def index_size(session: Session) -> int:
    """Documents in the index (for checks and benchmarks)."""
    return int(session.scalar(select(func.count()).select_from(m.SearchDoc)) or 0)
