"""Database rows of pull request reviews and review comments (migration 0025).

Kept beside ``collab_models.py`` (same ``Base``); rows never leave ``workbench.store``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workbench.store.models import Base


class Review(Base):
    """A review of a pull request at a commit: ``comment``, ``approve`` or ``request_changes``."""

    __tablename__ = "pr_reviews"
    __table_args__ = (Index("ix_pr_reviews_discussion", "discussion_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    author: Mapped[str] = mapped_column(String(96))
    state: Mapped[str] = mapped_column(String(16))  # comment | approve | request_changes
    summary: Mapped[str] = mapped_column(Text)
    commit_oid: Mapped[str] = mapped_column(String(40))  # the PR head it reviewed
    event_id: Mapped[int | None] = mapped_column(  # its comment in the discussion's thread
        ForeignKey("discussion_events.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ReviewComment(Base):
    """A comment on a line of a file or a cell of a notebook in a pull request's diff; a
    thread is its first comment (which holds the anchor and ``resolved``) and the replies
    whose ``thread_id`` is that comment's id."""

    __tablename__ = "pr_review_comments"
    __table_args__ = (Index("ix_pr_review_comments_discussion", "discussion_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("pr_review_comments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("pr_reviews.id", ondelete="SET NULL"), nullable=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    author: Mapped[str] = mapped_column(String(96))
    content: Mapped[str] = mapped_column(Text)  # raw markdown, as sent
    html: Mapped[str] = mapped_column(Text)  # sanitized rendering
    path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    side: Mapped[str | None] = mapped_column(String(3), nullable=True)  # old | new
    line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cell: Mapped[int | None] = mapped_column(Integer, nullable=True)  # notebook cell index on ``side``
    part: Mapped[str | None] = mapped_column(String(8), nullable=True)  # source | output
    commit_oid: Mapped[str | None] = mapped_column(String(40), nullable=True)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_by: Mapped[str | None] = mapped_column(String(96), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    def anchor(self) -> dict[str, Any]:
        """Where a thread's first comment points, as the API and webhooks show it."""
        return {
            "path": self.path,
            "side": self.side,
            "line": self.line,
            "cell": self.cell,
            "part": self.part,
            "commit": self.commit_oid,
        }
