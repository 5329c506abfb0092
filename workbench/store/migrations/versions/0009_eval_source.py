"""evaluation runs: where the notebook lives on a Git host (``source``), for Binder links

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("eval_runs", sa.Column("source", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eval_runs") as batch:  # SQLite drops a column by copying
        batch.drop_column("source")
