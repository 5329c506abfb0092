"""The full-text search index: one document per repo, written in the transaction that changes it.

A document has three weighted fields, plus what search results show and filter on:

- ``name`` (weight A): the repo id, split into words on ``- _ . /``;
- ``meta`` (weight B): card metadata: title, tags, task, library, license, datasets, authors,
  base model, language;
- ``body`` (weight C): a paper's abstract and the README body as plain text (the first
  ``readme.MAX_BODY_BYTES`` of the file);
- ``search_docs`` (title, summary of each result) and ``search_facets`` (one row per tag,
  task, library and license, for filters).

Text is folded before it is stored (lower case, no diacritics, words of letters and digits
separated by single spaces), so that both backends see the same words. On SQLite they go to
the FTS5 table ``repo_search(name, meta_text, card_text, filters)`` (rowid = ``repos.id``),
whose tokenizer keeps ``_`` inside tokens, which folded text never contains. On PostgreSQL
the same tokens go to one ``tsvector`` per repo, ``search_vectors.doc`` (GIN index, migration
0008; :func:`pg_vector` writes its text form, no text search parser involved). That makes
room for two kinds of tokens user words can never collide with:

- words of the repo id and metadata are stored as ``_word``: they have posting lists of their
  own, so "is every word in the id or metadata" (the first ranking tier) is a plain match
  rather than a column filter that reads the positions of every document holding the word;
- the ``filters`` column holds ``__`` tokens (:func:`filter_tokens`) for visibility, owner,
  type, namespace and each facet, so searches put their filters in the same MATCH as their
  words: FTS5 counts and ranks a filtered set by merging posting lists instead of joining
  ``repos`` row by row (see ``search.py``).

Migration 0002 creates the tables, 0008 PostgreSQL's ``search_vectors``, 0011 its
``search_ranks`` (the same words with their positions, stored in line, which both ranking
tiers read; it replaced 0010's ``search_heads``, the id and metadata words alone).

``create_repo``, ``move_repo`` and ``create_commit`` (when ``README.md`` changes on ``main``)
call :func:`reindex_repo`; deleting a repo deletes its document (foreign keys, and a trigger
for the FTS5 table).

>>> normalize("Tiny-Classifier_v2 für Iris.csv")
'tiny classifier v2 fur iris csv'
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from workbench.errors import UnsupportedDatabase
from workbench.repocard import (
    card_library,
    card_license,
    card_tasks,
    card_title,
    plain_text,
    repo_tags,
    strings,
    summarize,
)
from workbench.store import models as m
from workbench.store.paper_links import refresh_refs
from workbench.store.paper_text import pdf_text
from workbench.store.readme import body_at
from workbench.store.store import Store
from workbench.store.trees import Tree

log = logging.getLogger(__name__)

MAX_FACET_CHARS = 200
META_KEYS = (
    "pretty_name",
    "tags",
    "pipeline_tag",
    "task_categories",
    "task_ids",
    "library_name",
    "license",
    "datasets",
    "authors",
    "base_model",
    "language",
)
REINDEX_KEY = "search_reindex"  # set by migration 0002 when repos existed before the index

_WORD = re.compile(r"[^\W_]+")
# PostgreSQL limits (tsvector input): longer lexemes are refused, later positions are clamped,
# further positions of one lexeme dropped; the vector is cut to fit rather than refused.
PG_MAX_LEXEME_BYTES = 2046
_PG_MAX_POS = 16383
# PostgreSQL moves a value out of line only when its row exceeds ~2 KB (TOAST_TUPLE_THRESHOLD;
# ``toast_tuple_target`` lowers the size it then aims for, not that trigger). One lexeme of
# 2,000 repeated letters (compressed to a few bytes) pushes every row over it, so every
# vector is stored compressed out of line and the heap that searches visit per match is
# ~50 bytes a row (5 MB at 100,000 repos instead of 35 MB): counts 1.5-3x faster.
PG_PAD_TOKEN = "__pad" + "x" * 2000
_PG_MAX_POSITIONS = 256


def token_hash(value: str) -> str:
    return hashlib.blake2b(value.encode(), digest_size=8).hexdigest()


# SQLite token shapes (the tokenizer keeps "_"; ``normalize`` never produces it):
# "word" in the card body, "_word" in the repo id and metadata, "__..." for filters.
HEAD_MARK = "_"
# PostgreSQL only: "_n_word" for each word of the repo id, without positions, so that the HF
# list endpoints' search (the repo id's words) is a plain GIN match. Matching "_word" with
# weight A instead rechecks every vector holding the word in its metadata too ("base" at
# 100,000 repos: 62,000 vectors read, 0.8 s). Migration 0012.
PG_NAME_MARK = "_n_"
ANY_TOKEN = "__repo"
PRIVATE_TOKEN = "__private"


def owner_token(owner_id: int) -> str:
    return f"__o{owner_id}"


def type_token(repo_type: str) -> str:
    return f"__t{repo_type}"


def namespace_token(namespace: str) -> str:
    return f"__n{token_hash(namespace)}"


def facet_token(kind: str, value: str) -> str:
    return f"__f{token_hash(f'{kind}={value}')}"


def _head_words(words: str) -> str:
    return " ".join(HEAD_MARK + w for w in words.split())


def filter_tokens(repo: m.Repo, facets: Sequence[tuple[str, str]]) -> str:
    """The ``filters`` column of a repo's FTS5 row (and the filter lexemes on PostgreSQL)."""
    return repo_filter_tokens(repo.owner_id, repo.type, repo.namespace, repo.private, facets)


def repo_filter_tokens(
    owner_id: int, repo_type: str, namespace: str, private: bool, facets: Sequence[tuple[str, str]]
) -> str:
    """:func:`filter_tokens` from plain values (migration 0008 has no ORM rows)."""
    tokens = [ANY_TOKEN, owner_token(owner_id), type_token(repo_type), namespace_token(namespace)]
    if private:
        tokens.append(PRIVATE_TOKEN)
    return " ".join(tokens + [facet_token(k, v) for k, v in facets])


def pg_vector(name: str, meta: str, body: str, filters: str) -> str:
    """The text form of a repo's ``search_vectors.doc`` (PostgreSQL), cast to ``tsvector``.

    The FTS5 row's token shapes in one vector: id and metadata words as ``_word`` (weights A
    and B), body words as they are (C), filter tokens without positions, so a search is one
    ``@@`` with a ``tsquery`` literal: no weight labels (no recheck of the vector), no join.
    Positions run on across the fields as ``to_tsvector`` of their concatenation would.
    """
    return _with_tokens(pg_rank(name, meta, body), name, filters)


def pg_name_lexeme(word: str) -> str | None:
    """The ``_n_word`` lexeme of a repo id's word, or None when PostgreSQL would refuse it."""
    lexeme = PG_NAME_MARK + word
    return lexeme if len(lexeme.encode()) <= PG_MAX_LEXEME_BYTES else None


def _with_tokens(words: str, name: str, filters: str) -> str:
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
            if len(seen) < _PG_MAX_POSITIONS and pos <= _PG_MAX_POS:
                seen.append(f"{pos}{weight}")
    # Folded words and filter tokens hold letters, digits and "_" only: no quoting needed.
    return " ".join(f"'{lexeme}':{','.join(p)}" if p else f"'{lexeme}'" for lexeme, p in positions.items())


def normalize(value: str) -> str:
    """Lower-case words of letters and digits, diacritics removed, joined by single spaces."""
    folded = value.casefold()
    if not folded.isascii():
        folded = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    return " ".join(_WORD.findall(folded))


@dataclass(frozen=True)
class IndexDoc:
    """What the index holds for one repo."""

    repo_id: int
    name: str
    meta: str
    body: str
    title: str
    summary: str
    facets: tuple[tuple[str, str], ...]
    filters: str  # filter tokens (FTS5 column; lexemes of the PostgreSQL vector)


def build_document(repo: m.Repo, body_markdown: str = "") -> IndexDoc:
    """The index document of ``repo`` from its card metadata and README body."""
    card = repo.card_data or {}
    meta_words = [card_title(card, "")] + [s for key in META_KEYS for s in strings(card.get(key))]
    abstract = " ".join(strings(card.get("abstract")))
    facets = {("tag", t) for t in repo_tags(repo)}
    facets |= {("task", t.lower()) for t in card_tasks(card)}
    for kind, value in (("library", card_library(card)), ("license", card_license(card))):
        if value:
            facets.add((kind, value.lower()))
    facet_list = tuple(sorted((k, v[:MAX_FACET_CHARS]) for k, v in facets))
    return IndexDoc(
        repo_id=repo.id,
        name=normalize(f"{repo.namespace} {repo.name}"),
        meta=normalize(" ".join(meta_words)),
        body=normalize(f"{abstract} {plain_text(body_markdown)}"),
        title=card_title(card, repo.name),
        summary=summarize(abstract) if abstract else summarize(body_markdown),
        facets=facet_list,
        filters=filter_tokens(repo, facet_list),
    )


def write_documents(session: Session, docs: Sequence[IndexDoc], *, fresh: bool = False) -> None:
    """Insert or replace the documents (``fresh``: none of these repos is indexed yet)."""
    if not docs:
        return
    dialect = session.get_bind().dialect.name
    ids = [d.repo_id for d in docs]
    rows = [
        {
            "id": d.repo_id,
            "name": d.name,
            "meta": d.meta,
            "body": d.body,
            "title": d.title,
            "summary": d.summary,
            "filters": d.filters,
        }
        for d in docs
    ]
    fts_rows = [
        {**row, "name": _head_words(d.name), "meta": _head_words(d.meta)}
        for row, d in zip(rows, docs, strict=True)
    ]
    if not fresh:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            session.execute(delete(m.SearchFacet).where(m.SearchFacet.repo_id.in_(chunk)))
    if dialect == "sqlite":
        if not fresh:
            session.execute(text("DELETE FROM repo_search WHERE rowid = :id"), [{"id": i} for i in ids])
        session.execute(
            text(
                "INSERT INTO repo_search (rowid, name, meta_text, card_text, "
                "filters) VALUES (:id, :name, :meta, :body, :filters)"
            ),
            fts_rows,
        )
    elif dialect == "postgresql":
        # Upserts: two transactions indexing the same repo must not collide on the key.
        ranked = [pg_rank(d.name, d.meta, d.body) for d in docs]
        vectors = [_with_tokens(w, d.name, d.filters) for w, d in zip(ranked, docs, strict=True)]
        for table, texts in (("search_vectors", vectors), ("search_ranks", ranked)):
            session.execute(
                text(
                    f"INSERT INTO {table} (repo_id, doc) VALUES (:id, CAST(:doc AS tsvector)) "
                    "ON CONFLICT (repo_id) DO UPDATE SET doc = excluded.doc"
                ),
                [{"id": d.repo_id, "doc": t} for d, t in zip(docs, texts, strict=True)],
            )
    else:
        raise UnsupportedDatabase(dialect)
    session.execute(
        text(
            "INSERT INTO search_docs (repo_id, title, summary) VALUES (:id, :title, :summary) "
            "ON CONFLICT (repo_id) DO UPDATE SET title = excluded.title, summary = excluded.summary"
        ),
        rows,
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
