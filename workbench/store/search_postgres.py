"""Search on PostgreSQL: one ``tsvector`` per repo, written as text, matched as ``tsquery``.

``search_vectors.doc`` (GIN index, migration 0008) holds the token shapes of
:mod:`workbench.store.search_text` (:func:`pg_vector` writes its text form, no text search
parser involved); ``search_ranks.doc`` (migration 0011) the same words with their positions,
stored in line, which both ranking tiers read; ``ts_rank_cd`` ranks (weights A / B / C). Each
repo id word is also a ``_n_word`` lexeme without positions (migration 0012). A query is one
``doc @@ 'literal'::tsquery`` with the words, the filters and visibility, like the FTS5 match
on SQLite.

>>> pg_rank("alice tiny", "mit", "tiny notes")
"'_alice':1A '_tiny':2A '_mit':3B 'tiny':4C 'notes':5C"
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    cast,
    column,
    exists,
    func,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.visitors import InternalTraversal

from workbench.store import models as m
from workbench.store.search_query import NO_TOKEN, Filters, Hit, Term, Total
from workbench.store.search_text import ANY_TOKEN, HEAD_MARK, PRIVATE_TOKEN, IndexDoc, owner_token

# PostgreSQL limits (tsvector input): longer lexemes are refused, later positions are clamped,
# further positions of one lexeme dropped; the vector is cut to fit rather than refused.
PG_MAX_LEXEME_BYTES = 2046
MAX_POS = 16383
# PostgreSQL moves a value out of line only when its row exceeds ~2 KB (TOAST_TUPLE_THRESHOLD;
# ``toast_tuple_target`` lowers the size it then aims for, not that trigger). One lexeme of
# 2,000 repeated letters (compressed to a few bytes) pushes every row over it, so every
# vector is stored compressed out of line and the heap that counts visit per match stays a
# few dozen bytes a row.
PG_PAD_TOKEN = "__pad" + "x" * 2000
MAX_POSITIONS = 256


# PostgreSQL only: "_n_word" for each word of the repo id, without positions, so that the HF
# list endpoints' search (the repo id's words) is a plain GIN match. Matching "_word" with
# weight A instead rechecks every vector holding the word in its metadata too. Migration 0012.
PG_NAME_MARK = "_n_"
# Sorted searches: walking the sort index checks visibility and each facet per row, by
# primary key, which costs more per row than on SQLite.
WALK_COST = 2.0
WALK_WINDOW = 5000  # most rows tested one by one for the newest matches
REPO_WALK_FACTOR = 3  # ... when only repos' own columns are tested (no words, no facets)
R = m.Repo


def pg_vector(name: str, meta: str, body: str, filters: str) -> str:
    """The text form of a repo's ``search_vectors.doc`` (PostgreSQL), cast to ``tsvector``.

    The FTS5 row's token shapes in one vector: id and metadata words as ``_word`` (weights A
    and B), body words as they are (C), filter tokens without positions, so a search is one
    ``@@`` with a ``tsquery`` literal: no weight labels (no recheck of the vector), no join.
    Positions run on across the fields as ``to_tsvector`` of their concatenation would.
    """
    return with_tokens(pg_rank(name, meta, body), name, filters)


def pg_name_lexeme(word: str) -> str | None:
    """The ``_n_word`` lexeme of a repo id's word, or None when PostgreSQL would refuse it."""
    lexeme = PG_NAME_MARK + word
    return lexeme if len(lexeme.encode()) <= PG_MAX_LEXEME_BYTES else None


def with_tokens(words: str, name: str, filters: str) -> str:
    """The vector's text: ``words`` (as :func:`pg_rank`), then the tokens without positions."""
    names = [x for x in map(pg_name_lexeme, dict.fromkeys(name.split())) if x]
    tokens = " ".join(f"'{t}'" for t in [*names, *filters.split(), PG_PAD_TOKEN])
    return f"{words} {tokens}" if words else tokens


def pg_rank(name: str, meta: str, body: str) -> str:
    """The text form of ``search_ranks.doc`` (PostgreSQL, migration 0011): the lexemes of
    :func:`pg_vector` that have positions (id and metadata words as ``_word``, body words),
    with the same positions and weights, which is all either ranking tier's ``ts_rank_cd``
    reads; stored in line, unlike the vector, so that ranking does not read TOAST."""
    return _pg_lexemes(((name, HEAD_MARK, "A"), (meta, HEAD_MARK, "B"), (body, "", "C")))


def _pg_lexemes(fields: Sequence[tuple[str, str, str]]) -> str:
    positions: dict[str, list[str]] = {}
    pos = 0
    for words, mark, weight in fields:
        for word in words.split():
            pos += 1
            lexeme = mark + word
            if len(lexeme.encode()) > PG_MAX_LEXEME_BYTES:
                continue
            seen = positions.setdefault(lexeme, [])
            if len(seen) < MAX_POSITIONS and pos <= MAX_POS:
                seen.append(f"{pos}{weight}")
    # Folded words and filter tokens hold letters, digits and "_" only: no quoting needed.
    return " ".join(f"'{lexeme}':{','.join(p)}" if p else f"'{lexeme}'" for lexeme, p in positions.items())


def write_documents(session: Session, docs: Sequence[IndexDoc], *, fresh: bool) -> None:
    """Insert or replace the vectors and rank rows of ``docs``."""
    # Upserts: two transactions indexing the same repo must not collide on the key.
    ranked = [pg_rank(d.name, d.meta, d.body) for d in docs]
    vectors = [with_tokens(w, d.name, d.filters) for w, d in zip(ranked, docs, strict=True)]
    for name, texts in (("search_vectors", vectors), ("search_ranks", ranked)):
        session.execute(
            text(
                f"INSERT INTO {name} (repo_id, doc) VALUES (:id, CAST(:doc AS tsvector)) "
                "ON CONFLICT (repo_id) DO UPDATE SET doc = excluded.doc"
            ),
            [{"id": d.repo_id, "doc": t} for d, t in zip(docs, texts, strict=True)],
        )


class _Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON)`` of a select, compiled once per shape like any statement."""

    inherit_cache = True
    _traverse_internals = [("statement", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement

    @property
    def _all_selected_columns(self) -> tuple[()]:  # the plan is read by position
        return ()


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


class TsVectorBackend:
    """The searches of :mod:`workbench.store.search` on ``search_vectors(repo_id, doc)``: one
    ``tsvector`` per repo (:func:`pg_vector`), GIN-indexed.

    Every question is one ``doc @@ 'literal'::tsquery`` on that narrow table: the words, the
    filters and visibility as lexemes, so counting a filtered, visibility-checked set is GIN
    posting-list work plus a few hundred small heap pages, with no join to ``repos``. Scores
    come from ``search_ranks``: the same words with their positions, stored in line. Matches
    in most of the hub are not counted through the index at all (:meth:`total`).
    """

    vectors = table("search_vectors", column("repo_id"), column("doc"))
    ranks = table("search_ranks", column("repo_id"), column("doc"))  # migration 0011

    def __init__(self, session: Session) -> None:
        self.s = session
        self._all = 0  # matches of the last count of scope "all"
        self._planned = False
        self._repos: int | None = None
        self._estimated: int | None = None
        self._seen: dict[str, int] = {}  # scope: most of its newest matches found at once
        self.walk_window = WALK_WINDOW

    @staticmethod
    def _word(t: Term, *, head: bool) -> str:
        star = ":*" if t.prefix else ""
        marked = f"'{HEAD_MARK}{t.word}'{star}"
        return marked if head else f"('{t.word}'{star} | {marked})"

    def _text(self, terms: Sequence[Term], scope: str) -> str:
        if any(len(t.word.encode()) + 1 > PG_MAX_LEXEME_BYTES for t in terms):
            return f"'{NO_TOKEN}'"  # no lexeme that long is indexed: no repo matches
        head = " & ".join(self._word(t, head=True) for t in terms)
        anywhere = " & ".join(self._word(t, head=False) for t in terms)
        if scope == "name":  # the repo id's own lexemes (HF list endpoints only)
            names = [(pg_name_lexeme(t.word), ":*" if t.prefix else "") for t in terms]
            if not all(lexeme for lexeme, _ in names):
                return f"'{NO_TOKEN}'"
            return " & ".join(f"'{lexeme}'{star}" for lexeme, star in names)
        return {"all": anywhere, "head": head, "rest": f"({anywhere}) & !({head})"}[scope]

    def _expr(self, f: Filters, terms: Sequence[Term], scope: str) -> str:
        parts = [f"({self._text(terms, scope)})"] if terms else []
        parts += ["(" + " | ".join(f"'{t}'" for t in group) + ")" for group in f.tokens()]
        expr = " & ".join(parts) or f"'{ANY_TOKEN}'"
        owners = f.owners()
        if owners is None:
            return expr
        hidden = f"'{PRIVATE_TOKEN}'"  # as on SQLite: leave out the private repos of others
        if owners:
            hidden = f"({hidden} & !(" + " | ".join(f"'{owner_token(i)}'" for i in owners) + "))"
        return f"({expr}) & !{hidden}"

    def _matches(self, expr: str) -> ColumnElement[bool]:
        return self.vectors.c.doc.op("@@")(cast(literal(expr), TSQUERY))

    def match(self, q: Select[Any], terms: Sequence[Term], scope: str) -> Select[Any]:
        return q.join(self.vectors, self.vectors.c.repo_id == R.id).where(
            self._matches(self._text(terms, scope))
        )

    def _ids(self, f: Filters, terms: Sequence[Term], scope: str) -> Select[Any]:
        self._plan()
        v = self.vectors
        return select(v.c.repo_id).where(self._matches(self._expr(f, terms, scope)))

    def _plan(self) -> None:
        if not self._planned:
            # The planner does not cost detoasting: on a small table it scans every row and
            # decompresses every vector rather than ask the index.
            # Every search counts first; LOCAL (``set_config``'s true): until the end of this
            # transaction. The largest id comes with it, one round trip for both, since most
            # searches size a walk by it.
            self._repos = int(
                self.s.execute(
                    select(
                        func.set_config("enable_seqscan", "off", True),
                        select(func.max(R.id)).scalar_subquery(),
                    )
                ).one()[1]
                or 0
            )
            self._planned = True

    def _size(self) -> int:
        """About how many repos there are (the largest id), read once per search."""
        if self._repos is None:
            self._repos = int(self.s.scalar(select(func.max(R.id))) or 0)
        return self._repos

    def _window(self, need: int, matches: int) -> int:
        """How many of the newest rows to test for ``need`` of ``matches`` spread evenly over
        the repos (rounded up, with 25 % to spare)."""
        return -(-need * self._size() * 5 // (matches * 4))

    def count(self, f: Filters, terms: Sequence[Term], scope: str) -> int:
        q = self._ids(f, terms, scope).subquery()
        n = int(self.s.scalar(select(func.count()).select_from(q)) or 0)
        if scope == "all":
            self._all = n  # how dense the matches are, for _newest_scored
        return n

    def total(self, f: Filters, terms: Sequence[Term], bound: int) -> Total:
        """The matches counted through the index; or "at least ``bound``" when the planner
        expects them to be dense and the newest repos hold that many.

        GIN builds a bitmap of every match before a count reads it, whatever the ``LIMIT``, so
        counting most of a large hub is slow. When the estimate (words
        from ``search_ranks`` statistics, filters from ``repos``; :meth:`_estimate`) puts
        ``bound`` matches within :attr:`walk_window` of the newest rows, those rows are tested
        one by one until ``bound`` match. A wrong estimate
        costs time, never the answer: too few in the window, and the index counts.
        """
        self._plan()
        seen = max(self._seen.get("all", 0), self._seen.get("head", 0) + self._seen.get("rest", 0))
        if 0 < bound <= seen:  # a ranked page found that many already (the tiers are disjoint)
            return Total(bound, exact=False)
        guess = self._guess(f, terms) if bound > 0 else 0
        if guess > 0:
            window = self._window(bound, guess)
            # rows of repos alone (type, visibility) test faster than words
            widest = self.walk_window * (1 if terms or f.facets else REPO_WALK_FACTOR)
            if (
                guess >= bound
                and window <= widest  # fewer expected: the index counts
                and self._walk_count(f, terms, window, bound) >= bound
            ):
                self._all = guess  # for _newest_scored
                return Total(bound, exact=False, hint=guess)
        return Total(self.count(f, terms, "all"))

    def _guess(self, f: Filters, terms: Sequence[Term]) -> int:
        if self._estimated is None:
            self._estimated = self._estimate(f, terms)
        return self._estimated

    def _estimate(self, f: Filters, terms: Sequence[Term]) -> int:
        """The planner's estimate of the matches (``EXPLAIN``, cheap; migration 0013)."""
        q = select(R.id).where(*f.sql())
        if terms:
            r = self.ranks
            q = q.join(r, r.c.repo_id == R.id).where(
                r.c.doc.op("@@")(cast(literal(self._text(terms, "all")), TSQUERY))
            )
        plan: Any = self.s.connection().execute(_Explain(q)).scalar()
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])

    def _walk_count(self, f: Filters, terms: Sequence[Term], window: int, bound: int) -> int:
        """How many of the newest ``window`` repos match, counting up to ``bound``: the words
        on the in-line ``search_ranks`` rows, the filters on ``repos``, as
        :meth:`_walk_newest`."""
        first = self._size() - window
        if terms:
            r = self.ranks
            words = cast(literal(self._text(terms, "all")), TSQUERY)
            q = (
                select(r.c.repo_id)
                .join(R, R.id == r.c.repo_id)
                .where(r.c.repo_id > first, r.c.doc.op("@@")(words), *f.sql(walk=True))
            )
        else:
            q = select(R.id).where(R.id > first, *f.sql(walk=True))
        part = q.limit(bound).subquery()
        return int(self.s.scalar(select(func.count()).select_from(part)) or 0)

    def _by_id(self) -> Any:
        """Newest first, in an order no index gives: the planner cannot choose to walk the
        primary key testing every vector (slow for a rare word), it sorts the matches."""
        return (self.vectors.c.repo_id + 0).desc()

    def _newest_scored(
        self, f: Filters, terms: Sequence[Term], scope: str, cap: int, offset: int, limit: int
    ) -> tuple[list[Hit], int]:
        """The page at ``offset`` of the newest ``cap`` matches ranked, and how many were ranked
        (0 when the page is empty).

        The matches from the GIN index, sorted (every match is visited); or, when they are
        dense (by the count of ``all`` if one ran, else the planner's estimate), the newest
        rows walked and tested one by one in a window sized from that density
        (:meth:`_walk_newest`). If the window holds fewer than ``cap`` matches the index
        answers. Found and ranked in one statement: the ids never come back to Python.
        """
        self._plan()
        rank = cast(literal(self._rank_text(terms, scope)), TSQUERY)
        dense = self._all or (self._guess(f, terms) if scope != "head" else 0)
        if scope != "head" and dense:
            window = self._window(cap, dense)
            if dense >= cap and window <= self.walk_window:  # else the window falls short
                hits, n = self._walk_newest(f, terms, scope, window, cap, rank, offset, limit)
                if n == cap:
                    return hits, n
        v, r = self.vectors, self.ranks
        ids = (
            select(v.c.repo_id)
            .where(self._matches(self._expr(f, terms, scope)))
            .order_by(self._by_id())
            .limit(cap)
            .subquery()
        )
        # Ranked from their own rows in line (search_ranks), not the vectors, which TOAST
        # holds so that counts walk a small heap; reading them out of TOAST would double what
        # ranking costs.
        scored = select(r.c.repo_id, func.ts_rank_cd(r.c.doc, rank).label("score")).join(
            ids, ids.c.repo_id == r.c.repo_id
        )
        return self._page(scored, offset, limit)

    def _walk_newest(
        self,
        f: Filters,
        terms: Sequence[Term],
        scope: str,
        window: int,
        cap: int,
        rank: ColumnElement[Any],
        offset: int,
        limit: int,
    ) -> tuple[list[Hit], int]:
        """As :meth:`_newest_scored`, for the matches among the newest ``window`` repos,
        tested row by row: the words on their in-line ``search_ranks`` rows, the filters and
        visibility on ``repos`` (reading a vector from TOAST per row costs more than twice as
        much)."""
        r = self.ranks
        w = select(r.c.repo_id, r.c.doc).order_by(r.c.repo_id.desc()).limit(window).subquery()
        words = cast(literal(self._text(terms, scope)), TSQUERY)
        scored = (
            select(w.c.repo_id, func.ts_rank_cd(w.c.doc, rank).label("score"))
            .join(R, R.id == w.c.repo_id)
            .where(w.c.doc.op("@@")(words), *f.sql(walk=True))
            .order_by(w.c.repo_id.desc())
            .limit(cap)
        )
        return self._page(scored, offset, limit)

    def _page(self, scored: Select[Any], offset: int, limit: int) -> tuple[list[Hit], int]:
        """One page of ``scored`` (repo_id, score) by score, and how many rows it ranked."""
        # "OFFSET 0": ranked inside the subquery, so that the count over the window buffers
        # ids and scores; pulled up, it buffered each row's whole rank document before ranking.
        c = scored.offset(0).subquery()
        rows = self.s.execute(
            select(c.c.repo_id, c.c.score, func.count().over())
            .order_by(c.c.score.desc(), c.c.repo_id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        return [(int(i), float(score)) for i, score, _ in rows], (int(rows[0][2]) if rows else 0)

    def scored(
        self, f: Filters, terms: Sequence[Term], scope: str, cap: int, offset: int, limit: int
    ) -> list[Hit]:
        # Ranked after the cap: only the newest `cap` matches are read, never every match.
        if offset >= cap:  # past every scored match (scored_size says how many there are)
            return []
        hits, n = self._newest_scored(f, terms, scope, cap, offset, limit)
        self._seen[scope] = max(self._seen.get(scope, 0), n)
        return hits

    def _rank_text(self, terms: Sequence[Term], scope: str) -> str:
        """The words to rank by: the id and metadata words for ``head``, any for the rest."""
        return " & ".join(self._word(t, head=scope == "head") for t in terms)

    def scored_size(self, f: Filters, terms: Sequence[Term], scope: str, cap: int) -> int:
        part = self._ids(f, terms, scope).limit(cap).subquery()
        n = int(self.s.scalar(select(func.count()).select_from(part)) or 0)
        self._seen[scope] = max(self._seen.get(scope, 0), n)
        return n

    def newest(self, f: Filters, terms: Sequence[Term], scope: str, offset: int, limit: int) -> list[int]:
        q = self._ids(f, terms, scope).order_by(self._by_id())
        return [int(i) for i in self.s.scalars(q.offset(offset).limit(limit))]

    def ordered(
        self, f: Filters, terms: Sequence[Term], sort_column: Any, offset: int, limit: int, total: int
    ) -> list[int]:
        self._plan()
        order = (sort_column.desc(), R.id.desc())
        if total * total <= WALK_COST * (offset + limit) * self._size():  # as on SQLite
            ids = self._ids(f, terms, "all").subquery()
            q = select(R.id).join(ids, ids.c.repo_id == R.id)
        else:
            q = select(R.id).where(*f.sql(walk=True))
            if terms:  # checked row by row ("OFFSET 0": not turned into a join of all matches)
                v = self.vectors
                q = q.where(
                    exists(
                        select(v.c.repo_id)
                        .where(v.c.repo_id == R.id, self._matches(self._text(terms, "all")))
                        .offset(0)
                    )
                )
        return list(self.s.scalars(q.order_by(*order).offset(offset).limit(limit)))
