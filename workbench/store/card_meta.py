"""What the store reads from a repo card: tags, title, task, library, license, plain text.

The card is ``README.md`` on ``main``: YAML front matter (kept parsed in ``repos.card_data``)
and a Markdown body (read from the blob when the search index is written).

>>> card_title({"title": "Attention Is All You Need"}, "attention")
'Attention Is All You Need'
>>> summarize("# Tiny\\n\\nA **tiny** [classifier](https://x) for iris.")
'A tiny classifier for iris.'
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

SUMMARY_CHARS = 200


def repo_tags(repo: Any) -> list[str]:
    """Tags as the Hub derives them: card tags plus library, task, license and dataset tags."""
    card = repo.card_data or {}
    tags: list[str] = []

    def add(value: object, prefix: str = "") -> None:
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, str | int | float) and str(v) and f"{prefix}{v}" not in tags:
                tags.append(f"{prefix}{v}")

    add(card.get("tags", []))
    add(card.get("library_name", []))
    add(card.get("pipeline_tag", []))
    add(card.get("task_categories", []))
    add(card.get("language", []))
    add(card.get("license", []), "license:")
    add(card.get("datasets", []), "dataset:")
    add(card.get("base_model", []), "base_model:")
    return tags


def strings(value: object) -> Iterator[str]:
    """Every string (or number) inside a YAML value: lists and mappings are walked."""
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)


def _first(value: object) -> str | None:
    return next(strings(value), None)


def card_title(card: dict[str, Any], name: str) -> str:
    """A paper's or card's ``title`` (or a dataset's ``pretty_name``), else the repo name."""
    return _first(card.get("title")) or _first(card.get("pretty_name")) or name


def card_tasks(card: dict[str, Any]) -> list[str]:
    """``pipeline_tag`` (models) and ``task_categories`` (datasets)."""
    return list(dict.fromkeys([*strings(card.get("pipeline_tag")),
                               *strings(card.get("task_categories"))]))


def card_library(card: dict[str, Any]) -> str | None:
    return _first(card.get("library_name"))


def card_license(card: dict[str, Any]) -> str | None:
    return _first(card.get("license"))


def card_body(text: str) -> str:
    """The Markdown after the YAML front matter (all of it when there is none)."""
    if not text.startswith("---"):
        return text
    lines = text.splitlines()
    for i, line in enumerate(lines[1:], 1):
        if line.rstrip() == "---":
            return "\n".join(lines[i + 1:])
    return text


_HTML = re.compile(r"<!--.*?-->|<[^>\n]{1,500}>", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"(^|\s)[#>]+\s|[*`|~]+|^\s*[-+]\s+|^\s*\d+\.\s+", re.M)
_FENCE = re.compile(r"^(```|~~~).*?^(```|~~~)\s*$", re.S | re.M)
_SPACE = re.compile(r"\s+")


def plain_text(markdown: str) -> str:
    """Markdown reduced to its words: no tags, link targets, images or markup characters."""
    text = _HTML.sub(" ", markdown)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    return _MARKUP.sub(" ", text)


def summarize(markdown: str, limit: int = SUMMARY_CHARS) -> str:
    """The first ``limit`` characters of the body's prose (headings and code left out)."""
    text = _FENCE.sub(" ", markdown)
    prose = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    flat = _SPACE.sub(" ", plain_text("\n".join(prose))).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
    return cut.rstrip(" ,.;:") + "…"
