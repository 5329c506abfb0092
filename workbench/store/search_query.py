"""How searches run on each backend: words, filters and visibility as SQL for one query.

Used by :mod:`workbench.store.search` (ranked, filtered, paged searches) and by
``repos.list_repos`` (the HF list endpoints' ``search``). Each backend answers the same few
questions (count the matches; score the newest ``cap`` of them; list them newest first or in
a column's order) for a *scope* of the words: ``all`` (anywhere), ``head`` (every word in the
repo id or card metadata), ``rest`` (``all`` but not ``head``), ``name`` (the repo id).

- SQLite (``_Fts5``): one MATCH on the FTS5 table holds the words (``"w"`` in the body,
  ``"_w"`` in the id and metadata, see ``search_index``) and the filters (``"__..."``
  tokens), so FTS5 counts and ranks a filtered set by merging posting lists; bm25 ranks.
- PostgreSQL (``_TsVector``): ``tsquery`` on ``search_docs.document`` / ``head`` joined to
  ``repos``, with the filters as SQL; ``ts_rank_cd`` ranks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.orm import Session

from workbench.errors import UnsupportedDatabase
from workbench.store import models as m
from workbench.store.accounts import Principal
from workbench.store.search_index import (
    ANY_TOKEN,
    HEAD_MARK,
    MAX_FACET_CHARS,
    PRIVATE_TOKEN,
    facet_token,
    namespace_token,
    normalize,
    owner_token,
    type_token,
)

WALK_COST = 1.0  # sorted searches (SQLite): cost of walking one row relative to sorting one
MAX_TERMS = 16
R = m.Repo
Hit = tuple[int, float | None]


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


def readable(p: Principal) -> ColumnElement[bool]:
    """SQL for ``accounts.can_read``: public, or owned by the caller or one of its orgs."""
    if p.is_admin:
        return true()
    visible: list[ColumnElement[bool]] = [R.private.is_(False)]
    if p.user_id is not None:
        visible.append(R.owner_id.in_([p.user_id, *p.orgs]))
    return or_(*visible)


def _facet_key(kind: str, value: str) -> tuple[str, str]:
    return kind, (value if kind == "tag" else value.lower())[:MAX_FACET_CHARS]


def facet(kind: str, value: str, *, correlated: bool = False) -> ColumnElement[bool]:
    """The repo has this facet (``tag`` exact; ``task``, ``library``, ``license`` any case)."""
    kind, value = _facet_key(kind, value)
    F = m.SearchFacet  # noqa: N806
    if correlated:  # one primary-key lookup per repo row
        return exists().where(F.kind == kind, F.value == value, F.repo_id == R.id)
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
        out = [readable(self.principal)]
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
        p = self.principal
        if p.is_admin:
            return None
        return [] if p.user_id is None else [p.user_id, *p.orgs]


class Backend(Protocol):
    def match(self, q: Select[Any], terms: Sequence[Term], scope: str) -> Select[Any]: ...

    def count(self, f: Filters, terms: Sequence[Term], scope: str) -> int: ...

    def scored(self, f: Filters, terms: Sequence[Term], scope: str, cap: int, offset: int,
               limit: int) -> list[Hit]: ...

    def scored_size(self, f: Filters, terms: Sequence[Term], scope: str, cap: int) -> int: ...

    def newest(self, f: Filters, terms: Sequence[Term], scope: str, offset: int,
               limit: int) -> list[int]: ...

    def ordered(self, f: Filters, terms: Sequence[Term], sort_column: Any, offset: int,
                limit: int, total: int) -> list[int]: ...


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
        return {"all": anywhere, "head": head, "name": f"name : ({head})",
                "rest": f"({anywhere}) NOT ({head})"}[scope]

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
        return (q.join(self.fts, self.fts.c.rowid == R.id)
                .where(self._match(self._text(terms, scope))))

    def count(self, f: Filters, terms: Sequence[Term], scope: str) -> int:
        return int(self.s.scalar(text("SELECT count(*) FROM repo_search WHERE repo_search "
                                      "MATCH :q"), {"q": self._expr(f, terms, scope)}) or 0)

    _NEWEST = ("SELECT rowid AS id, {score} AS score FROM repo_search WHERE repo_search "
               "MATCH :q ORDER BY rowid DESC LIMIT :cap")

    def scored(self, f: Filters, terms: Sequence[Term], scope: str, cap: int, offset: int,
               limit: int) -> list[Hit]:
        inner = self._NEWEST.format(score=self.BM25)
        rows = self.s.execute(text(f"SELECT id, score FROM ({inner}) ORDER BY score DESC, id "
                                   "DESC LIMIT :limit OFFSET :offset"),
                              {"q": self._expr(f, terms, scope), "cap": cap, "limit": limit,
                               "offset": offset})
        return [(int(i), float(s)) for i, s in rows]

    def scored_size(self, f: Filters, terms: Sequence[Term], scope: str, cap: int) -> int:
        inner = self._NEWEST.format(score="0")
        return int(self.s.scalar(text(f"SELECT count(*) FROM ({inner})"),
                                 {"q": self._expr(f, terms, scope), "cap": cap}) or 0)

    def newest(self, f: Filters, terms: Sequence[Term], scope: str, offset: int,
               limit: int) -> list[int]:
        rows = self.s.scalars(text("SELECT rowid FROM repo_search WHERE repo_search MATCH :q "
                                   "ORDER BY rowid DESC LIMIT :limit OFFSET :offset"),
                              {"q": self._expr(f, terms, scope), "limit": limit,
                               "offset": offset})
        return [int(i) for i in rows]

    def ordered(self, f: Filters, terms: Sequence[Term], sort_column: Any, offset: int,
                limit: int, total: int) -> list[int]:
        expr = self._expr(f, terms, "all")
        repos = int(self.s.scalar(select(func.max(R.id))) or 0)  # about how many there are
        # Sorting all matches costs about `total` rows; walking the sort column's index
        # until the page is full about (offset + limit) * repos / total rows.
        if total * total <= WALK_COST * (offset + limit) * repos:
            q = (select(R.id).select_from(self.fts).join(R, R.id == self.fts.c.rowid)
                 .where(self._match(expr)))
        else:
            q = select(R.id).where(*f.sql(walk=True))
            if terms:  # "+ 0": test membership row by row, do not drive the plan from it
                q = q.where((R.id + 0).in_(select(self.fts.c.rowid).where(self._match(expr))))
        order = (sort_column.desc(), R.id.desc())
        return list(self.s.scalars(q.order_by(*order).offset(offset).limit(limit)))


class _TsVector:
    """PostgreSQL: ``search_docs.document`` (A: repo id, B: metadata, C: body) and ``head``
    (A and B only), each with a GIN index."""

    document: ColumnElement[Any] = literal_column("search_docs.document")
    head: ColumnElement[Any] = literal_column("search_docs.head")

    def __init__(self, session: Session) -> None:
        self.s = session

    @staticmethod
    def _query(terms: Sequence[Term], weights: str) -> str:
        return " & ".join(f"'{t.word}'" + (":" if t.prefix or weights else "")
                          + ("*" if t.prefix else "") + weights for t in terms)

    def _tsquery(self, terms: Sequence[Term], weights: str = "") -> ColumnElement[Any]:
        return func.to_tsquery(literal_column("'simple'"), self._query(terms, weights))

    def _vector(self, scope: str) -> ColumnElement[Any]:
        return self.head if scope in ("head", "name") else self.document

    def _matches(self, terms: Sequence[Term], scope: str) -> ColumnElement[bool]:
        if scope == "rest":
            return and_(self._matches(terms, "all"), not_(self._matches(terms, "head")))
        return self._vector(scope).op("@@")(self._tsquery(terms, "A" if scope == "name" else ""))

    def match(self, q: Select[Any], terms: Sequence[Term], scope: str) -> Select[Any]:
        return (q.join(m.SearchDoc, m.SearchDoc.repo_id == R.id)
                .where(self._matches(terms, scope)))

    def _select(self, f: Filters, terms: Sequence[Term], scope: str, *columns: Any
                ) -> Select[Any]:
        q = select(*columns).select_from(R).where(*f.sql())
        return self.match(q, terms, scope) if terms else q

    def count(self, f: Filters, terms: Sequence[Term], scope: str) -> int:
        q = self._select(f, terms, scope, R.id).subquery()
        return int(self.s.scalar(select(func.count()).select_from(q)) or 0)

    def _newest_cap(self, f: Filters, terms: Sequence[Term], scope: str, cap: int) -> Any:
        score = func.ts_rank_cd(self._vector(scope), self._tsquery(terms))
        return (self._select(f, terms, scope, R.id.label("id"), score.label("score"))
                .order_by(R.id.desc()).limit(cap).subquery())

    def scored(self, f: Filters, terms: Sequence[Term], scope: str, cap: int, offset: int,
               limit: int) -> list[Hit]:
        part = self._newest_cap(f, terms, scope, cap)
        rows = self.s.execute(select(part.c.id, part.c.score)
                              .order_by(part.c.score.desc(), part.c.id.desc())
                              .offset(offset).limit(limit))
        return [(int(i), float(s)) for i, s in rows]

    def scored_size(self, f: Filters, terms: Sequence[Term], scope: str, cap: int) -> int:
        part = self._select(f, terms, scope, R.id).limit(cap).subquery()
        return int(self.s.scalar(select(func.count()).select_from(part)) or 0)

    def newest(self, f: Filters, terms: Sequence[Term], scope: str, offset: int,
               limit: int) -> list[int]:
        q = self._select(f, terms, scope, R.id).order_by(R.id.desc())
        return list(self.s.scalars(q.offset(offset).limit(limit)))

    def ordered(self, f: Filters, terms: Sequence[Term], sort_column: Any, offset: int,
                limit: int, total: int) -> list[int]:
        q = self._select(f, terms, "all", R.id).order_by(sort_column.desc(), R.id.desc())
        return list(self.s.scalars(q.offset(offset).limit(limit)))


def backend(session: Session) -> Backend:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return _Fts5(session)
    if dialect == "postgresql":
        return _TsVector(session)
    raise UnsupportedDatabase(dialect)


def match_text(session: Session, q: Select[Any], terms: Sequence[Term], *,
               scope: str = "all") -> Select[Any]:
    """Restrict ``q`` (a select from repos) to repos matching every term (``scope``: where)."""
    return backend(session).match(q, terms, scope) if terms else q
