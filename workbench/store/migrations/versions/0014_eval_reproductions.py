"""evaluation runs: reproduction derived from an attached re-run (who attached it, when)

``created_by_id`` is the record's owner (backfilled from ``created_by``): only the owner may
attach a re-run. ``reproduction_run``, ``reproduced_by`` and ``reproduced_at`` say which re-run
the status was derived from, who attached it and when. Statuses stored before this revision
were set by clients, not derived from a re-run, so they are cleared.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (column, type, referenced table): each references that table's id, SET NULL on delete
REFERENCES = (
    ("created_by_id", sa.Integer(), "accounts"),
    ("reproduction_run", sa.String(32), "eval_runs"),
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, kind, parent in REFERENCES:
        if sqlite:  # SQLite takes a foreign key only inline in ADD COLUMN (no ADD CONSTRAINT)
            sql = kind.compile(dialect=op.get_bind().dialect)
            op.execute(
                f"ALTER TABLE eval_runs ADD COLUMN {name} {sql} REFERENCES {parent} (id) ON DELETE SET NULL"
            )
        else:
            op.add_column("eval_runs", sa.Column(name, kind, nullable=True))
            op.create_foreign_key(
                f"fk_eval_runs_{name}", "eval_runs", parent, [name], ["id"], ondelete="SET NULL"
            )
    op.add_column("eval_runs", sa.Column("reproduced_by", sa.String(96), nullable=True))
    op.add_column("eval_runs", sa.Column("reproduced_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE eval_runs SET created_by_id = "
        "(SELECT a.id FROM accounts a WHERE a.name = eval_runs.created_by AND a.kind = 'user')"
    )
    op.execute("UPDATE eval_runs SET reproduction = NULL, differences = NULL")


def downgrade() -> None:
    # a plain DROP COLUMN: SQLite's copy-and-move (batch mode) would drop the old table with
    # foreign keys on, and the implicit delete would null the copy's reproduction_of
    for name in ("reproduced_at", "reproduced_by", "reproduction_run", "created_by_id"):
        op.drop_column("eval_runs", name)
