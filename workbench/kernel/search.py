"""``wb.search``: ranked search over the hub's models, datasets and papers, shown as a table.

>>> hits = wb.search("iris", type="dataset", sort="downloads")     # doctest: +SKIP
>>> hits                                   # a readable table in a notebook  # doctest: +SKIP
>>> hits.to_pandas()                                                 # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from workbench.kernel.display import badge, short_date
from workbench.kernel.session import LOADER, connection
from workbench.markdown import esc

COLUMNS = (
    "id",
    "type",
    "private",
    "title",
    "summary",
    "tags",
    "task",
    "library",
    "license",
    "downloads",
    "likes",
    "lastModified",
    "createdAt",
    "score",
)
SORTS = ("relevance", "downloads", "likes", "lastModified", "createdAt")
_WEB_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/", "paper": "papers/"}


class SearchResults(list[dict[str, Any]]):
    """Search hits (dicts with ``id``, ``type``, ``title``, ...) that display as a table."""

    def __init__(self, items: Iterable[dict[str, Any]] = (), *, query: str = "", hub_url: str = "") -> None:
        super().__init__(items)
        self.query = query
        self.hub_url = hub_url

    @property
    def ids(self) -> list[str]:
        return [hit["id"] for hit in self]

    def to_pandas(self) -> Any:
        """The hits as a pandas DataFrame, one row per hit."""
        import pandas as pd

        extra = [k for hit in self for k in hit if k not in COLUMNS]
        return pd.DataFrame(list(self), columns=[*COLUMNS, *dict.fromkeys(extra)])

    def __repr__(self) -> str:
        if not self:
            return f"SearchResults([])  # nothing found for {self.query!r}"
        lines = [
            f"  {h.get('type', ''):8} {h.get('id', ''):40} {str(h.get('title') or '')[:40]}" for h in self
        ]
        return "SearchResults([\n" + "\n".join(lines) + "\n])"

    def _repr_html_(self) -> str:
        if not self:
            return f"<i>Nothing found for {esc(self.query)!s}.</i>" if self.query else "<i>Nothing found.</i>"
        head = "".join(
            f'<th style="padding:2px 8px;text-align:left">{h}</th>'
            for h in ("", "repo", "title", "task", "likes", "downloads", "updated")
        )
        rows = []
        for hit in self:
            kind = str(hit.get("type") or "model")
            url = f"{self.hub_url}/{_WEB_PREFIX.get(kind, '')}{hit.get('id', '')}"
            lock = " &#128274;" if hit.get("private") else ""
            summary = str(hit.get("summary") or "")
            summary_html = (
                f"<div style='color:#57606a;font-size:0.85em'>"
                f"{esc(summary[:160] + ('...' if len(summary) > 160 else ''))}</div>"
                if summary
                else ""
            )
            cells = (
                badge(kind),
                f'<a href="{esc(url)}" target="_blank"><code>{esc(hit.get("id"))}</code></a>{lock}',
                f"{esc(hit.get('title') or '')}{summary_html}",
                esc(hit.get("task") or ""),
                esc(hit.get("likes", 0)),
                esc(hit.get("downloads", 0)),
                esc(short_date(hit.get("lastModified"))),
            )
            rows.append(
                "<tr>"
                + "".join(
                    f'<td style="padding:2px 8px;text-align:left;vertical-align:top">{c}</td>' for c in cells
                )
                + "</tr>"
            )
        return (
            f'<table style="border-collapse:collapse;font-size:0.9em"><thead><tr>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )


def load_line(hit: dict[str, Any]) -> str:
    """The line of code that loads a hit, e.g. ``model = wb.load_model("me/tiny")``."""
    kind = str(hit.get("type") or "model")
    var = {"model": "model", "dataset": "ds", "paper": "paper"}.get(kind, "info")
    extra = f', type="{kind}"' if LOADER.get(kind) == "wb.info" else ""
    return f'{var} = {LOADER.get(kind, "wb.info")}("{hit["id"]}"{extra})'


def search(
    query: str = "",
    *,
    type: str | None = None,
    task: str | None = None,
    library: str | None = None,
    license: str | None = None,
    author: str | None = None,
    tags: Sequence[str] = (),
    sort: str = "relevance",
    limit: int = 20,
) -> SearchResults:
    """Ranked full-text search over repo ids, cards and card metadata, with filters.

    >>> wb.search("tabular classifier", type="model", license="mit")    # doctest: +SKIP
    """
    conn = connection()
    items = conn.client.search(
        query,
        type=type,
        task=task,
        library=library,
        license=license,
        author=author,
        tags=tuple(tags),
        sort=sort,
        limit=limit,
    )
    return SearchResults(items, query=query, hub_url=conn.url)
