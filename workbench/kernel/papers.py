"""Papers: repos whose card holds title, authors, abstract and identifiers, with the PDF.

>>> paper = wb.load_paper("admin/tiny-classifier-paper")          # doctest: +SKIP
>>> paper.title, paper.pdf_path                                     # doctest: +SKIP
>>> wb.publish_paper("me/note", title="...", authors=["Ada"], abstract="...",
...                  pdf="note.pdf", links=["me/tiny", "datasets/me/iris"],
...                  supplements=["results.csv", "appendix.pdf"])  # doctest: +SKIP
>>> wb.load_paper("me/note").supplements["results.csv"]            # doctest: +SKIP
PosixPath('.../supplements/results.csv')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from workbench.errors import InvalidRequest
from workbench.kernel.cards import today
from workbench.kernel.display import CommitInfo, badge
from workbench.kernel.inputs import record
from workbench.kernel.pinning import fetch, pin
from workbench.kernel.publishing import Files, commit_repo, compose_card
from workbench.kernel.session import check_repo_id, connection, find_type
from workbench.markdown import esc, md_escape
from workbench.names import validate_path
from workbench.repocard import README, split_card

_ARXIV = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$")
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_LINK_KEYS = {"model": "models", "dataset": "datasets", "space": "spaces", "paper": "papers"}
_LINK_TYPES = {v: k for k, v in _LINK_KEYS.items()}
_PREFIXES = {"models/": "model", "datasets/": "dataset", "spaces/": "space", "papers/": "paper"}
SUPPLEMENTS = "supplements/"  # supplements live under this folder of the paper repo


@dataclass
class Paper:
    """A paper repo at one commit."""

    repo_id: str
    commit: str
    title: str
    authors: list[str]
    abstract: str
    identifiers: dict[str, str]
    links: dict[str, list[str]]  # {"models": [...], "datasets": [...]}
    published: str | None
    pdf_path: Path | None
    url: str
    metadata: dict[str, Any] = field(repr=False, default_factory=dict)
    # name (path under supplements/) -> local file, downloaded at ``commit`` like the PDF
    supplements: dict[str, Path] = field(default_factory=dict)

    @property
    def arxiv_id(self) -> str | None:
        return self.identifiers.get("arxiv")

    @property
    def doi(self) -> str | None:
        return self.identifiers.get("doi")

    def bibtex(self) -> str:
        """The paper's BibTeX entry, as ``workbench paper export`` and the hub write it.

        >>> print(wb.load_paper("acme/vaswani2017").bibtex())          # doctest: +SKIP
        """
        from workbench.bibtex import to_bibtex

        return to_bibtex(self.metadata, self.repo_id, url=self.url)

    def __repr__(self) -> str:
        return (
            f"Paper({self.repo_id!r}, title={self.title!r}, authors={self.authors!r}, "
            f"commit={self.commit[:12]!r})"
        )

    def _id_links(self) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        for key, value in self.identifiers.items():
            url = None
            if key == "arxiv" and _ARXIV.match(value):
                url = f"https://arxiv.org/abs/{value}"
            elif key == "doi" and _DOI.match(value):
                url = f"https://doi.org/{quote(value, safe='/')}"
            out.append((f"{key}: {value}", url))
        return out

    def _repr_html_(self) -> str:
        ids = " &middot; ".join(
            f'<a href="{esc(u)}" target="_blank">{esc(t)}</a>' if u else esc(t) for t, u in self._id_links()
        )
        links = "".join(
            f"<li>{badge(_LINK_TYPES.get(key, key))} <code>{esc(r)}</code></li>"
            for key, repos in self.links.items()
            for r in repos
        )
        paras = "".join(f"<p>{esc(p)}</p>" for p in self.abstract.split("\n\n") if p.strip())
        pdf = f"<div>PDF: <code>{esc(self.pdf_path)}</code></div>" if self.pdf_path else ""
        sups = ", ".join(f"<code>{esc(n)}</code>" for n in self.supplements)
        return (
            f"<div>{badge('paper')} <b style='font-size:1.1em'>{esc(self.title)}</b>"
            f"<div>{esc(', '.join(self.authors))}"
            f"{' &middot; ' + esc(self.published) if self.published else ''}</div>"
            f"<div style='color:#57606a'>{ids}</div>{paras}"
            f"{'<ul>' + links + '</ul>' if links else ''}{pdf}"
            f"{'<div>Supplements: ' + sups + '</div>' if sups else ''}</div>"
        )

    def _repr_markdown_(self) -> str:
        ids = ", ".join(f"[{md_escape(t)}]({u})" if u else md_escape(t) for t, u in self._id_links())
        links = "\n".join(
            f"- {md_escape(key)}: {md_escape(r)}" for key, repos in self.links.items() for r in repos
        )
        when = f" ({md_escape(self.published)})" if self.published else ""
        sups = ", ".join(md_escape(n) for n in self.supplements)
        return (
            f"### {md_escape(self.title)}\n\n*{md_escape(', '.join(self.authors))}*{when}"
            f"\n\n{ids}\n\n{md_escape(self.abstract)}\n\n{links}\n"
            + (f"\nSupplements: {sups}\n" if sups else "")
        )


def load_paper(repo_id: str, *, revision: str | None = None) -> Paper:
    """A paper repo's card fields, its PDF and its supplements (downloaded), pinned to one
    commit.

    >>> wb.load_paper("admin/tiny-classifier-paper").abstract      # doctest: +SKIP
    """
    pinned = pin(repo_id, "paper", revision)
    conn = connection()
    meta: dict[str, Any] = {}
    if README in pinned.files:
        meta, _ = split_card(fetch(pinned, [README])[README].read_text(encoding="utf-8"))
    # the paper's PDF sits at the root (as the hub's PDF text index reads it); a PDF among
    # the supplements is not the paper
    pdfs = sorted(f for f in pinned.files if f.lower().endswith(".pdf") and "/" not in f)
    pdf = "paper.pdf" if "paper.pdf" in pdfs else (pdfs[0] if pdfs else None)
    extra = sorted(f for f in pinned.files if f.startswith(SUPPLEMENTS))
    local = fetch(pinned, [*([pdf] if pdf else []), *extra])
    pdf_path = local[pdf] if pdf else None
    authors = meta.get("authors") or []
    paper = Paper(
        repo_id=repo_id,
        commit=pinned.commit,
        title=str(meta.get("title") or repo_id.split("/")[1]),
        authors=[
            str(a.get("name", a)) if isinstance(a, dict) else str(a)
            for a in (authors if isinstance(authors, list) else [authors])
        ],
        abstract=str(meta.get("abstract") or ""),
        identifiers={str(k): str(v) for k, v in (meta.get("identifiers") or {}).items()},
        links={
            key: [str(r) for r in meta[key]] for key in _LINK_KEYS.values() if isinstance(meta.get(key), list)
        },
        published=str(meta["published"]) if meta.get("published") else None,
        pdf_path=pdf_path,
        url=conn.client.repo_url(repo_id, type="paper"),
        metadata=meta,
        supplements={f[len(SUPPLEMENTS) :]: local[f] for f in extra},
    )
    record(repo_id, "paper", pinned.commit, revision=revision, via="wb.load_paper", hub=conn.url)
    return paper


def _link_type(link: Any) -> tuple[str, str]:
    """``(type, repo_id)`` of a link: "ns/name" (looked up), "datasets/ns/name", or a record."""
    for attr in ("repo_id", "repo", "id"):
        value = getattr(link, attr, None)
        if isinstance(value, str) and isinstance(getattr(link, "type", None), str):
            return link.type, value
    if not isinstance(link, str):
        raise InvalidRequest(
            f"Invalid link {link!r}: give a repo id such as 'me/tiny' or 'datasets/me/iris'.",
            code="InvalidLink",
        )
    for prefix, kind in _PREFIXES.items():
        if link.startswith(prefix):
            return kind, check_repo_id(link[len(prefix) :])
    found = find_type(check_repo_id(link))
    if found is None:
        raise InvalidRequest(
            f"Link {link} is no repo on {connection().url} that you can see; "
            "publish it first, or prefix the type (datasets/ns/name).",
            code="InvalidLink",
        )
    return found, link


Supplements = Sequence[str | Path] | Mapping[str, str | Path | bytes]


def _supplement_files(supplements: Supplements | str | Path) -> Files:
    """``{"supplements/<name>": file}``, every name and file checked before anything is sent.

    A sequence of paths names each file by its base name; a mapping gives the names (a name
    may have folders, ``code/train.py``, but no ``..``, absolute path or backslash).
    """
    if isinstance(supplements, str | Path):
        supplements = [supplements]
    if isinstance(supplements, Mapping):
        items = [(name, value) for name, value in supplements.items()]
    elif isinstance(supplements, Sequence):
        items = [(Path(p).name if isinstance(p, str | Path) else p, p) for p in supplements]
    else:
        raise InvalidRequest(
            "supplements must be a list of file paths or a mapping {name: path}.", code="InvalidSupplement"
        )
    files: Files = {}
    for name, value in items:
        if not isinstance(name, str) or not name or name != name.strip():
            raise InvalidRequest(
                f"Invalid supplement name {name!r}: give a file name such as 'results.csv'.",
                code="InvalidSupplement",
            )
        try:
            path = validate_path(name)
        except InvalidRequest as exc:
            raise InvalidRequest(
                f"Invalid supplement name {name!r}: {exc.message}", code="InvalidSupplement"
            ) from None
        key = SUPPLEMENTS + path
        if key in files:
            raise InvalidRequest(
                f"Two supplements are named {name!r}: pass a mapping {{name: path}} to name them apart.",
                code="InvalidSupplement",
            )
        if isinstance(value, bytes):
            files[key] = value
            continue
        if not isinstance(value, str | Path):
            raise InvalidRequest(
                f"Supplement {name!r} must be a file path (or bytes), not {type(value).__name__}.",
                code="InvalidSupplement",
            )
        file = Path(value)
        if not file.is_file():
            raise InvalidRequest(
                f"Supplement {name!r}: {file} {'is not a file' if file.exists() else 'does not exist'}.",
                code="SupplementNotFound",
            )
        files[key] = file
    return files


def publish_paper(
    repo_id: str,
    *,
    title: str,
    authors: str | Sequence[str],
    abstract: str,
    pdf: str | Path | bytes | None = None,
    arxiv_id: str | None = None,
    doi: str | None = None,
    links: Sequence[Any] = (),
    private: bool = False,
    published: str | None = None,
    tags: Sequence[str] = (),
    supplements: Supplements | str | Path = (),
    message: str | None = None,
) -> CommitInfo:
    """Publish a paper repo: a card with title, authors, abstract, identifiers and links to
    models and datasets, the PDF as ``paper.pdf``, and ``supplements`` (local files: a list
    of paths, or ``{name: path}``) as ``supplements/<name>``, all in one commit.

    >>> wb.publish_paper("me/note", title="Tiny", authors=["Ada"], abstract="We ...",
    ...                  pdf="note.pdf", doi="10.1234/abc", links=["me/tiny"],
    ...                  supplements={"results.csv": "out/results.csv"})  # doctest: +SKIP
    """
    check_repo_id(repo_id)
    extra_files = _supplement_files(supplements)
    author_list = [authors] if isinstance(authors, str) else [str(a) for a in authors]
    if not isinstance(title, str) or not title.strip():
        raise InvalidRequest("A paper needs a title.", code="InvalidPaper")
    if not author_list or not all(a.strip() for a in author_list):
        raise InvalidRequest("A paper needs at least one author name.", code="InvalidPaper")
    if not isinstance(abstract, str) or not abstract.strip():
        raise InvalidRequest("A paper needs an abstract.", code="InvalidPaper")
    identifiers: dict[str, str] = {}
    if arxiv_id is not None:
        if not _ARXIV.match(arxiv_id):
            raise InvalidRequest(
                f"{arxiv_id!r} is not an arXiv id (like 2401.01234 or 2401.01234v2).", code="InvalidPaper"
            )
        identifiers["arxiv"] = arxiv_id
    if doi is not None:
        if not _DOI.match(doi):
            raise InvalidRequest(f"{doi!r} is not a DOI (like 10.1234/abc.5678).", code="InvalidPaper")
        identifiers["doi"] = doi
    grouped: dict[str, list[str]] = {}
    for link in links:
        kind, target = _link_type(link)
        grouped.setdefault(_LINK_KEYS[kind], [])
        if target not in grouped[_LINK_KEYS[kind]]:
            grouped[_LINK_KEYS[kind]].append(target)
    files: Files = {}
    if isinstance(pdf, bytes):
        if not pdf.startswith(b"%PDF-"):
            raise InvalidRequest("The PDF bytes are not a PDF (no %PDF- header).", code="InvalidPaper")
        files["paper.pdf"] = pdf
    elif pdf is not None:
        pdf_path = Path(pdf)
        if not pdf_path.is_file():
            raise InvalidRequest(f"PDF {pdf_path} does not exist.", code="InvalidPaper")
        with open(pdf_path, "rb") as f:
            if f.read(5) != b"%PDF-":
                raise InvalidRequest(f"{pdf_path} is not a PDF (no %PDF- header).", code="InvalidPaper")
        files["paper.pdf"] = pdf_path
    meta = {
        "title": title.strip(),
        "authors": author_list,
        "abstract": abstract.strip(),
        "identifiers": identifiers,
        "published": published or today(),
        **grouped,
        "tags": list(tags),
    }
    link_lines = "\n".join(
        f"- {key}: " + ", ".join(f"`{r}`" for r in repos) for key, repos in grouped.items()
    )
    sup_lines = "\n".join(f"- [{md_escape(k[len(SUPPLEMENTS) :])}]({quote(k)})" for k in extra_files)
    body = (
        f"# {title.strip()}\n\n{', '.join(author_list)} - {meta['published']}\n\n"
        f"## Abstract\n\n{abstract.strip()}\n"
        + (f"\n## Links\n\n{link_lines}\n" if link_lines else "")
        + (f"\n## Supplements\n\n{sup_lines}\n" if sup_lines else "")
    )
    files.update(extra_files)
    files["README.md"] = compose_card(meta, body, None).encode()
    return commit_repo(
        repo_id, "paper", files, private=private, message=message or f"Publish paper: {title.strip()[:60]}"
    )
