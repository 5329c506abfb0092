"""PostgreSQL: planner statistics on ``search_ranks.doc``, to estimate how many repos match

PostgreSQL only (a no-op on SQLite). A search first asks the planner how many repos its
words and filters match (``EXPLAIN``, see ``search_query._TsVector.total``): a query that
matches most of the hub (``model`` at 100,000 repos: 80,000) is then counted only up to a
bound, from the newest rows, instead of through the GIN index, which builds a bitmap of every
match before counting (10-12 ms at 100,000 repos). The estimate chooses a plan and is never
shown: it comes from a sample of every repo, private ones included.

``search_ranks`` holds the same words as ``search_vectors`` with their positions; its column
had no statistics (``SET STATISTICS 0``, as ``search_vectors.doc`` keeps), which left every
word at the default selectivity. No query on ``search_ranks`` is planned from them: it is
read by primary key, or walked newest first. ``ANALYZE`` reads a sample of 30,000 rows
(0.3 s at 100,000 repos); autovacuum keeps the statistics current afterwards.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 01:30:00.000000
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_ranks ALTER COLUMN doc SET STATISTICS -1")
    op.execute("ANALYZE search_ranks")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_ranks ALTER COLUMN doc SET STATISTICS 0")
    op.execute("ANALYZE search_ranks")
