"""full-text indexes of the dataset viewer (one FTS5 blob per split of a conversion)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 17:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "viewer_search_indexes",
        sa.Column("commit", sa.String(length=40), nullable=False),
        sa.Column("config", sa.String(length=255), nullable=False),
        sa.Column("split", sa.String(length=255), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("num_rows", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("commit", "config", "split"),
    )
    with op.batch_alter_table("viewer_search_indexes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_viewer_search_indexes_repo_id"), ["repo_id"], unique=False)


def downgrade() -> None:
    op.drop_table("viewer_search_indexes")
