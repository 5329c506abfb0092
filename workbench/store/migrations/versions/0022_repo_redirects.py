"""repo redirects (a moved repo's old ids) and organizations' private-by-default setting

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-12 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repo_redirects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("namespace", sa.String(96), nullable=False),
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("type", "namespace", "name", name="uq_repo_redirect"),
    )
    op.create_index("ix_repo_redirects_repo_id", "repo_redirects", ["repo_id"])
    with op.batch_alter_table("accounts", recreate="never") as batch:  # see downgrade()
        batch.add_column(
            sa.Column("private_by_default", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place: recreating accounts, which other tables reference,
    # fails on SQLite with foreign keys on.
    with op.batch_alter_table("accounts", recreate="never") as batch:
        batch.drop_column("private_by_default")
    op.drop_index("ix_repo_redirects_repo_id", table_name="repo_redirects")
    op.drop_table("repo_redirects")
