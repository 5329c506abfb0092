"""buckets: unversioned file storage under users and organizations, on the Xet CAS

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buckets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("namespace", sa.String(96), nullable=False),
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("namespace", "name", name="uq_bucket_name"),
    )
    op.create_index("ix_buckets_namespace", "buckets", ["namespace"])
    op.create_index("ix_buckets_owner_id", "buckets", ["owner_id"])
    op.create_table(
        "bucket_files",
        sa.Column(
            "bucket_id", sa.Integer(), sa.ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("xet_hash", sa.String(64), sa.ForeignKey("xet_files.hash"), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_bucket_files_xet_hash", "bucket_files", ["xet_hash"])
    op.create_table(
        "xet_file_buckets",
        sa.Column(
            "file_hash",
            sa.String(64),
            sa.ForeignKey("xet_files.hash", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "bucket_id", sa.Integer(), sa.ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_index("ix_xet_file_buckets_bucket_id", "xet_file_buckets", ["bucket_id"])


def downgrade() -> None:
    op.drop_index("ix_xet_file_buckets_bucket_id", table_name="xet_file_buckets")
    op.drop_table("xet_file_buckets")
    op.drop_index("ix_bucket_files_xet_hash", table_name="bucket_files")
    op.drop_table("bucket_files")
    op.drop_index("ix_buckets_owner_id", table_name="buckets")
    op.drop_index("ix_buckets_namespace", table_name="buckets")
    op.drop_table("buckets")
