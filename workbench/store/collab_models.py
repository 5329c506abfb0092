"""Database rows of discussions, pull requests, comments, notifications, likes and watches.

Kept beside ``models.py`` (same ``Base``) so the collaboration tables live in one place;
migration 0004 creates them. Rows never leave ``workbench.store``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.store.models import Base


class Discussion(Base):
    """A discussion or pull request of one repo, numbered per repo from 1."""

    __tablename__ = "discussions"
    __table_args__ = (
        UniqueConstraint("repo_id", "num", name="uq_discussion_num"),
        Index("ix_discussions_repo_status", "repo_id", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"))
    num: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))  # open | closed | merged | draft
    is_pull_request: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    author: Mapped[str] = mapped_column(String(96))
    target_branch: Mapped[str | None] = mapped_column(String(255), nullable=True)
    base_oid: Mapped[str | None] = mapped_column(String(40), nullable=True)  # PR's fork point
    merge_oid: Mapped[str | None] = mapped_column(String(40), nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class DiscussionEvent(Base):
    """A comment, status change, title change or merge; ``public_id`` is what clients see."""

    __tablename__ = "discussion_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"), index=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # comment | status-change | title-change | merge
    author: Mapped[str] = mapped_column(String(96))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime)
    content: Mapped[str | None] = mapped_column(Text, nullable=True)  # raw markdown, as sent
    html: Mapped[str | None] = mapped_column(Text, nullable=True)  # sanitized rendering of content
    data: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    history: Mapped[list | None] = mapped_column(JSON, nullable=True)  # earlier versions
    doc: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON as clients see it (event_docs)


class CommentAnchor(Base):
    """Where a comment points: a file (and a notebook cell) at a commit, or an evaluation run."""

    __tablename__ = "comment_anchors"
    __table_args__ = (Index("ix_comment_anchors_repo_path", "repo_id", "path"),)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("discussion_events.id", ondelete="CASCADE"), primary_key=True
    )
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"))
    path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    cell: Mapped[str | None] = mapped_column(String(64), nullable=True)
    commit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    run: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)


class Notification(Base):
    """One inbox entry: a comment on a repo one owns or watches, a mention, a PR status change,
    an access request to a gated repo one owns or the decision on one's own (``detail``: the
    reason given for a rejection, migration 0018)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # comment | mention | status | discussion | access-*
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"))
    discussion_id: Mapped[int | None] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE"), nullable=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("discussion_events.id", ondelete="CASCADE"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str | None] = mapped_column(String(400), nullable=True)


class RepoLike(Base):
    __tablename__ = "repo_likes"
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime)


class RepoWatch(Base):
    __tablename__ = "repo_watches"
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CommentPolicy(Base):
    """Who may comment on the repos of a namespace: ``readers`` (default) or ``writers``."""

    __tablename__ = "comment_policies"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    policy: Mapped[str] = mapped_column(String(8))
