"""Search on SQLite: the FTS5 table ``repo_search(name, meta_text, card_text, filters)``.

One row per repo (rowid = ``repos.id``, migration 0002), holding the token shapes of
:mod:`workbench.store.search_text` (its tokenizer keeps ``_`` inside tokens): id and metadata
words as ``_word``, body words as they are, filter tokens in ``filters``. A query is one
``MATCH`` that holds the words and the filters, so FTS5 counts and ranks a filtered set by
merging posting lists; bm25 ranks (fields weighted 10 / 4 / 1). A trigger deletes a repo's row
with the repo.

>>> Fts5Backend(session).count(Filters(principal), query_terms("tiny"), "all")   # doctest: +SKIP
3
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table, text
from sqlalchemy.orm import Session

from workbench.store import models as m
from workbench.store.search_query import Filters, Hit, Term, Total
from workbench.store.search_text import ANY_TOKEN, HEAD_MARK, PRIVATE_TOKEN, IndexDoc, head_words, owner_token

# Sorted searches: the cost of walking one row of the sort column's index, relative to
# sorting one match.
WALK_COST = 1.0
R = m.Repo


def write_documents(session: Session, docs: Sequence[IndexDoc], *, fresh: bool) -> None:
    """Insert or replace the FTS5 rows of ``docs`` (``fresh``: none of them exists yet)."""
    if not fresh:
        session.execute(text("DELETE FROM repo_search WHERE rowid = :id"), [{"id": d.repo_id} for d in docs])
    session.execute(
        text(
            "INSERT INTO repo_search (rowid, name, meta_text, card_text, "
            "filters) VALUES (:id, :name, :meta, :body, :filters)"
        ),
        [
            {
                "id": d.repo_id,
                "name": head_words(d.name),
                "meta": head_words(d.meta),
                "body": d.body,
                "filters": d.filters,
            }
            for d in docs
        ],
    )


class Fts5Backend:
    """The searches of :mod:`workbench.store.search` on SQLite's ``repo_search``."""

    fts = table("repo_search", column("rowid"))
    BM25 = "-bm25(repo_search, 10.0, 4.0, 1.0, 0.0)"  # higher is better; filters weigh 0

    def __init__(self, session: Session) -> None:
        self.s = session

    @staticmethod
    def _word(t: Term, *, head: bool) -> str:
        star = "*" if t.prefix else ""
        marked = f'"{HEAD_MARK}{t.word}"{star}'
        return marked if head else f'("{t.word}"{star} OR {marked})'

    def _text(self, terms: Sequence[Term], scope: str) -> str:
        head = " AND ".join(self._word(t, head=True) for t in terms)
        anywhere = " AND ".join(self._word(t, head=False) for t in terms)
        return {
            "all": anywhere,
            "head": head,
            "name": f"name : ({head})",
            "rest": f"({anywhere}) NOT ({head})",
        }[scope]

    def _expr(self, f: Filters, terms: Sequence[Term], scope: str) -> str:
        parts = [f"({self._text(terms, scope)})"] if terms else []
        parts += ["(" + " OR ".join(f'"{t}"' for t in group) + ")" for group in f.tokens()]
        expr = " AND ".join(parts) or f'"{ANY_TOKEN}"'
        owners = f.owners()
        if owners is None:
            return expr
        # Leave out the private repos of others: "NOT" seeks in the short private list,
        # cheaper than "AND (public OR mine)" over nearly every row, and bm25 has fewer
        # phrases to go through per row.
        hidden = f'"{PRIVATE_TOKEN}"'
        if owners:
            hidden = f"({hidden} NOT (" + " OR ".join(f'"{owner_token(i)}"' for i in owners) + "))"
        return f"({expr}) NOT {hidden}"

    def _match(self, expr: str) -> ColumnElement[bool]:
        return literal_column("repo_search").op("MATCH")(expr)

    def match(self, q: Select[Any], terms: Sequence[Term], scope: str) -> Select[Any]:
        return q.join(self.fts, self.fts.c.rowid == R.id).where(self._match(self._text(terms, scope)))

    def count(self, f: Filters, terms: Sequence[Term], scope: str) -> int:
        return int(
            self.s.scalar(
                text("SELECT count(*) FROM repo_search WHERE repo_search MATCH :q"),
                {"q": self._expr(f, terms, scope)},
            )
            or 0
        )

    def total(self, f: Filters, terms: Sequence[Term], bound: int) -> Total:
        return Total(self.count(f, terms, "all"))  # FTS5 counts by merging posting lists: cheap

    _NEWEST = (
        "SELECT rowid AS id, {score} AS score FROM repo_search WHERE repo_search "
        "MATCH :q ORDER BY rowid DESC LIMIT :cap"
    )

    def scored(
        self, f: Filters, terms: Sequence[Term], scope: str, cap: int, offset: int, limit: int
    ) -> list[Hit]:
        inner = self._NEWEST.format(score=self.BM25)
        rows = self.s.execute(
            text(f"SELECT id, score FROM ({inner}) ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset"),
            {"q": self._expr(f, terms, scope), "cap": cap, "limit": limit, "offset": offset},
        )
        return [(int(i), float(s)) for i, s in rows]

    def scored_size(self, f: Filters, terms: Sequence[Term], scope: str, cap: int) -> int:
        inner = self._NEWEST.format(score="0")
        return int(
            self.s.scalar(
                text(f"SELECT count(*) FROM ({inner})"), {"q": self._expr(f, terms, scope), "cap": cap}
            )
            or 0
        )

    def newest(self, f: Filters, terms: Sequence[Term], scope: str, offset: int, limit: int) -> list[int]:
        rows = self.s.scalars(
            text(
                "SELECT rowid FROM repo_search WHERE repo_search MATCH :q "
                "ORDER BY rowid DESC LIMIT :limit OFFSET :offset"
            ),
            {"q": self._expr(f, terms, scope), "limit": limit, "offset": offset},
        )
        return [int(i) for i in rows]

    def ordered(
        self, f: Filters, terms: Sequence[Term], sort_column: Any, offset: int, limit: int, total: int
    ) -> list[int]:
        expr = self._expr(f, terms, "all")
        repos = int(self.s.scalar(select(func.max(R.id))) or 0)  # about how many there are
        # Sorting all matches costs about `total` rows; walking the sort column's index
        # until the page is full about (offset + limit) * repos / total rows.
        if total * total <= WALK_COST * (offset + limit) * repos:
            q = select(R.id).select_from(self.fts).join(R, R.id == self.fts.c.rowid).where(self._match(expr))
        else:
            q = select(R.id).where(*f.sql(walk=True))
            if terms:  # "+ 0": test membership row by row, do not drive the plan from it
                q = q.where((R.id + 0).in_(select(self.fts.c.rowid).where(self._match(expr))))
        order = (sort_column.desc(), R.id.desc())
        return list(self.s.scalars(q.order_by(*order).offset(offset).limit(limit)))
