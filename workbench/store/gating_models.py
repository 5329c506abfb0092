"""Database rows of gated repos: one access request per user and repo.

Kept beside ``models.py`` (same ``Base``); migration 0018 creates them. The rules live in
:mod:`workbench.store.gating`. Rows never leave ``workbench.store``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.store.models import Base


class AccessRequest(Base):
    """A user's request to download a gated repo's files, and what its owners decided.

    ``status`` is ``pending``, ``accepted`` or ``rejected``; ``fields`` holds the answers to
    the card's ``extra_gated_fields`` (none for a grant); ``public_id`` (24 hex digits) is
    the ``requestId`` the HF clients see.
    """

    __tablename__ = "access_requests"
    __table_args__ = (
        UniqueConstraint("repo_id", "user_id", name="uq_access_request"),
        Index("ix_access_requests_repo_status", "repo_id", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(8))
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(400), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(96), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
