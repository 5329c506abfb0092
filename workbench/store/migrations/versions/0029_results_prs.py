"""results_prs: the results pull request a verified push run owes its model, as an outbox

A row is written in the transaction that stores a push job's verified record (``owed``); the
hub opens the pull request from it, on the record's acceptance and again from the job
process's sweep, until it is ``opened`` (or there was nothing to propose: ``none``). A claim
with a lease (``claimed_by``, ``lease_until``) keeps two hub processes from working on one
row at once, and ``pull_request`` is written in the transaction that opens the pull request,
so a retry finishes that one instead of opening a second.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 22:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "results_prs",
        sa.Column(
            "job_id", sa.Integer(), sa.ForeignKey("eval_jobs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("pull_request", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_results_prs_due", "results_prs", ["state", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_results_prs_due", table_name="results_prs")
    op.drop_table("results_prs")
