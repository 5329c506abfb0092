"""a narrow search table for PostgreSQL: ``search_vectors(repo_id, doc)``

PostgreSQL only (a no-op on SQLite, whose FTS5 table already works this way). Searches on
``search_docs.document`` / ``head`` counted their matches by visiting one heap page of the
wide ``search_docs`` per matching row and joining ``repos`` for visibility and filters (p95
229 ms at 100,000 repos). ``search_vectors`` holds one ``tsvector`` per repo with the token
shapes of the FTS5 row (``search_index.pg_vector``): id and metadata words as ``_word``
(weights A, B), body words (C), and the filter tokens (visibility, owner, type, namespace,
facets), so a search is one ``doc @@ 'literal'::tsquery`` over the GIN index, and the heap it
rechecks is small: every vector is stored out of line (``toast_tuple_target`` 128 and a
padding lexeme, see ``search_index.PG_PAD_TOKEN``), a heap row is ~50 bytes. The column
has no planner statistics (``SET STATISTICS 0``): with them PostgreSQL estimates a word in
most cards as most of the table and picks a sequential scan, which detoasts every vector;
without them it keeps the index.

Existing rows are backfilled from ``search_docs.document`` (its A/B lexemes renamed
``_word``, its C lexemes as they are) plus filter tokens computed here, then ``document`` and
``head`` and their indexes are dropped. The downgrade rebuilds them from ``search_vectors``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 17:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

from workbench.store.search_index import PG_PAD_TOKEN, repo_filter_tokens

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 1000
# Lexemes of a tsvector's text form are quoted; folded words never contain a quote.
_HEAD = r"regexp_replace(ts_filter(document, '{a,b}')::text, '''([^'']+)''', '''_\1''', 'g')"
_UNMARK = r"regexp_replace(ts_filter(doc, '{a,b}')::text, '''_([^'']+)''', '''\1''', 'g')"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE search_vectors (repo_id integer PRIMARY KEY REFERENCES repos (id) "
        "ON DELETE CASCADE, doc tsvector NOT NULL) WITH (toast_tuple_target = 128)"
    )
    op.execute("ALTER TABLE search_vectors ALTER COLUMN doc SET STATISTICS 0")
    _backfill(bind)
    op.execute("CREATE INDEX ix_search_vectors_doc ON search_vectors USING gin (doc)")
    op.execute("DROP INDEX IF EXISTS ix_search_docs_document")
    op.execute("DROP INDEX IF EXISTS ix_search_docs_head")
    op.execute("ALTER TABLE search_docs DROP COLUMN document, DROP COLUMN head")


def _backfill(bind: sa.Connection) -> None:
    last = 0
    while True:
        repos = bind.execute(
            sa.text(
                "SELECT r.id, r.owner_id, r.type, r.namespace, r.private FROM repos r "
                "JOIN search_docs d ON d.repo_id = r.id WHERE r.id > :last ORDER BY r.id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not repos:
            return
        last = repos[-1].id
        facets: dict[int, list[tuple[str, str]]] = {}
        for repo_id, kind, value in bind.execute(
            sa.text(
                "SELECT repo_id, kind, value FROM search_facets WHERE repo_id = ANY(:ids) "
                "ORDER BY repo_id, kind, value"
            ),
            {"ids": [r.id for r in repos]},
        ):
            facets.setdefault(repo_id, []).append((kind, value))
        rows = [
            {
                "id": r.id,
                "filters": " ".join(
                    f"'{t}'"
                    for t in [
                        *repo_filter_tokens(
                            r.owner_id, r.type, r.namespace, r.private, facets.get(r.id, [])
                        ).split(),
                        PG_PAD_TOKEN,
                    ]
                ),
            }
            for r in repos
        ]
        bind.execute(
            sa.text(
                f"INSERT INTO search_vectors (repo_id, doc) SELECT repo_id, {_HEAD}::tsvector || "
                "ts_filter(document, '{c}') || CAST(:filters AS tsvector) FROM search_docs "
                "WHERE repo_id = :id"
            ),
            rows,
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_docs ADD COLUMN document tsvector, ADD COLUMN head tsvector")
    op.execute(
        f"UPDATE search_docs d SET head = {_UNMARK}::tsvector FROM search_vectors v "
        "WHERE v.repo_id = d.repo_id"
    )
    op.execute(
        "UPDATE search_docs d SET document = d.head || ts_filter(v.doc, '{c}') "
        "FROM search_vectors v WHERE v.repo_id = d.repo_id"
    )
    op.execute("UPDATE search_docs SET head = '', document = '' WHERE head IS NULL")
    op.execute("ALTER TABLE search_docs ALTER COLUMN document SET NOT NULL, ALTER COLUMN head SET NOT NULL")
    op.execute("CREATE INDEX ix_search_docs_document ON search_docs USING gin (document)")
    op.execute("CREATE INDEX ix_search_docs_head ON search_docs USING gin (head)")
    op.execute("DROP TABLE search_vectors")
