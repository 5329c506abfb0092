"""PostgreSQL: the repo id's words as lexemes of their own in ``search_vectors`` (``_n_word``)

PostgreSQL only (a no-op on SQLite). The HF list endpoints' ``search`` matches the words of
repo ids. It was ``'_word':A`` (the id and metadata lexeme, weight A), which GIN cannot
decide from the index: it rechecked every vector holding ``_word`` at all, and words common
in card metadata are in most of them (``list_models(search="base")`` at 100,000 repos read
62,000 vectors from TOAST, 0.8 s). Each vector now also holds ``_n_word`` for each word of the
repo id, without positions (``search_index.PG_NAME_MARK``), which the index answers alone.

Backfilled from each vector's weight-A lexemes (the repo id's ``_word``, whatever else their
positions are), as ``search_index.pg_vector`` writes them; the downgrade deletes them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 15:10:00.000000
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MAX_LEXEME_BYTES = 2046  # PostgreSQL's limit: longer lexemes are not written (search_index)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "UPDATE search_vectors v SET doc = v.doc || coalesce((SELECT array_to_tsvector("
        "array_agg('_n_' || substr(u.lexeme, 2))) FROM unnest(ts_filter(v.doc, '{a}')) u "
        f"WHERE octet_length(u.lexeme) + 2 <= {MAX_LEXEME_BYTES}), ''::tsvector)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "UPDATE search_vectors SET doc = ts_delete(doc, ARRAY(SELECT lexeme FROM "
        "unnest(doc) WHERE lexeme LIKE '\\_n\\_%'))"
    )
