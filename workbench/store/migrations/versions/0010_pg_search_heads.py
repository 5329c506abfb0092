"""PostgreSQL: the id and metadata words of each repo apart, ``search_heads(repo_id, head)``

PostgreSQL only (a no-op on SQLite). The first ranking tier (every word in the repo id or
card metadata) ranked its 1,000 newest matches with ``ts_rank_cd`` over ``search_vectors.
doc``, which holds the card body too: each vector was read from TOAST and decompressed
(~2.75 KB, ~14 µs each), 12 ms of a 25 ms one-word query at 100,000 repos. ``search_heads``
holds only the ``_word`` lexemes of that vector (weights A and B, the same positions), ~270
bytes stored in line, so the tier's ranking reads a small row by primary key: 3-4 ms, with
the same scores (the ranking query holds only ``_word`` lexemes, and ``ts_rank_cd`` without
normalization sees nothing else). Matching stays on ``search_vectors``; this table has no
text index.

Backfilled from ``search_vectors`` with ``ts_filter(doc, '{a,b}')`` (the filter and padding
lexemes have no positions, so no weight, and are left out).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 08:15:00.000000
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE search_heads (repo_id integer PRIMARY KEY REFERENCES repos (id) "
        "ON DELETE CASCADE, head tsvector NOT NULL)"
    )
    op.execute("ALTER TABLE search_heads ALTER COLUMN head SET STATISTICS 0")
    op.execute(
        "INSERT INTO search_heads (repo_id, head) SELECT repo_id, ts_filter(doc, '{a,b}') FROM search_vectors"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE search_heads")
