"""Xet CAS: verified xorbs, files registered by shards, which repos they were uploaded to

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xet_xorbs",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("blob_sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("unpacked_size", sa.BigInteger(), nullable=False),
        sa.Column("num_chunks", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_xet_xorbs_blob_sha256", "xet_xorbs", ["blob_sha256"])
    op.create_table(
        "xet_files",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "xet_file_repos",
        sa.Column(
            "file_hash",
            sa.String(64),
            sa.ForeignKey("xet_files.hash", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_xet_file_repos_repo_id", "xet_file_repos", ["repo_id"])
    op.create_table(
        "xet_shards",
        sa.Column("blob_sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("xet_shards")
    op.drop_index("ix_xet_file_repos_repo_id", table_name="xet_file_repos")
    op.drop_table("xet_file_repos")
    op.drop_table("xet_files")
    op.drop_index("ix_xet_xorbs_blob_sha256", table_name="xet_xorbs")
    op.drop_table("xet_xorbs")
