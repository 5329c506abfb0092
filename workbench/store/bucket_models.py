"""Database rows of storage buckets: the buckets, their files, and the Xet files uploaded to them.

Kept beside ``models.py`` (same ``Base``); migration 0020 creates them. The rules live in
:mod:`workbench.store.buckets`. Rows never leave ``workbench.store``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.store.models import Base


class Bucket(Base):
    """An unversioned store of files under a user or an organization (``namespace/name``)."""

    __tablename__ = "buckets"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_bucket_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace: Mapped[str] = mapped_column(String(96), index=True)
    name: Mapped[str] = mapped_column(String(96))
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class BucketFile(Base):
    """A file of a bucket: a path naming a registered Xet file (its bytes live in the CAS).

    ``mtime`` is the client's modification time (milliseconds since the epoch, as sent);
    ``uploaded_at`` is when the hub took it. ``xet_hash`` keeps the Xet file from being
    deleted while a bucket names it (GC marks it live; the key refuses the delete besides).
    """

    __tablename__ = "bucket_files"
    bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    xet_hash: Mapped[str] = mapped_column(ForeignKey("xet_files.hash"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)


class XetFileBucket(Base):
    """Which buckets a Xet file was uploaded or copied to: a bucket's Xet tokens reach only those."""

    __tablename__ = "xet_file_buckets"
    file_hash: Mapped[str] = mapped_column(ForeignKey("xet_files.hash", ondelete="CASCADE"), primary_key=True)
    bucket_id: Mapped[int] = mapped_column(
        ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
