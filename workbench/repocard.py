"""Repo cards: ``README.md`` with YAML front matter, and what is read from it.

The one parser of card front matter (``split_card``), used by the store when a commit lands,
the hub's ``validate-yaml``, and the notebook's ``wb.card``; and the fields the store reads
from the parsed metadata (tags, title, task, library, license, plain text for search).

>>> split_card("---\nlicense: mit\n---\n# Tiny")
({'license': 'mit'}, '# Tiny')

>>> card_title({"title": "Attention Is All You Need"}, "attention")
'Attention Is All You Need'
>>> summarize("# Tiny\\n\\nA **tiny** [classifier](https://x) for iris.")
'A tiny classifier for iris.'
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from workbench.errors import InvalidRequest

SUMMARY_CHARS = 200

README = "README.md"


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(
        f"{message} Fix the YAML between the two '---' lines at the top of "
        "README.md (it must be a mapping of keys to values).",
        code="InvalidYaml",
    )


def split_card(text: str) -> tuple[dict[str, Any], str]:
    """``(metadata, body)`` of a card; raises InvalidRequest (code InvalidYaml) when broken.

    Blank lines may come before the opening '---', as huggingface_hub and the public hub allow.
    """
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines = lines[1:]
    if not lines or lines[0].rstrip() != "---":
        return {}, text
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.rstrip() == "---")
    except StopIteration:
        raise _invalid("The card's YAML front matter is not closed by a '---' line.") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        raise _invalid(f"The card's YAML front matter is invalid: {exc}.") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise _invalid(f"The card's YAML front matter is a {type(meta).__name__}, not a mapping.")
    return meta, "\n".join(lines[end + 1 :]).lstrip("\n")


#: The public hub's warning for a card without metadata (huggingface_hub shows it as is).
NO_METADATA = (
    "Empty or missing yaml metadata in repo card "
    "(https://huggingface.co/docs/hub/model-cards#model-card-metadata)"
)


def card_problems(text: str) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` of a card, as the hub's ``validate-yaml`` answers them.

    Errors: front matter that does not parse (:func:`split_card`), or a ``model-index``
    that is a plain value rather than a list of results (the shape evaluation records write).
    A warning: no metadata at all.

    >>> card_problems("---\\nmodel-index: foo\\n---\\n")[0]
    ['"model-index" must be a list of {name, results} mappings, not a str.']
    >>> card_problems("# no metadata")[1] == [NO_METADATA]
    True
    """
    try:
        meta, _body = split_card(text)
    except InvalidRequest as exc:
        return [exc.message], []
    errors = []
    index = meta.get("model-index", [])
    if not isinstance(index, list | dict):  # lists of results; a lone mapping is let through
        errors.append(
            f'"model-index" must be a list of {{name, results}} mappings, not a {type(index).__name__}.'
        )
    return errors, [] if meta else [NO_METADATA]


def dump_metadata(meta: Mapping[str, Any]) -> str:
    """YAML of card metadata; raises InvalidRequest for keys or values YAML cannot hold."""
    bad = [k for k in meta if not isinstance(k, str) or not k]
    if bad:
        raise _invalid(f"Card metadata keys must be non-empty strings, not {bad!r}.")
    try:
        return yaml.safe_dump(dict(meta), sort_keys=False, allow_unicode=True, default_flow_style=False)
    except yaml.YAMLError as exc:
        raise _invalid(
            f"Card metadata cannot be written as YAML ({exc}); use strings, numbers, "
            "booleans, lists and mappings."
        ) from None


def render_card(meta: Mapping[str, Any], body: str) -> str:
    """The README text: front matter (if any metadata) and the markdown body."""
    body = body.strip("\n")
    if not meta:
        return body + "\n"
    return f"---\n{dump_metadata(meta)}---\n\n{body}\n"


def card_metadata(text: str) -> dict[str, Any] | None:
    """The front matter of a card as the store keeps it: None when absent or broken."""
    if not text.lstrip().startswith("---"):
        return None
    try:
        return split_card(text)[0]
    except InvalidRequest:
        return None


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
    return list(dict.fromkeys([*strings(card.get("pipeline_tag")), *strings(card.get("task_categories"))]))


def card_library(card: dict[str, Any]) -> str | None:
    return _first(card.get("library_name"))


def card_license(card: dict[str, Any]) -> str | None:
    return _first(card.get("license"))


def card_body(text: str) -> str:
    """The Markdown after the YAML front matter (all of it when there is none or it is broken)."""
    try:
        return split_card(text)[1]
    except InvalidRequest:
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
