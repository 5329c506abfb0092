"""What a reader sees of collections: each with the items of repos they may read.

Who may read which collection is :mod:`workbench.store.collections`; here the rows of the
collections already chosen become views, the items filtered by the repos' read rule
(:func:`workbench.store.access.readable_clause`).

>>> with store.read() as s:                                                  # doctest: +SKIP
...     views = load_views(s, p, [(collection_row, owner_row)], preview=True)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.store import models as m
from workbench.store.access import Principal, readable_clause
from workbench.store.collection_models import Collection, CollectionItem

PREVIEW_ITEMS = 4  # items per collection in a listing, as on the Hugging Face Hub


@dataclass(frozen=True)
class ItemView:
    """One item as a reader sees it; the repo's fields come with it."""

    public_id: str
    type: str
    id: str  # repo id, or the identifier a paper was added by
    position: int
    note: str | None
    author: str
    title: str | None  # a paper's or space's card title
    private: bool
    gated: str | None
    likes: int
    downloads: int
    created_at: datetime
    last_modified: datetime


@dataclass(frozen=True)
class CollectionView:
    """A collection as a reader sees it: ``items`` are those they may read (all of them, or
    the first :data:`PREVIEW_ITEMS` in a listing); ``num_items`` counts them all."""

    public_id: str
    owner: str
    owner_kind: str  # user | org
    owner_fullname: str
    title: str
    description: str
    private: bool
    theme: str
    position: int
    updated_at: datetime
    items: list[ItemView]
    num_items: int

    @property
    def slug(self) -> str:
        return f"{self.owner}/{slugify(self.title)}-{self.public_id}"


def slugify(title: str) -> str:
    """The title part of a slug: lowercase ASCII letters, digits and dashes.

    >>> slugify("ICCV 2023: Models & Demos!"), slugify("日本")
    ('iccv-2023-models-demos', 'collection')
    """
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80].strip("-") or "collection"


def _item_view(item: CollectionItem, repo: m.Repo) -> ItemView:
    card = repo.card_data or {}
    title = card.get("title") if repo.type in ("paper", "space") else None
    return ItemView(
        public_id=item.public_id,
        type=repo.type,
        id=item.ref or f"{repo.namespace}/{repo.name}",
        position=item.position,
        note=item.note,
        author=repo.namespace,
        title=str(title) if title else None,
        private=repo.private,
        gated=repo.gated,
        likes=repo.likes,
        downloads=repo.downloads,
        created_at=repo.created_at,
        last_modified=repo.last_modified,
    )


def load_views(
    s: Session, p: Principal, pairs: Sequence[tuple[Collection, m.Account]], *, preview: bool
) -> list[CollectionView]:
    """The views of ``pairs`` (collection, owner): all readable items, or a preview of them."""
    ids = [c.id for c, _ in pairs]
    items: dict[int, list[ItemView]] = {i: [] for i in ids}
    counts: dict[int, int] = dict.fromkeys(ids, 0)
    if ids:
        readable = select(CollectionItem, m.Repo).join(m.Repo, m.Repo.id == CollectionItem.repo_id)
        readable = readable.where(CollectionItem.collection_id.in_(ids), readable_clause(p))
        if preview:
            rank = (
                func.row_number()
                .over(
                    partition_by=CollectionItem.collection_id,
                    order_by=(CollectionItem.position, CollectionItem.id),
                )
                .label("rank")
            )
            ranked = (
                select(CollectionItem.id, rank)
                .join(m.Repo, m.Repo.id == CollectionItem.repo_id)
                .where(CollectionItem.collection_id.in_(ids), readable_clause(p))
                .subquery()
            )
            first = select(ranked.c.id).where(ranked.c.rank <= PREVIEW_ITEMS)
            readable = readable.where(CollectionItem.id.in_(first))
            counted = (
                select(CollectionItem.collection_id, func.count())
                .join(m.Repo, m.Repo.id == CollectionItem.repo_id)
                .where(CollectionItem.collection_id.in_(ids), readable_clause(p))
                .group_by(CollectionItem.collection_id)
            )
            counts.update({cid: n for cid, n in s.execute(counted).tuples()})
        for item, repo in s.execute(readable.order_by(CollectionItem.position, CollectionItem.id)).tuples():
            items[item.collection_id].append(_item_view(item, repo))
        if not preview:
            counts = {i: len(v) for i, v in items.items()}
    return [
        CollectionView(
            public_id=c.public_id,
            owner=owner.name,
            owner_kind=owner.kind,
            owner_fullname=owner.fullname or owner.name,
            title=c.title,
            description=c.description,
            private=c.private,
            theme=c.theme,
            position=c.position,
            updated_at=c.updated_at,
            items=items[c.id],
            num_items=counts[c.id],
        )
        for c, owner in pairs
    ]


def load_view(s: Session, p: Principal, row: Collection, owner: m.Account) -> CollectionView:
    """:func:`load_views` of one collection, with every item ``p`` may read."""
    return load_views(s, p, [(row, owner)], preview=False)[0]
