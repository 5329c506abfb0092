"""full-text search index

Hand-written (dialect-aware), see ``workbench/store/search_index.py``:

- ``search_docs`` (title and summary of each repo's search result) and ``search_facets``
  (tag / task / library / license values to filter on), both deleted with their repo;
- SQLite: the FTS5 table ``repo_search(name, meta_text, card_text, filters)`` whose rowid is
  the repo id (unicode61 tokenizer without diacritics that keeps ``_`` in tokens, prefix
  indexes for 2-6 characters; ``filters`` holds tokens for visibility, owner, type,
  namespace and facets) and a trigger that deletes a repo's row with the repo (virtual
  tables have no foreign keys);
- PostgreSQL: ``search_docs.document``, a ``tsvector`` weighted A (repo id), B (card
  metadata), C (card body), and ``search_docs.head``, the same without the body (so that
  "every word in the id or metadata" needs no weight recheck), each with a GIN index;
- indexes on the repo columns searches sort by (downloads, likes, last modified, created).

Repos that exist already are indexed by the hub at its next start (their README bodies are
in the blob store, out of a migration's reach): the migration leaves a note in ``meta``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from workbench.errors import UnsupportedDatabase

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SORT_COLUMNS = ("downloads", "likes", "last_modified", "created_at")


def upgrade() -> None:
    op.create_table(
        "search_docs",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("repo_id"),
    )
    op.create_table(
        "search_facets",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("kind", "value", "repo_id"),
    )
    op.create_index("ix_search_facets_repo_id", "search_facets", ["repo_id"])
    for column in SORT_COLUMNS:
        op.create_index(f"ix_repos_{column}", "repos", [column])

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE repo_search USING fts5(name, meta_text, card_text, "
            "filters, tokenize = \"unicode61 remove_diacritics 2 tokenchars '_'\", "
            "prefix = '2 3 4 5 6')"
        )
        op.execute(
            "CREATE TRIGGER repos_search_delete AFTER DELETE ON repos "
            "BEGIN DELETE FROM repo_search WHERE rowid = old.id; END"
        )
    elif bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE search_docs ADD COLUMN document tsvector NOT NULL")
        op.execute("ALTER TABLE search_docs ADD COLUMN head tsvector NOT NULL")
        op.execute("CREATE INDEX ix_search_docs_document ON search_docs USING gin (document)")
        op.execute("CREATE INDEX ix_search_docs_head ON search_docs USING gin (head)")
    else:
        raise UnsupportedDatabase(bind.dialect.name)

    if bind.execute(sa.text("SELECT count(*) FROM repos")).scalar():
        op.execute("INSERT INTO meta (key, value) VALUES ('search_reindex', 'pending')")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS repos_search_delete")
        op.execute("DROP TABLE IF EXISTS repo_search")
    op.execute("DELETE FROM meta WHERE key = 'search_reindex'")
    for column in SORT_COLUMNS:
        op.drop_index(f"ix_repos_{column}", table_name="repos")
    op.drop_index("ix_search_facets_repo_id", table_name="search_facets")
    op.drop_table("search_facets")
    op.drop_table("search_docs")
