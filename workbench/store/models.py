"""Database rows of the metadata store. Rows never leave ``workbench.store``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Account(Base):
    """A user or an organization; both own repos under their name."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(96), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(8), default="user")  # user | org
    fullname: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: An organization's new repos are private unless the request says otherwise (0022).
    private_by_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Most bytes the namespace's repos may hold (``workbench hub quota``); None: no limit (0023).
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True, default=None)
    #: A disabled user's tokens all answer 401 ``AccountDisabled``, untouched (0024).
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Membership(Base):
    __tablename__ = "memberships"
    org_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), default="read")  # read | write | admin


class Token(Base):
    """An API token; only its SHA-256 is stored."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(12))
    scope: Mapped[str] = mapped_column(String(8), default="write")  # read | write
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: After this instant the token answers 401 ``TokenExpired``; None: never (0024).
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, default=None)
    #: Fine-grained limits (0024): a list of ``{"type", "namespace", "name"}`` (one repo) and
    #: ``{"namespace"}`` (every repo of a namespace); None: the token is not limited.
    limits: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True, default=None)


class Repo(Base):
    __tablename__ = "repos"
    __table_args__ = (UniqueConstraint("type", "namespace", "name", name="uq_repo"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(8))  # model | dataset | space | paper
    namespace: Mapped[str] = mapped_column(String(96), index=True)
    name: Mapped[str] = mapped_column(String(96))
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    gated: Mapped[str | None] = mapped_column(String(8), nullable=True)
    sdk: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    last_modified: Mapped[datetime] = mapped_column(DateTime, index=True)
    card_data: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    likes: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # approvals by writers a pull request needs before it merges (0025; reviews.py)
    required_approvals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # whether new commits on a pull request make its approvals stale (0028; approvals.py)
    dismiss_stale_approvals: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class RepoRedirect(Base):
    """An id a repo had before it moved (0022): requests for it reach the repo, as on the
    public hub, until a new repo takes that id."""

    __tablename__ = "repo_redirects"
    __table_args__ = (UniqueConstraint("type", "namespace", "name", name="uq_repo_redirect"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(8))
    namespace: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SearchDoc(Base):
    """What a search result shows of a repo; see ``workbench.store.search_index``.

    The words live in the FTS5 table ``repo_search`` (SQLite, migration 0002) or the narrow
    table ``search_vectors`` (PostgreSQL, a ``tsvector`` with a GIN index, migration 0008).
    Neither is declared here: only ``search_index``/``search_query`` touch them.
    """

    __tablename__ = "search_docs"
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)


class SearchFacet(Base):
    """One filterable value of a repo: kind ``tag``, ``task``, ``library`` or ``license``."""

    __tablename__ = "search_facets"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Blob(Base):
    """A content-addressed file in the blob store, shared by every repo that holds it."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    git_oid: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Tree(Base):
    """The full file manifest of one commit, content-addressed (sha256 of ``entries``)."""

    __tablename__ = "trees"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    entries: Mapped[str] = mapped_column(Text)  # canonical JSON, see store/trees.py


class Commit(Base):
    __tablename__ = "commits"
    oid: Mapped[str] = mapped_column(String(40), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    parent_oid: Mapped[str | None] = mapped_column(String(40), nullable=True)
    tree_hash: Mapped[str] = mapped_column(ForeignKey("trees.hash"))
    author: Mapped[str] = mapped_column(String(96))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    depth: Mapped[int] = mapped_column(Integer, default=0)


class Ref(Base):
    """A branch, tag, pull-request ref or conversion ref pointing at a commit."""

    __tablename__ = "refs"
    __table_args__ = (UniqueConstraint("repo_id", "kind", "name", name="uq_ref"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # branch | tag | pr | convert
    name: Mapped[str] = mapped_column(String(255))
    commit_oid: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Upload(Base):
    """A multipart LFS upload in progress (parts are staged on local disk)."""

    __tablename__ = "uploads"
    oid: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    parts: Mapped[int] = mapped_column(Integer)
    chunk_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class KeyValue(Base):
    """Small hub-wide settings kept in the store (e.g. the schema's creation time)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Job(Base):
    """Background work queued in the metadata store (see ``workbench.store.jobs``).

    One row per (kind, repo, commit): a commit is never queued twice. ``lease_until`` is
    how long the worker that claimed the job holds it; an expired lease means that worker
    died, and another claims the job again.
    """

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("kind", "repo_id", "commit", name="uq_job"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # parquet
    # NULL only for an evaluation job whose model repo was deleted (kept, cancelled: 0027)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), index=True, nullable=True
    )
    commit: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(8), index=True)  # pending | running | done | failed
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    result: Mapped[str | None] = mapped_column(String(40), nullable=True)  # e.g. the Parquet commit
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ViewerStatistics(Base):
    """Column statistics of one split of one Parquet conversion, computed once (JSON)."""

    __tablename__ = "viewer_statistics"
    commit: Mapped[str] = mapped_column(String(40), primary_key=True)  # the Parquet commit
    config: Mapped[str] = mapped_column(String(255), primary_key=True)
    split: Mapped[str] = mapped_column(String(255), primary_key=True)
    statistics: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """Who did what to which repo or organization (see ``workbench.store.audit``).

    Names, not foreign keys: the record outlives the repo, user or org it mentions.
    """

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(96), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    namespace: Mapped[str | None] = mapped_column(String(96), nullable=True, index=True)
    repo_type: Mapped[str | None] = mapped_column(String(8), nullable=True)
    repo_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class PaperRef(Base):
    """An identifier a repo's card carries: ``role`` 'is' (a paper's own arXiv id, DOI, repo id)
    or 'cites' (a model or dataset citing one). Citations match papers by (kind, value), so a
    card may cite a paper before the paper repo exists."""

    __tablename__ = "paper_refs"
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)  # is | cites
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # arxiv | doi | repo
    value: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class PaperText(Base):
    """Text extracted from a paper repo's PDF at main (bounded), for the search index."""

    __tablename__ = "paper_texts"
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1000))
    text: Mapped[str] = mapped_column(Text)


class ViewerSearchIndex(Base):
    """The FTS5 full-text index of one split of one Parquet conversion (a blob; see
    ``workbench.viewer.searchindex``)."""

    __tablename__ = "viewer_search_indexes"
    commit: Mapped[str] = mapped_column(String(40), primary_key=True)  # the Parquet commit
    config: Mapped[str] = mapped_column(String(255), primary_key=True)
    split: Mapped[str] = mapped_column(String(255), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    blob_sha256: Mapped[str] = mapped_column(String(64))
    num_rows: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class XetXorb(Base):
    """A verified xorb: its chunk records are a blob; ``chunks`` packs, per chunk, its hash
    (32 bytes), the offset of its record and its size (little-endian u32 each)."""

    __tablename__ = "xet_xorbs"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # Xet hex form
    blob_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)  # bytes of chunk records
    unpacked_size: Mapped[int] = mapped_column(BigInteger)
    num_chunks: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class XetFile(Base):
    """A file registered by a shard: its Xet hash and the xorb chunk ranges that rebuild it.

    ``sha256`` is what the uploading client reported until ``sha256_verified``: the hub
    rebuilds the file once, before a commit first names it, and keeps the digest it computed.
    """

    __tablename__ = "xet_files"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # Xet hex form
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    sha256_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    terms: Mapped[list[list[object]]] = mapped_column(JSON)  # [[xorb hash, start, end, size]]
    created_at: Mapped[datetime] = mapped_column(DateTime)


class XetFileRepo(Base):
    """Which repos a Xet file was uploaded to: a Xet read token reaches only those files."""

    __tablename__ = "xet_file_repos"
    file_hash: Mapped[str] = mapped_column(ForeignKey("xet_files.hash", ondelete="CASCADE"), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class XetChunk(Base):
    """The global deduplication index: a chunk a client may ask about (the first of a file, or
    one whose hash is 0 mod 1024), the verified xorb that holds it, and the shard that
    registered it (its other xorbs go into the answer too)."""

    __tablename__ = "xet_chunks"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # Xet hex form
    xorb_hash: Mapped[str] = mapped_column(ForeignKey("xet_xorbs.hash", ondelete="CASCADE"), index=True)
    shard_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class XetShard(Base):
    """An uploaded shard, kept as a blob (the record of what a client registered)."""

    __tablename__ = "xet_shards"
    blob_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime)
