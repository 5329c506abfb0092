"""PostgreSQL: every ranked word of each repo in line, ``search_ranks(repo_id, doc)``

PostgreSQL only (a no-op on SQLite). Replaces ``search_heads`` (0010). Both ranking tiers
now read their ``ts_rank_cd`` from one row per repo holding the lexemes of ``search_vectors.
doc`` that have positions: the id and metadata words (``_word``, weights A and B) and the
card body's words (C), without the filter and padding lexemes. ``search_vectors`` keeps its
vectors out of line so that counting stays a walk over a small heap; ranking wants the
opposite, so this table keeps them in line: ``STORAGE MAIN`` (compressed, moved out only as
a last resort), ``toast_tuple_target`` at its maximum, and ``lz4`` where the server has it.
Measured at 100,000 repos, ranking 1,000 vectors by primary key: the second tier (a word of
card bodies) 10.8 ms from ``search_vectors`` against 4.3-6.3 ms from this table, the first
tier 3.5-3.8 ms from ``search_heads`` against 3.8-3.9 ms. The scores are the same: the
ranking queries hold only lexemes with positions, and ``ts_rank_cd`` without normalization
reads nothing else. ~2.2 KB a repo (232 MB at 100,000, against 30 MB for ``search_heads``).

Backfilled with ``ts_filter(doc, '{a,b,c}')``; the downgrade rebuilds ``search_heads`` from
it with ``ts_filter(doc, '{a,b}')``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:30:00.000000
"""

from alembic import op
from sqlalchemy import text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _has_lz4() -> bool:
    """Whether this server was built with lz4 (PostgreSQL 14 and later list it)."""
    found = (
        op.get_bind()
        .execute(
            text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        )
        .scalar()
    )
    return bool(found)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE search_ranks (repo_id integer PRIMARY KEY REFERENCES repos (id) "
        "ON DELETE CASCADE, doc tsvector NOT NULL) WITH (toast_tuple_target = 8160)"
    )
    op.execute("ALTER TABLE search_ranks ALTER COLUMN doc SET STORAGE MAIN")
    op.execute("ALTER TABLE search_ranks ALTER COLUMN doc SET STATISTICS 0")
    if _has_lz4():
        op.execute("ALTER TABLE search_ranks ALTER COLUMN doc SET COMPRESSION lz4")
    op.execute(
        "INSERT INTO search_ranks (repo_id, doc) "
        "SELECT repo_id, ts_filter(doc, '{a,b,c}') FROM search_vectors"
    )
    op.execute("DROP TABLE search_heads")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE search_heads (repo_id integer PRIMARY KEY REFERENCES repos (id) "
        "ON DELETE CASCADE, head tsvector NOT NULL)"
    )
    op.execute("ALTER TABLE search_heads ALTER COLUMN head SET STATISTICS 0")
    op.execute(
        "INSERT INTO search_heads (repo_id, head) SELECT repo_id, ts_filter(doc, '{a,b}') FROM search_ranks"
    )
    op.execute("DROP TABLE search_ranks")
