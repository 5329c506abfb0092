"""discussions, pull requests, comments, notifications, likes and watches

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _account_fk(name: str, ondelete: str = "SET NULL", nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("accounts.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "discussions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("num", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("is_pull_request", sa.Boolean(), nullable=False),
        _account_fk("author_id"),
        sa.Column("author", sa.String(length=96), nullable=False),
        sa.Column("target_branch", sa.String(length=255), nullable=True),
        sa.Column("base_oid", sa.String(length=40), nullable=True),
        sa.Column("merge_oid", sa.String(length=40), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("repo_id", "num", name="uq_discussion_num"),
    )
    op.create_index("ix_discussions_repo_status", "discussions", ["repo_id", "status"])
    op.create_table(
        "discussion_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "discussion_id", sa.Integer(), sa.ForeignKey("discussions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("public_id", sa.String(length=24), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=96), nullable=False),
        _account_fk("author_id"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=True),
        sa.Column("doc", sa.Text(), nullable=True),
    )
    op.create_index("ix_discussion_events_discussion_id", "discussion_events", ["discussion_id"])
    op.create_table(
        "comment_anchors",
        sa.Column(
            "event_id",
            sa.Integer(),
            sa.ForeignKey("discussion_events.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=True),
        sa.Column("cell", sa.String(length=64), nullable=True),
        sa.Column("commit", sa.String(length=40), nullable=True),
        sa.Column("run", sa.String(length=32), nullable=True),
    )
    op.create_index("ix_comment_anchors_repo_path", "comment_anchors", ["repo_id", "path"])
    op.create_index("ix_comment_anchors_run", "comment_anchors", ["run"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        _account_fk("user_id", "CASCADE", False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "discussion_id", sa.Integer(), sa.ForeignKey("discussions.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "event_id", sa.Integer(), sa.ForeignKey("discussion_events.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("actor", sa.String(length=96), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_notifications_user_read", "notifications", ["user_id", "read"])
    for table in ("repo_likes", "repo_watches"):
        op.create_table(
            table,
            _account_fk("user_id", "CASCADE", False),
            sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("user_id", "repo_id"),
        )
        op.create_index(f"ix_{table}_repo_id", table, ["repo_id"])
    op.create_table(
        "comment_policies",
        sa.Column(
            "account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("policy", sa.String(length=8), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "comment_policies",
        "repo_watches",
        "repo_likes",
        "notifications",
        "comment_anchors",
        "discussion_events",
        "discussions",
    ):
        op.drop_table(table)
