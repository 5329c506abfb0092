"""namespace storage quotas (accounts.quota_bytes)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-13 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", recreate="never") as batch:  # see downgrade()
        batch.add_column(sa.Column("quota_bytes", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place: recreating accounts, which other tables reference,
    # fails on SQLite with foreign keys on.
    with op.batch_alter_table("accounts", recreate="never") as batch:
        batch.drop_column("quota_bytes")
