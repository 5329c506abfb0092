"""Gated repos: access requests, and a line of detail on notifications

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(24), nullable=False, unique=True),
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(400), nullable=True),
        sa.Column("decided_by", sa.String(96), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("repo_id", "user_id", name="uq_access_request"),
    )
    op.create_index("ix_access_requests_repo_status", "access_requests", ["repo_id", "status"])
    op.create_index("ix_access_requests_user_id", "access_requests", ["user_id"])
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("detail", sa.String(400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("detail")
    op.drop_index("ix_access_requests_user_id", table_name="access_requests")
    op.drop_index("ix_access_requests_repo_status", table_name="access_requests")
    op.drop_table("access_requests")
