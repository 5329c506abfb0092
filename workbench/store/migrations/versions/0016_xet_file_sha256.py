"""Xet files: look them up by SHA-256, and record whether the hub checked it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("xet_files") as batch:
        batch.add_column(
            sa.Column("sha256_verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_xet_files_sha256", "xet_files", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_xet_files_sha256", table_name="xet_files")
    with op.batch_alter_table("xet_files") as batch:
        batch.drop_column("sha256_verified")
