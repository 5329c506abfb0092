"""Xet global deduplication: the index of chunks clients may ask about

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 07:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xet_chunks",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column(
            "xorb_hash",
            sa.String(64),
            sa.ForeignKey("xet_xorbs.hash", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("shard_sha256", sa.String(64), nullable=True),
    )
    op.create_index("ix_xet_chunks_xorb_hash", "xet_chunks", ["xorb_hash"])


def downgrade() -> None:
    op.drop_index("ix_xet_chunks_xorb_hash", table_name="xet_chunks")
    op.drop_table("xet_chunks")
