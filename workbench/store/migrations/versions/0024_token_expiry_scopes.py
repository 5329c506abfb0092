"""token expiry and fine-grained limits (tokens.expires_at, tokens.limits); disabled accounts

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-14 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns added in place: recreating accounts, which other tables reference, fails on
    # SQLite with foreign keys on.
    with op.batch_alter_table("tokens", recreate="never") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("limits", sa.JSON(), nullable=True))
    with op.batch_alter_table("accounts", recreate="never") as batch:
        batch.add_column(sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("accounts", recreate="never") as batch:
        batch.drop_column("disabled")
    with op.batch_alter_table("tokens", recreate="never") as batch:
        batch.drop_column("limits")
        batch.drop_column("expires_at")
