"""How searches run on each backend: words, filters and visibility as SQL for one query.

Used by :mod:`workbench.store.search` (ranked, filtered, paged searches) and by
``repos.list_repos`` (the HF list endpoints' ``search``). Each backend answers the same few
questions (count the matches, or on PostgreSQL show that at least a bound match; score the
newest ``cap`` of them; list them newest first or in a column's order) for a *scope* of the
words: ``all`` (anywhere), ``head`` (every word in the repo id or card metadata), ``rest``
(``all`` but not ``head``), ``name`` (the repo id).

- SQLite (``_Fts5``): one MATCH on the FTS5 table holds the words (``"w"`` in the body,
  ``"_w"`` in the id and metadata, see ``search_index``) and the filters (``"__..."``
  tokens), so FTS5 counts and ranks a filtered set by merging posting lists; bm25 ranks.
- PostgreSQL (``_TsVector``): the same expression as a ``tsquery`` literal on the narrow
  ``search_vectors`` table (migration 0008), whose vectors hold the same token shapes;
  ``ts_rank_cd`` ranks, over ``search_ranks`` (migration 0011).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    any_,
    cast,
    column,
    exists,
    func,
    literal,
    literal_column,
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

from workbench.errors import UnsupportedDatabase
from workbench.store import models as m
from workbench.store.access import Principal, readable_clause
from workbench.store.search_index import (
    ANY_TOKEN,
    HEAD_MARK,
    MAX_FACET_CHARS,
    PG_MAX_LEXEME_BYTES,
    PRIVATE_TOKEN,
    facet_token,
    namespace_token,
    normalize,
    owner_token,
    pg_name_lexeme,
    type_token,
)

WALK_COST = 1.0  # sorted searches: cost of walking one row relative to sorting one
# PostgreSQL: walking the sort index checks visibility and each facet per row, by primary key
# (a library and a license, 8,600 of 100,000 repos: 1.1-1.8 ms walking, 6-10 ms sorting).
PG_WALK_COST = 2.0
WALK_WINDOW = 5000  # PostgreSQL: most rows tested one by one for the newest matches
REPO_WALK_FACTOR = 3  # ... when only repos' own columns are tested (no words, no facets)
MAX_TERMS = 16
R = m.Repo
Hit = tuple[int, float | None]
NO_TOKEN = "__none"  # in no document


@dataclass(frozen=True)
class Term:
    word: str
    prefix: bool


def query_terms(*values: str) -> list[Term]:
    """The words of each value, the last word of each a prefix (``"tiny-cl"``: tiny, cl*).

    A one-letter last word is a word, not a prefix (it would match a good part of any index).
    """
    terms: list[Term] = []
    for value in values:
        words = normalize(value or "").split()
        terms += [Term(w, i == len(words) - 1 and len(w) > 1) for i, w in enumerate(words)]
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def _facet_key(kind: str, value: str) -> tuple[str, str]:
    return kind, (value if kind == "tag" else value.lower())[:MAX_FACET_CHARS]


def facet(kind: str, value: str, *, correlated: bool = False) -> ColumnElement[bool]:
    """The repo has this facet (``tag`` exact; ``task``, ``library``, ``license`` any case)."""
    kind, value = _facet_key(kind, value)
    F = m.SearchFacet  # noqa: N806
    if correlated:  # one primary-key lookup per repo row; "OFFSET 0": PostgreSQL would make
        # it a join of every repo with the facet (a library and a license, 9,500 of 100,000
        # repos: 17 ms, against 3 ms walking the downloads index 230 rows deep)
        return exists(select(F.repo_id).where(F.kind == kind, F.value == value, F.repo_id == R.id).offset(0))
    return R.id.in_(select(F.repo_id).where(F.kind == kind, F.value == value))


@dataclass(frozen=True)
class Filters:
    """Who searches, and what every result must be."""

    principal: Principal
    types: tuple[str, ...] = ()
    author: str | None = None
    facets: tuple[tuple[str, str], ...] = ()

    def sql(self, *, walk: bool = False) -> list[ColumnElement[bool]]:
        """As SQL on repos; ``walk``: checked row by row while walking a sort index."""
        out = [readable_clause(self.principal)]
        if self.types:  # "|| ''": a type is no index to drive a walk from (SQLite)
            out.append((R.type + "" if walk else R.type).in_(self.types))
        if self.author:
            out.append(R.namespace == self.author)
        return out + [facet(k, v, correlated=walk) for k, v in self.facets]

    def tokens(self) -> list[list[str]]:
        """The filters as FTS5 tokens: every group must match one of its tokens."""
        groups = [[type_token(t) for t in self.types]] if self.types else []
        if self.author:
            groups.append([namespace_token(self.author)])
        return groups + [[facet_token(*_facet_key(k, v))] for k, v in self.facets]

    def owners(self) -> list[int] | None:
        """Whose private repos the principal may read (None: everyone's)."""
        return self.principal.owner_ids()


@dataclass(frozen=True)
class Total:
    """How many repos match: ``n`` exactly, or at least ``n`` (``exact`` False).

    ``hint``: the best guess of the real number, for choosing plans (``n`` when exact, the
    planner's estimate when not); never shown, since an estimate counts private repos too.
    """

    n: int
    exact: bool = True
    hint: int | None = None

    @property
    def guess(self) -> int:
        return self.n if self.hint is None else max(self.n, self.hint)


class Backend(Protocol):
    def match(self, q: Select[Any], terms: Sequence[Term], scope: str) -> Select[Any]: ...

    def count(self, f: Filters, terms: Sequence[Term], scope: str) -> int: ...

    def total(self, f: Filters, terms: Sequence[Term], bound: int) -> Total: ...

    def scored(
        self, f: Filters, terms: Sequence[Term], scope: str, cap: int, offset: int, limit: int
    ) -> list[Hit]: ...

    def scored_size(self, f: Filters, terms: Sequence[Term], scope: str, cap: int) -> int: ...

    def newest(self, f: Filters, terms: Sequence[Term], scope: str, offset: int, limit: int) -> list[int]: ...

    def ordered(
        self, f: Filters, terms: Sequence[Term], sort_column: Any, offset: int, limit: int, total: int
    ) -> list[int]: ...


class _Fts5:
    """SQLite: FTS5 table ``repo_search`` (rowid = repos.id), token shapes as in search_index."""

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
        return Total(self.count(f, terms, "all"))  # FTS5 counts 100,000 matches in ~2 ms

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


class _TsVector:
    """PostgreSQL: ``search_vectors(repo_id, doc)``, one ``tsvector`` per repo with the token
    shapes of the FTS5 row (``search_index.pg_vector``), GIN-indexed.

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
            # decompresses every vector (10 ms at 1,000 repos) rather than ask the index.
            # Every search counts first; LOCAL: until the end of this transaction.
            self.s.execute(text("SET LOCAL enable_seqscan = off"))
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
            self._all = n  # how dense the matches are, for _newest_ids
        return n

    def total(self, f: Filters, terms: Sequence[Term], bound: int) -> Total:
        """The matches counted through the index; or "at least ``bound``" when the planner
        expects them to be dense and the newest repos hold that many.

        GIN builds a bitmap of every match before a count reads it (``model`` at 100,000
        repos, 80,000 matches: 10-12 ms, whatever the ``LIMIT``). When the estimate (words
        from ``search_ranks`` statistics, filters from ``repos``; :meth:`_estimate`) puts
        ``bound`` matches within :attr:`walk_window` of the newest rows, those rows are tested
        one by one until ``bound`` match (1,000 of ``model``: ~1,300 rows). A wrong estimate
        costs time, never the answer: too few in the window, and the index counts.
        """
        self._plan()
        seen = max(self._seen.get("all", 0), self._seen.get("head", 0) + self._seen.get("rest", 0))
        if 0 < bound <= seen:  # a ranked page found that many already (the tiers are disjoint)
            return Total(bound, exact=False)
        guess = self._guess(f, terms) if bound > 0 else 0
        if guess > 0:
            window = self._window(bound, guess)
            # rows of repos alone (type, visibility: ~0.4 µs each) test faster than words
            widest = self.walk_window * (1 if terms or f.facets else REPO_WALK_FACTOR)
            if (
                guess >= bound
                and window <= widest  # fewer expected: the index counts
                and self._walk_count(f, terms, window, bound) >= bound
            ):
                self._all = guess  # for _newest_ids
                return Total(bound, exact=False, hint=guess)
        return Total(self.count(f, terms, "all"))

    def _guess(self, f: Filters, terms: Sequence[Term]) -> int:
        if self._estimated is None:
            self._estimated = self._estimate(f, terms)
        return self._estimated

    def _estimate(self, f: Filters, terms: Sequence[Term]) -> int:
        """The planner's estimate of the matches (``EXPLAIN``, ~0.4 ms; migration 0013)."""
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
        primary key testing every vector (it did, 300 ms for a rare word), it sorts matches."""
        return (self.vectors.c.repo_id + 0).desc()

    def _newest_ids(self, f: Filters, terms: Sequence[Term], scope: str, cap: int) -> list[int]:
        """The ids of the newest ``cap`` matches.

        The matches from the GIN index, sorted (every match is visited: 16 ms for 72,000 of
        100,000 repos); or, when they are dense (by the count of ``all`` if one ran, else the
        planner's estimate), the newest rows walked and tested one by one in a window sized
        from that density (:meth:`_walk_newest`). If the window holds fewer than ``cap``
        matches the index answers.
        """
        self._plan()
        dense = self._all or (self._guess(f, terms) if scope != "head" else 0)
        if scope != "head" and dense:
            window = self._window(cap, dense)
            if dense >= cap and window <= self.walk_window:  # else the window falls short
                ids = self._walk_newest(f, terms, scope, window, cap)
                if len(ids) == cap:
                    return ids
        q = (
            select(self.vectors.c.repo_id)
            .where(self._matches(self._expr(f, terms, scope)))
            .order_by(self._by_id())
            .limit(cap)
        )
        return list(self.s.scalars(q))

    def _walk_newest(self, f: Filters, terms: Sequence[Term], scope: str, window: int, cap: int) -> list[int]:
        """The matches among the newest ``window`` repos, tested row by row: the words on
        their in-line ``search_ranks`` rows, the filters and visibility on ``repos`` (a
        vector from TOAST per row took 12 ms for 1,500 rows, this 4-5 ms)."""
        r = self.ranks
        w = select(r.c.repo_id, r.c.doc).order_by(r.c.repo_id.desc()).limit(window).subquery()
        words = cast(literal(self._text(terms, scope)), TSQUERY)
        return list(
            self.s.scalars(
                select(w.c.repo_id)
                .join(R, R.id == w.c.repo_id)
                .where(w.c.doc.op("@@")(words), *f.sql(walk=True))
                .order_by(w.c.repo_id.desc())
                .limit(cap)
            )
        )

    def scored(
        self, f: Filters, terms: Sequence[Term], scope: str, cap: int, offset: int, limit: int
    ) -> list[Hit]:
        ids = self._newest_ids(f, terms, scope, cap)
        self._seen[scope] = max(self._seen.get(scope, 0), len(ids))
        if not ids:
            return []
        # Ranked after the cap: only the newest `cap` matches are read, never every match.
        # One array parameter: an IN list of 1,000 parameters took 40 ms to send and plan.
        # Their own rows in line (search_ranks), not the vectors, which TOAST holds so that
        # counts walk a small heap: ranking the newest 1,000 of a body word took 10.8 ms from
        # search_vectors, 4-6 ms from search_ranks.
        r = self.ranks
        rank = func.ts_rank_cd(r.c.doc, cast(literal(self._rank_text(terms, scope)), TSQUERY))
        rows = self.s.execute(
            select(r.c.repo_id, rank.label("score"))
            .where(r.c.repo_id == any_(literal(ids, ARRAY(Integer))))
            .order_by(rank.desc(), r.c.repo_id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [(int(i), float(s)) for i, s in rows]

    def _rank_text(self, terms: Sequence[Term], scope: str) -> str:
        """The words to rank by: the id and metadata words for ``head``, any for the rest."""
        return " & ".join(self._word(t, head=scope == "head") for t in terms)

    def scored_size(self, f: Filters, terms: Sequence[Term], scope: str, cap: int) -> int:
        part = self._ids(f, terms, scope).limit(cap).subquery()
        return int(self.s.scalar(select(func.count()).select_from(part)) or 0)

    def newest(self, f: Filters, terms: Sequence[Term], scope: str, offset: int, limit: int) -> list[int]:
        q = self._ids(f, terms, scope).order_by(self._by_id())
        return [int(i) for i in self.s.scalars(q.offset(offset).limit(limit))]

    def ordered(
        self, f: Filters, terms: Sequence[Term], sort_column: Any, offset: int, limit: int, total: int
    ) -> list[int]:
        self._plan()
        order = (sort_column.desc(), R.id.desc())
        if total * total <= PG_WALK_COST * (offset + limit) * self._size():  # as on SQLite
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


def backend(session: Session) -> Backend:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return _Fts5(session)
    if dialect == "postgresql":
        return _TsVector(session)
    raise UnsupportedDatabase(dialect)


def match_text(session: Session, q: Select[Any], terms: Sequence[Term], *, scope: str = "all") -> Select[Any]:
    """Restrict ``q`` (a select from repos) to repos matching every term (``scope``: where)."""
    return backend(session).match(q, terms, scope) if terms else q
