"""evaluation runs and leaderboards

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        # uuid4().hex: comments (issue 5) anchor to runs by this id
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "model_repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "dataset_repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("model_commit", sa.String(40), nullable=False),
        sa.Column("dataset_commit", sa.String(40), nullable=False),
        sa.Column("split", sa.String(255), nullable=False),
        sa.Column("notebook_name", sa.String(255), nullable=False),
        sa.Column("notebook_sha256", sa.String(64), nullable=False),
        sa.Column("executed_sha256", sa.String(64), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("environment", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("metric_info", sa.JSON(), nullable=False),
        sa.Column("reproduction", sa.String(10), nullable=True),
        sa.Column("differences", sa.JSON(), nullable=True),
        sa.Column(
            "reproduction_of",
            sa.String(32),
            sa.ForeignKey("eval_runs.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("created_by", sa.String(96), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
    )
    for col in ("model_repo_id", "dataset_repo_id", "status", "created_at", "reproduction_of"):
        op.create_index(f"ix_eval_runs_{col}", "eval_runs", [col])


def downgrade() -> None:
    op.drop_table("eval_runs")
