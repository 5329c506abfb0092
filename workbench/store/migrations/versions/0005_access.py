"""audit log, paper links and token listing

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(96), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("namespace", sa.String(96), nullable=True),
        sa.Column("repo_type", sa.String(8), nullable=True),
        sa.Column("repo_name", sa.String(200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
    )
    for col in ("created_at", "actor", "action", "namespace"):
        op.create_index(f"ix_audit_events_{col}", "audit_events", [col])
    op.create_table(
        "paper_refs",
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("value", sa.String(255), primary_key=True),
    )
    op.create_index("ix_paper_refs_value", "paper_refs", ["value"])
    op.create_table(
        "paper_texts",
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    # Links and PDF text of existing repos need their blobs: the hub fills them at start-up
    # (workbench.store.paper_backfill); leave it a mark when there is anything to fill.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM repos LIMIT 1")).first() is not None:
        bind.execute(sa.text("INSERT INTO meta (key, value) VALUES ('paper_backfill', '1')"))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM meta WHERE key = 'paper_backfill'"))
    op.drop_table("paper_texts")
    op.drop_index("ix_paper_refs_value", "paper_refs")
    op.drop_table("paper_refs")
    for col in ("created_at", "actor", "action", "namespace"):
        op.drop_index(f"ix_audit_events_{col}", "audit_events")
    op.drop_table("audit_events")
