"""runners and verified evaluation jobs

``runners``: machines the team trusts that lease evaluation jobs (a runner token is its own
kind, ``wbr_``, stored as its SHA-256). An evaluation job is a row of the generic ``jobs``
queue (kind ``eval``; its ``commit`` column holds the job's own random key, so the queue's
one-row-per-(kind, repo, commit) rule never merges two jobs) plus an ``eval_jobs`` row: who
asked, the pinned spec, the timeout, the record it produced, the short-lived read token of
the running attempt. ``eval_job_labels`` are the labels a runner must have;
``eval_job_events`` the progress the runner streamed. Records gain ``verified`` (only a
runner's record is) and ``verified_by`` (the runner's name).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-14 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runners",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "eval_jobs",
        sa.Column("id", sa.Integer(), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=True),
        sa.Column("runner", sa.String(64), nullable=True),
        sa.Column("record_id", sa.String(32), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("read_token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_eval_jobs_owner_id", "eval_jobs", ["owner_id"])
    op.create_table(
        "eval_job_labels",
        sa.Column(
            "job_id", sa.Integer(), sa.ForeignKey("eval_jobs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("label", sa.String(64), primary_key=True),
    )
    op.create_table(
        "eval_job_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("eval_jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_eval_job_events_job_id", "eval_job_events", ["job_id"])
    with op.batch_alter_table("eval_runs", recreate="never") as batch:
        batch.add_column(sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("verified_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eval_runs", recreate="never") as batch:
        batch.drop_column("verified_by")
        batch.drop_column("verified")
    op.drop_index("ix_eval_job_events_job_id", table_name="eval_job_events")
    op.drop_table("eval_job_events")
    op.drop_table("eval_job_labels")
    op.drop_index("ix_eval_jobs_owner_id", table_name="eval_jobs")
    op.drop_table("eval_jobs")
    op.drop_table("runners")
