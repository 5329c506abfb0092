"""Database rows of collections: curated, ordered lists of models, datasets, spaces and papers.

Kept beside ``models.py`` (same ``Base``); migration 0019 creates them. The rules live in
:mod:`workbench.store.collections`. Rows never leave ``workbench.store``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.store.models import Base


class Collection(Base):
    """A collection owned by a user or an organization.

    ``public_id`` (24 hex digits) ends its slug, ``{owner}/{title-slug}-{public_id}``; the
    title part may change, the id never does. ``position`` orders the owner's collections.
    """

    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("owner_id", "title", name="uq_collection_title"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    theme: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class CollectionItem(Base):
    """One repo in a collection (a model, dataset, space or paper repo), at ``position``.

    The repo is a foreign key, so a renamed repo stays in its collections under its new
    name and a deleted one leaves them. ``ref`` is the identifier a paper was added by
    (an arXiv id, a DOI or the repo id), shown as the item's id.
    """

    __tablename__ = "collection_items"
    __table_args__ = (UniqueConstraint("collection_id", "repo_id", name="uq_collection_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
