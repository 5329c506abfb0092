"""A search as data, shared by both backends: its words (:class:`Term`), its filters
(:class:`Filters`), how many match (:class:`Total`), and what a backend answers (:class:`Backend`).

Used by :mod:`workbench.store.search` (ranked, filtered, paged searches) and by
``repos.list_repos`` (the HF list endpoints' ``search``). Each backend
(:mod:`workbench.store.search_sqlite`, :mod:`workbench.store.search_postgres`) answers the
same few questions (count the matches, or on PostgreSQL show that at least a bound match;
score the newest ``cap`` of them; list them newest first or in a column's order) for a
*scope* of the words: ``all`` (anywhere), ``head`` (every word in the repo id or card
metadata), ``rest`` (``all`` but not ``head``), ``name`` (the repo id).

>>> query_terms("tiny-cl")
[Term(word='tiny', prefix=False), Term(word='cl', prefix=True)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, exists, select

from workbench.store import models as m
from workbench.store.access import Principal, readable_clause
from workbench.store.search_text import (
    MAX_FACET_CHARS,
    facet_token,
    namespace_token,
    normalize,
    type_token,
)

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
        # it a join of every repo with the facet, which costs more than walking a sort index
        # a few hundred rows deep
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
        """Whose private repos the principal may read (None: everyone's); for a limited
        token, only in the namespaces it covers whole (``readable_clause`` decides the rest)."""
        return self.principal.whole_owner_ids()


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
