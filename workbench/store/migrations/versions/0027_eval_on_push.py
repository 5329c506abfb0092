"""evaluation on push: dataset suites, push-triggered jobs, jobs of deleted repos

``eval_suites``: the evaluation suite a dataset's card declares (``workbench.evaluation``),
read when the card changes on ``main``: the suite as checked, or the reason it is malformed.
``eval_jobs`` gains ``trigger`` (``user``, or ``push`` for a job a model commit queued) and
``pull_request`` (the number of the pull request the hub opened on the model with the
results). ``jobs.repo_id`` may be NULL: an evaluation job outlives its deleted model repo,
cancelled with the reason, instead of vanishing with it.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-15 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_suites",
        sa.Column(
            "dataset_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("commit", sa.String(40), nullable=False),
        sa.Column("suite", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("eval_jobs", recreate="never") as batch:
        batch.add_column(sa.Column("trigger", sa.String(8), nullable=False, server_default="user"))
        batch.add_column(sa.Column("pull_request", sa.Integer(), nullable=True))
    _alter_jobs(nullable=True)


# SQLite changes a column's NULL-ness by copying the table and dropping the old one, and a
# dropped table's rows are deleted first, which cascades to the evaluation jobs that point at
# them: those are kept aside and put back.
_CHILDREN = ("eval_jobs", "eval_job_labels", "eval_job_events")


def _alter_jobs(*, nullable: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for table in _CHILDREN:
            op.execute(f"CREATE TEMP TABLE keep_{table} AS SELECT * FROM {table}")
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("repo_id", existing_type=sa.Integer(), nullable=nullable)
    if sqlite:
        for table in _CHILDREN:
            op.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM keep_{table}")
            op.execute(f"DROP TABLE keep_{table}")


def downgrade() -> None:
    op.execute("DELETE FROM jobs WHERE repo_id IS NULL")
    with op.batch_alter_table("eval_jobs", recreate="never") as batch:
        batch.drop_column("pull_request")
        batch.drop_column("trigger")
    _alter_jobs(nullable=False)
    op.drop_table("eval_suites")
