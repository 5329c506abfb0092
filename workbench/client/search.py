"""Search the hub: ranked full-text search over repo ids, cards and card metadata.

>>> with HubClient() as hub:                                                 # doctest: +SKIP
...     search(hub, "tiny-cl", type="model", license="mit")
[{'id': 'alice/tiny-classifier', 'type': 'model', 'title': ..., 'score': 1.97, ...}]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient

PAGE = 100  # the most the hub answers per request


def search(
    client: HubClient,
    query: str = "",
    *,
    type: str | Sequence[str] | None = None,
    task: str | None = None,
    library: str | None = None,
    license: str | None = None,
    author: str | None = None,
    tags: Sequence[str] = (),
    sort: str = "relevance",
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Up to ``limit`` results, best first: ``{"id", "type", "title", "summary", "tags", ...}``.

    ``type`` is one type or several; ``tags`` must all be present. ``sort``: relevance,
    downloads, likes, lastModified or createdAt. Larger limits are fetched in pages.
    """
    types = [type] if isinstance(type, str) else list(type or ())
    params: list[tuple[str, str | int]] = [("q", query), ("sort", sort)]
    params += [("type", t) for t in types] + [("tags", t) for t in tags]
    params += [
        (k, v)
        for k, v in (("task", task), ("library", library), ("license", license), ("author", author))
        if v
    ]
    results: list[dict[str, Any]] = []
    while len(results) < limit:
        want = min(PAGE, limit - len(results))
        page = client.request(
            "GET", "/api/search", params=[*params, ("limit", want), ("offset", len(results))]
        ).json()
        results += page["results"]
        if len(page["results"]) < want:
            break
        if page.get("totalExact", True) and len(results) >= page["total"]:
            break  # an inexact total is a lower bound: ask on
    return results
