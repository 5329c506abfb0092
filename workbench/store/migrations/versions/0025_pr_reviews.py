"""pull request reviews: reviews, review comments, repos.required_approvals

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-15 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pr_reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(24), nullable=False, unique=True),
        sa.Column(
            "discussion_id", sa.Integer(), sa.ForeignKey("discussions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "author_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("author", sa.String(96), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("commit_oid", sa.String(40), nullable=False),
        sa.Column(
            "event_id",
            sa.Integer(),
            sa.ForeignKey("discussion_events.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_pr_reviews_discussion", "pr_reviews", ["discussion_id", "id"])
    op.create_table(
        "pr_review_comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(24), nullable=False, unique=True),
        sa.Column(
            "discussion_id", sa.Integer(), sa.ForeignKey("discussions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "thread_id",
            sa.Integer(),
            sa.ForeignKey("pr_review_comments.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "review_id", sa.Integer(), sa.ForeignKey("pr_reviews.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "author_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("author", sa.String(96), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("path", sa.String(1000), nullable=True),
        sa.Column("side", sa.String(3), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("cell", sa.Integer(), nullable=True),
        sa.Column("part", sa.String(8), nullable=True),
        sa.Column("commit_oid", sa.String(40), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_by", sa.String(96), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_pr_review_comments_discussion", "pr_review_comments", ["discussion_id", "id"])
    op.create_index("ix_pr_review_comments_thread_id", "pr_review_comments", ["thread_id"])
    with op.batch_alter_table("repos", recreate="never") as batch:
        batch.add_column(sa.Column("required_approvals", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("repos", recreate="never") as batch:
        batch.drop_column("required_approvals")
    op.drop_table("pr_review_comments")
    op.drop_table("pr_reviews")
