"""repos.dismiss_stale_approvals: whether new commits on a pull request void its approvals

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 19:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repos", recreate="never") as batch:  # see downgrade()
        batch.add_column(
            sa.Column("dismiss_stale_approvals", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place: recreating repos, which other tables reference,
    # fails on SQLite with foreign keys on.
    with op.batch_alter_table("repos", recreate="never") as batch:
        batch.drop_column("dismiss_stale_approvals")
