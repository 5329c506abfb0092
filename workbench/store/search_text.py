"""The text of the search index: how words are folded, the token shapes, a repo's document.

A document (:class:`IndexDoc`) has three weighted fields, plus what search results show and
filter on:

- ``name`` (weight A): the repo id, split into words on ``- _ . /``;
- ``meta`` (weight B): card metadata: title, tags, task, library, license, datasets, authors,
  base model, language;
- ``body`` (weight C): a paper's abstract and the README body as plain text;
- ``title``, ``summary`` (what a result shows) and ``facets`` (tag, task, library, license,
  for filters).

Text is folded before it is stored (lower case, no diacritics, words of letters and digits
separated by single spaces), so that both backends see the same words. That makes room for
two kinds of tokens user words can never collide with (folded text never holds ``_``):

- words of the repo id and metadata are stored as ``_word`` (``HEAD_MARK``): they have
  posting lists of their own, so "is every word in the id or metadata" (the first ranking
  tier) is a plain match rather than a column filter that reads the positions of every
  document holding the word;
- ``__`` tokens (:func:`filter_tokens`) for visibility, owner, type, namespace and each facet,
  so searches put their filters in the same match as their words: counting a filtered set
  merges posting lists instead of joining ``repos`` row by row.

How each backend stores them: :mod:`workbench.store.search_sqlite`,
:mod:`workbench.store.search_postgres`.

>>> normalize("Tiny-Classifier_v2 für Iris.csv")
'tiny classifier v2 fur iris csv'
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

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
_WORD = re.compile(r"[^\W_]+")
HEAD_MARK = "_"  # "_word": a word of the repo id or metadata ("word": of the body)
ANY_TOKEN = "__repo"  # in every document
PRIVATE_TOKEN = "__private"


def token_hash(value: str) -> str:
    return hashlib.blake2b(value.encode(), digest_size=8).hexdigest()


def owner_token(owner_id: int) -> str:
    return f"__o{owner_id}"


def type_token(repo_type: str) -> str:
    return f"__t{repo_type}"


def namespace_token(namespace: str) -> str:
    return f"__n{token_hash(namespace)}"


def facet_token(kind: str, value: str) -> str:
    return f"__f{token_hash(f'{kind}={value}')}"


def head_words(words: str) -> str:
    """``words`` as the id and metadata tokens (``_word``)."""
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
