"""BibTeX in and out of paper cards.

Import (:func:`parse_bibtex`, used by ``workbench paper import refs.bib``) turns each entry
into the card metadata of a paper repo, and reports every entry it cannot use with the
reason, so that a caller can refuse the whole file before creating anything. Export
(:func:`to_bibtex`) writes one entry from a paper card: the imported fields when the paper
came from BibTeX, else title, authors, year, DOI and arXiv id from the card.

>>> entries, errors = parse_bibtex("@article{k, title={T}, author={Doe, Jane}, year=2020}")
>>> entries[0].card["authors"], errors
(['Jane Doe'], [])
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ARXIV = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$")
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_YEAR = re.compile(r"^\d{4}$")
_KEY_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_LATEX_CMD = re.compile(r"\\[a-zA-Z]+\s*")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")
MAX_ABSTRACT = 20_000
# Fields kept in the card for a faithful export (the abstract lives in the card already).
KEPT = (
    "journal",
    "booktitle",
    "volume",
    "number",
    "pages",
    "publisher",
    "month",
    "url",
    "note",
    "eprint",
    "archiveprefix",
    "primaryclass",
    "doi",
    "year",
    "isbn",
    "issn",
)


@dataclass
class BibEntry:
    """One usable entry: its key, the repo name it becomes, its card metadata and PDF."""

    key: str
    name: str
    card: dict[str, Any]
    pdf: Path | None = None
    notes: list[str] = field(default_factory=list)


def plain(value: str) -> str:
    """Display text of a BibTeX value: braces and simple LaTeX commands removed."""
    text = _LATEX_CMD.sub("", value).replace("{", "").replace("}", "").replace("~", " ")
    return " ".join(text.split())


def authors(value: str) -> list[str]:
    """``"Vaswani, Ashish and Shazeer, Noam"`` → ``["Ashish Vaswani", "Noam Shazeer"]``."""
    out = []
    for part in re.split(r"\s+and\s+", value.strip()):
        name = plain(part)
        if "," in name:
            last, first = (s.strip() for s in name.split(",", 1))
            name = f"{first} {last}".strip()
        if name:
            out.append(name)
    return out


def repo_name(key: str) -> str:
    """A valid repo name from a citation key (``Vaswani:2017`` → ``Vaswani-2017``)."""
    name = _NAME_CHARS.sub("-", key).strip("-._")
    while "--" in name or ".." in name:
        name = name.replace("--", "-").replace("..", ".")
    return name[:96] or "paper"


def _parse(text: str) -> Any:
    with warnings.catch_warnings():  # pyparsing diagnostics from bibtexparser's grammar
        warnings.simplefilter("ignore")
        import bibtexparser
        from bibtexparser.bparser import BibTexParser

        parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False, interpolate_strings=True)
        return bibtexparser.loads(text, parser)


def parse_bibtex(text: str, *, base_dir: Path | None = None) -> tuple[list[BibEntry], list[str]]:
    """Usable entries and one message per unusable one (``key: what to fix``)."""
    db = _parse(text)
    errors: list[str] = []
    for junk in db.comments:
        head = junk.strip()
        if head.startswith("@"):
            errors.append(
                f"cannot parse {head.splitlines()[0][:60]!r}: check its braces, commas and citation key"
            )
    entries: list[BibEntry] = []
    seen: dict[str, str] = {}
    for raw in db.entries:
        key = str(raw.get("ID", "")).strip()
        entry = _entry(raw, key, base_dir, errors)
        if entry is None:
            continue
        if entry.name.lower() in seen:
            errors.append(
                f"{key}: its repo name {entry.name!r} clashes with entry "
                f"{seen[entry.name.lower()]!r}; give the entries distinct keys"
            )
            continue
        seen[entry.name.lower()] = key
        entries.append(entry)
    return entries, errors


def _entry(raw: dict[str, str], key: str, base_dir: Path | None, errors: list[str]) -> BibEntry | None:
    fields = {k.lower(): v for k, v in raw.items() if k not in ("ID", "ENTRYTYPE")}
    problems = []
    title = plain(fields.get("title", ""))
    names = authors(fields.get("author", ""))
    if not title:
        problems.append("no title")
    if not names:
        problems.append("no author")
    identifiers: dict[str, str] = {}
    arxiv = (
        fields.get("eprint", "").strip()
        if fields.get("archiveprefix", "").lower() == "arxiv"
        or _ARXIV.match(fields.get("eprint", "").strip())
        else ""
    )
    if arxiv:
        if not _ARXIV.match(arxiv):
            problems.append(f"eprint {arxiv!r} is not an arXiv id (like 1706.03762)")
        identifiers["arxiv"] = arxiv
    doi = re.sub(r"^https?://(dx\.)?doi\.org/", "", fields.get("doi", "").strip())
    if doi:
        if not _DOI.match(doi):
            problems.append(f"doi {doi!r} is not a DOI (like 10.1234/abc)")
        identifiers["doi"] = doi
    year = fields.get("year", "").strip()
    if year and not _YEAR.match(year):
        problems.append(f"year {year!r} is not a four-digit year")
    pdf: Path | None = None
    file_field = fields.get("file", "").strip()
    if file_field:
        # JabRef/Zotero write "description:path:type"; a bare path is fine too
        parts = file_field.split(":")
        path = Path(parts[1] if len(parts) == 3 else file_field)
        pdf = path if path.is_absolute() else (base_dir or Path.cwd()) / path
        if not pdf.is_file():
            problems.append(f"file {str(path)!r} does not exist")
        else:
            with open(pdf, "rb") as f:
                if f.read(5) != b"%PDF-":
                    problems.append(f"file {str(path)!r} is not a PDF")
    abstract = plain(fields.get("abstract", ""))
    if len(abstract) > MAX_ABSTRACT:
        problems.append(f"abstract longer than {MAX_ABSTRACT} characters")
    if not key or not _KEY_FIELD.match(key.replace(":", "-").replace(".", "-")):
        problems.append("missing or unusable citation key")
    if problems:
        errors.append(f"{key or '(no key)'}: " + "; ".join(problems))
        return None
    card: dict[str, Any] = {
        "title": title,
        "authors": names,
        "abstract": abstract,
        "identifiers": identifiers,
        "published": year or None,
        "bibtex": {
            "type": raw.get("ENTRYTYPE", "misc").lower(),
            "key": key,
            "fields": {k: fields[k] for k in KEPT if fields.get(k)},
        },
    }
    venue = plain(fields.get("journal") or fields.get("booktitle") or "")
    if venue:
        card["venue"] = venue
    return BibEntry(key=key, name=repo_name(key), card=card, pdf=pdf)


def _value(text: str) -> str:
    """A field value in braces; braces that do not balance are escaped."""
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        text = text.replace("{", r"\{").replace("}", r"\}")
    return "{" + text.replace("\n", " ") + "}"


def to_bibtex(card: dict[str, Any], repo_id: str, *, url: str) -> str:
    """One BibTeX entry for a paper card (see the module docstring)."""
    stored = b if isinstance(b := card.get("bibtex"), dict) else {}
    kept = f if isinstance(f := stored.get("fields"), dict) else {}
    entry_type = str(stored.get("type") or "misc")
    entry_type = entry_type if _KEY_FIELD.match(entry_type) else "misc"
    key = str(stored.get("key") or repo_id.split("/")[-1])
    key = re.sub(r"[\s,{}()=\"#%'\\]", "-", key)
    names = card.get("authors") or []
    names = [
        str(a.get("name", "")) if isinstance(a, dict) else str(a)
        for a in (names if isinstance(names, list) else [names])
    ]
    ids = i if isinstance(i := card.get("identifiers"), dict) else {}
    fields: dict[str, str] = {
        "title": str(card.get("title") or repo_id.split("/")[-1]),
        "author": " and ".join(n for n in names if n),
    }
    published = str(card.get("published") or "")
    if published[:4].isdigit():
        fields["year"] = published[:4]
    for k, v in kept.items():
        if isinstance(v, str) and _KEY_FIELD.match(k) and k not in ("title", "author"):
            fields[k] = v
    if ids.get("doi"):
        fields["doi"] = str(ids["doi"])
    if ids.get("arxiv"):
        fields.update({"eprint": str(ids["arxiv"]), "archiveprefix": "arXiv"})
    if card.get("abstract"):
        fields["abstract"] = str(card["abstract"])
    fields.setdefault("url", url)
    body = ",\n".join(f"  {k} = {_value(v)}" for k, v in fields.items() if v)
    return f"@{entry_type}{{{key},\n{body}\n}}\n"
