"""Citation links and PDF text for repos that existed before migration 0005.

The migration cannot read blobs, so it only leaves a mark (``KeyValue`` ``PAPER_BACKFILL``)
when repos exist; the hub calls :func:`backfill_papers` at start-up, which rewrites every
repo's ``paper_refs`` from its card and, for paper repos, extracts the PDF text and
re-indexes them, in batches, then removes the mark. Idempotent and safe to run from several
processes (each batch is its own transaction and only rewrites derived rows).

>>> backfill_papers(store)                                           # doctest: +SKIP
3
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select

from workbench.store import models as m
from workbench.store.paper_links import refresh_refs
from workbench.store.paper_text import refresh_pdf_text
from workbench.store.search_index import reindex_repo
from workbench.store.store import Store

log = logging.getLogger(__name__)

PAPER_BACKFILL = "paper_backfill"  # set by migration 0005 when repos existed before it


def backfill_papers(store: Store, *, batch: int = 200) -> int:
    """Fill ``paper_refs`` and ``paper_texts`` for every repo; returns how many it visited."""
    with store.read() as s:
        if s.get(m.KeyValue, PAPER_BACKFILL) is None:
            return 0
        ids = list(s.scalars(select(m.Repo.id).order_by(m.Repo.id)))
    for start in range(0, len(ids), batch):
        with store.write() as s:
            for repo in s.scalars(select(m.Repo).where(m.Repo.id.in_(ids[start : start + batch]))):
                if repo.type == "paper":
                    refresh_pdf_text(s, store, repo, store.main_tree(s, repo))
                    reindex_repo(s, store, repo)  # refreshes the refs too
                else:
                    refresh_refs(s, repo)
    with store.write() as s:
        s.execute(delete(m.KeyValue).where(m.KeyValue.key == PAPER_BACKFILL))
    log.info("paper links: visited %d existing repos", len(ids))
    return len(ids)
