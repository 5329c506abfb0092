"""Which papers a repo cites, and which repos cite a paper.

A paper repo *is* its repo id plus the arXiv id and DOI of its card (``identifiers:
{arxiv, doi}`` as ``wb.publish_paper`` writes them, or top-level ``arxiv_id`` / ``doi``).
Any repo *cites* what its card metadata names: ``arxiv:ID`` and ``doi:DOI`` tags (as the
Hugging Face Hub tags models), a ``papers:`` list (arXiv ids, DOIs or paper repo ids, also
``papers/ns/name``, arXiv and doi.org URLs), and ``arxiv:`` / ``doi:`` / ``paper:`` keys.
Both are rows of ``paper_refs``, rewritten whenever the card changes (:func:`refresh_refs`,
called with the search index), and matched by (kind, value): a model may cite a paper before
it is imported.

>>> sorted(citations({"tags": ["arxiv:2401.00001v2"], "papers": ["10.1234/X", "acme/note"]}))
[('arxiv', '2401.00001'), ('doi', '10.1234/x'), ('repo', 'acme/note')]
>>> classify("https://arxiv.org/pdf/1706.03762v5.pdf"), classify("https://doi.org/10.1145/3.4")
(('arxiv', '1706.03762'), ('doi', '10.1145/3.4'))
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, delete, select, tuple_
from sqlalchemy.orm import Session, aliased

from workbench.store import models as m
from workbench.store.access import Principal, readable_clause

ARXIV = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[a-z]{2})?/\d{7})(?:v\d+)?$", re.I)
DOI = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.I)
ARXIV_URL = re.compile(r"^https?://(?:www\.)?arxiv\.org/(?:abs|pdf)/([^?#]+?)(?:\.pdf)?/?$", re.I)
REPO = re.compile(r"^(?:papers/)?([A-Za-z0-9][\w.\-]{0,95}/[A-Za-z0-9][\w.\-]{0,95})$")
MAX_REFS = 200  # per repo: a card listing thousands of papers is not a citation list
MAX_VALUE = 255


def classify(value: str) -> tuple[str, str] | None:
    """``(kind, normalized value)`` of one identifier, or None if it is none of ours."""
    value = value.strip()
    if len(value) > MAX_VALUE:
        return None
    if match := ARXIV_URL.match(value):  # https://arxiv.org/abs/1706.03762 (or /pdf/...pdf)
        value = match.group(1)
    if match := ARXIV.match(value):
        return "arxiv", match.group(1).lower()
    if match := DOI.match(value):
        return "doi", match.group(1).lower()
    if match := REPO.match(value):
        return "repo", match.group(1).lower()
    return None


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def identifiers(repo: m.Repo) -> set[tuple[str, str]]:
    """What a paper repo is known by: its repo id, arXiv id and DOI."""
    card = repo.card_data or {}
    ids = {("repo", f"{repo.namespace}/{repo.name}".lower())}
    raw_ids = card.get("identifiers")
    declared: dict[str, Any] = raw_ids if isinstance(raw_ids, dict) else {}
    for key, kind in (("arxiv", "arxiv"), ("arxiv_id", "arxiv"), ("doi", "doi")):
        for raw in _values(declared.get(key)) + _values(card.get(key)):
            found = classify(raw)
            if found and found[0] == kind:
                ids.add(found)
    return ids


def citations(card: dict[str, Any]) -> set[tuple[str, str]]:
    """What a card cites (see the module docstring)."""
    out: set[tuple[str, str]] = set()
    for tag in _values(card.get("tags")):
        if tag.lower().startswith(("arxiv:", "doi:")):
            found = classify(tag.split(":", 1)[1] if tag.lower().startswith("doi:") else tag)
            if found:
                out.add(found)
    for key in ("papers", "paper", "arxiv", "doi"):
        for raw in _values(card.get(key)):
            found = classify(raw)
            if found and (key in ("papers", "paper") or found[0] == key):
                out.add(found)
    return set(sorted(out)[:MAX_REFS])


def refresh_refs(s: Session, repo: m.Repo) -> None:
    """Rewrite ``repo``'s rows from its card (in the caller's transaction)."""
    s.execute(delete(m.PaperRef).where(m.PaperRef.repo_id == repo.id))
    rows = {("cites", k, v) for k, v in citations(repo.card_data or {})}
    if repo.type == "paper":
        rows |= {("is", k, v) for k, v in identifiers(repo)}
    rows = {
        r
        for r in rows
        if not (r[0] == "cites" and r[1] == "repo" and r[2] == f"{repo.namespace}/{repo.name}".lower())
    }
    s.add_all(
        m.PaperRef(repo_id=repo.id, role=role, kind=kind, value=value) for role, kind, value in sorted(rows)
    )
    s.flush()


def citing_repos(
    s: Session, p: Principal, paper: m.Repo, *, repo_type: str | None = None, limit: int = 100
) -> tuple[list[m.Repo], int]:
    """Repos the caller may read whose cards cite ``paper``: (first ``limit``, total)."""
    own = aliased(m.PaperRef)
    cite = aliased(m.PaperRef)
    ids = (
        select(cite.repo_id)
        .join(own, and_(own.kind == cite.kind, own.value == cite.value))
        .where(own.repo_id == paper.id, own.role == "is", cite.role == "cites", cite.repo_id != paper.id)
    )
    q = select(m.Repo).where(m.Repo.id.in_(ids), readable_clause(p))
    if repo_type:
        q = q.where(m.Repo.type == repo_type)
    repos = list(s.scalars(q.order_by(m.Repo.likes.desc(), m.Repo.namespace, m.Repo.name)))
    return repos[:limit], len(repos)


def cited_papers(s: Session, p: Principal, repo: m.Repo) -> list[m.Repo]:
    """Paper repos the caller may read that ``repo``'s card cites."""
    refs = [
        (r.kind, r.value)
        for r in s.scalars(
            select(m.PaperRef).where(m.PaperRef.repo_id == repo.id, m.PaperRef.role == "cites")
        )
    ]
    if not refs:
        return []
    ids = select(m.PaperRef.repo_id).where(
        m.PaperRef.role == "is", tuple_(m.PaperRef.kind, m.PaperRef.value).in_(refs)
    )
    return list(
        s.scalars(
            select(m.Repo)
            .where(m.Repo.id.in_(ids), m.Repo.type == "paper", m.Repo.id != repo.id, readable_clause(p))
            .order_by(m.Repo.namespace, m.Repo.name)
        )
    )


def find_paper(s: Session, p: Principal, identifier: str) -> m.Repo | None:
    """The paper repo the caller may read known by an arXiv id, DOI or repo id (the oldest
    when several readable papers share an identifier)."""
    found = classify(identifier)
    if found is None:
        return None
    kind, value = found
    ids = select(m.PaperRef.repo_id).where(
        m.PaperRef.role == "is", m.PaperRef.kind == kind, m.PaperRef.value == value
    )
    return s.scalars(
        select(m.Repo)
        .where(m.Repo.id.in_(ids), m.Repo.type == "paper", readable_clause(p))
        .order_by(m.Repo.created_at, m.Repo.id)
        .limit(1)
    ).first()
