"""Notebook displays: small HTML building blocks, repo info and commit records.

Every piece of user text (ids, titles, card text) is escaped; markdown from cards is rendered
with raw HTML disabled and unsafe links dropped, so no user HTML reaches the page.

>>> wb.info("admin/tiny-classifier")      # doctest: +SKIP
RepoInfo('admin/tiny-classifier', type='model', sha='3f2a...', files=4)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.markdown import esc

_COLORS = {"model": "#1f6feb", "dataset": "#b35900", "paper": "#8250df", "space": "#1a7f37"}
_TABLE_STYLE = "border-collapse:collapse;font-size:0.9em"
_CELL = "padding:2px 8px;text-align:left;vertical-align:top"


def badge(repo_type: str) -> str:
    color = _COLORS.get(repo_type, "#57606a")
    return (
        f'<span style="background:{color};color:white;border-radius:3px;padding:0 5px;'
        f'font-size:0.8em">{esc(repo_type)}</span>'
    )


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    raw_columns: frozenset[int] | set[int] = frozenset(),
) -> str:
    """An HTML table; cells are escaped except those in ``raw_columns`` (built by us)."""
    head = "".join(f'<th style="{_CELL}">{esc(h)}</th>' for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td style="{_CELL}">{c if i in raw_columns else esc(c)}</td>' for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def short_date(value: str | None) -> str:
    """``2026-01-15T10:20:30.000Z`` -> ``2026-01-15 10:20``."""
    if not value:
        return ""
    return value.replace("T", " ")[:16]


# -- repo info -------------------------------------------------------------------------------


@dataclass
class RepoInfo:
    """What the hub says about a repo at one commit (``wb.info``)."""

    id: str
    type: str
    sha: str | None
    private: bool
    tags: list[str]
    card_data: dict[str, Any]
    files: list[dict[str, Any]]
    last_modified: str | None
    downloads: int
    likes: int
    url: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any], repo_type: str, url: str) -> RepoInfo:
        files = [
            {"path": s.get("rfilename"), "size": s.get("size"), "lfs": bool(s.get("lfs"))}
            for s in data.get("siblings") or []
        ]
        return cls(
            id=data.get("id", ""),
            type=repo_type,
            sha=data.get("sha"),
            private=bool(data.get("private")),
            tags=list(data.get("tags") or []),
            card_data=dict(data.get("cardData") or {}),
            files=files,
            last_modified=data.get("lastModified"),
            downloads=int(data.get("downloads") or 0),
            likes=int(data.get("likes") or 0),
            url=url,
            raw=data,
        )

    @property
    def title(self) -> str | None:
        value = self.card_data.get("title") or self.card_data.get("pretty_name")
        return str(value) if value else None

    def __repr__(self) -> str:
        return (
            f"RepoInfo({self.id!r}, type={self.type!r}, sha={(self.sha or '')[:12]!r}, "
            f"files={len(self.files)}{', private' if self.private else ''})"
        )

    def _repr_html_(self) -> str:
        from workbench.kernel.session import LOADER

        lock = " &#128274; private" if self.private else ""
        title = f"<div><i>{esc(self.title)}</i></div>" if self.title else ""
        meta = []
        for key in (
            "license",
            "library_name",
            "pipeline_tag",
            "task_categories",
            "datasets",
            "base_model",
            "authors",
        ):
            if key in self.card_data:
                value = self.card_data[key]
                meta.append((key, ", ".join(map(str, value)) if isinstance(value, list) else value))
        files = table(
            ("file", "size", "storage"),
            ((f["path"], human_size(f["size"]), "LFS" if f["lfs"] else "") for f in self.files),
        )
        tags = " ".join(f"<code>{esc(t)}</code>" for t in self.tags)
        load = f'{LOADER.get(self.type, "wb.info")}("{self.id}")'
        return (
            f'<div>{badge(self.type)} <b><a href="{esc(self.url)}" target="_blank">'
            f"{esc(self.id)}</a></b>{lock}{title}"
            f"<div style='color:#57606a;font-size:0.9em'>commit <code>"
            f"{esc((self.sha or '')[:12])}</code> &middot; updated "
            f"{esc(short_date(self.last_modified))} &middot; {self.downloads} downloads "
            f"&middot; {self.likes} likes</div>"
            f"<div>{tags}</div>{table(('field', 'value'), meta) if meta else ''}"
            f"<details><summary>{len(self.files)} files</summary>{files}</details>"
            f"<div><code>{esc(load)}</code></div></div>"
        )


def info(repo_id: str, *, type: str | None = None, revision: str | None = None) -> RepoInfo:
    """Info of a repo (any type unless ``type`` is given) at ``revision`` (default: main).

    >>> wb.info("admin/iris-mini")     # doctest: +SKIP
    """
    from workbench.kernel.pinning import resolve
    from workbench.kernel.session import check_repo_id, connection, find_type, not_found

    conn = connection()
    if type is None:
        type = find_type(check_repo_id(repo_id))
        if type is None:
            raise not_found(repo_id)
    pinned = resolve(repo_id, type, revision)
    data = conn.client.repo_info(repo_id, type=type, revision=pinned.commit, files_metadata=True)
    return RepoInfo.from_api(data, type, conn.client.repo_url(repo_id, type=type))


# -- commit records --------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitInfo:
    """The commit a ``wb.publish_*`` call made (or found, when nothing changed)."""

    repo_id: str
    type: str
    oid: str
    url: str
    repo_url: str
    created: bool = False  # the repo was created by this call

    def __repr__(self) -> str:
        return f"CommitInfo({self.repo_id!r}, type={self.type!r}, oid={self.oid[:12]!r})"

    def __str__(self) -> str:
        return self.oid

    def _repr_html_(self) -> str:
        return (
            f'<div>{badge(self.type)} published <a href="{esc(self.repo_url)}" '
            f'target="_blank"><b>{esc(self.repo_id)}</b></a> at commit '
            f'<a href="{esc(self.url)}" target="_blank"><code>{esc(self.oid[:12])}'
            f"</code></a></div>"
        )
