"""The files of a storage bucket: listings, paths-info, and the batch that changes them.

A bucket file is a path naming a registered Xet file. A batch is a list of operations applied
in order in one transaction, each on its own: an operation that cannot be applied (a Xet
file the bucket never received, a copy source the caller may not read) is reported and the
others go on, as the public hub answers (``BatchResult.failed``). Requests that are wrong as
a whole (a malformed line, an invalid path) are refused before anything is applied.

>>> with store.write() as s:                                             # doctest: +SKIP
...     apply_batch(store, s, principal, bucket, [AddFile("logs/a.txt", xet_hash, mtime=0)])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, or_, select, text
from sqlalchemy.orm import Session

from workbench.errors import InvalidRequest, WorkbenchError
from workbench.names import REPO_TYPES, split_repo_id, validate_path
from workbench.store import models as m
from workbench.store import xet_cas
from workbench.store.access import Principal, readable_repo
from workbench.store.bucket_models import Bucket, BucketFile, XetFileBucket
from workbench.store.buckets import readable_bucket
from workbench.store.store import Store, insert_missing, utcnow
from workbench.xet.hashing import ZERO_HASH, hash_to_hex

EMPTY_FILE = hash_to_hex(ZERO_HASH)  # the Xet hash of no bytes: hf_xet uploads nothing for it


@dataclass(frozen=True)
class FileInfo:
    path: str
    size: int
    xet_hash: str
    mtime: int  # milliseconds since the epoch, as the client sent it
    uploaded_at: datetime
    content_type: str | None = None


@dataclass(frozen=True)
class FolderInfo:
    path: str
    uploaded_at: datetime  # of the newest file below it


def _info(row: BucketFile) -> FileInfo:
    return FileInfo(row.path, row.size, row.xet_hash, row.mtime, row.uploaded_at, row.content_type)


def _below(s: Session, bucket: Bucket, prefix: str) -> list[BucketFile]:
    q = select(BucketFile).where(BucketFile.bucket_id == bucket.id)
    if prefix:
        q = q.where(or_(BucketFile.path == prefix, BucketFile.path.startswith(f"{prefix}/", autoescape=True)))
    return list(s.scalars(q.order_by(BucketFile.path)))


def listing(s: Session, bucket: Bucket, prefix: str, *, recursive: bool) -> list[FileInfo | FolderInfo]:
    """The files under folder ``prefix`` (all of them, or the top level with its folders), and
    the file ``prefix`` itself if there is one; ``""`` is the bucket's root."""
    if prefix:
        validate_path(prefix)
    out: list[FileInfo | FolderInfo] = []
    folders: dict[str, datetime] = {}
    start = len(prefix) + 1 if prefix else 0
    for row in _below(s, bucket, prefix):
        rest = row.path[start:]
        if row.path == prefix or recursive or "/" not in rest:
            out.append(_info(row))
            continue
        folder = row.path[: start + rest.index("/")]
        if folder not in folders:
            folders[folder] = row.uploaded_at
            out.append(FolderInfo(folder, row.uploaded_at))
        folders[folder] = max(folders[folder], row.uploaded_at)
    return [FolderInfo(e.path, folders[e.path]) if isinstance(e, FolderInfo) else e for e in out]


def paths_info(s: Session, bucket: Bucket, paths: Sequence[str]) -> list[FileInfo]:
    """The files among ``paths`` (folders and missing paths are left out)."""
    wanted = sorted({validate_path(p.strip("/")) for p in paths if p.strip("/")})
    rows: list[BucketFile] = []
    for i in range(0, len(wanted), 500):
        q = select(BucketFile).where(
            BucketFile.bucket_id == bucket.id, BucketFile.path.in_(wanted[i : i + 500])
        )
        rows += s.scalars(q)
    return [_info(r) for r in sorted(rows, key=lambda r: r.path)]


def file_at(s: Session, bucket: Bucket, path: str) -> FileInfo | None:
    row = s.get(BucketFile, (bucket.id, validate_path(path)))
    return None if row is None else _info(row)


# -- the batch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddFile:
    """Name a Xet file uploaded with this bucket's write token."""

    path: str
    xet_hash: str
    mtime: int
    content_type: str | None = None


@dataclass(frozen=True)
class CopyFile:
    """Name a Xet file of another bucket or repo (``source_type`` ``bucket`` or a repo type)."""

    path: str
    xet_hash: str
    mtime: int
    source_type: str
    source_id: str


@dataclass(frozen=True)
class DeleteFile:
    path: str


Operation = AddFile | CopyFile | DeleteFile


@dataclass
class BatchResult:
    applied: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)


class _Refused(Exception):
    """One operation that cannot be applied; the batch goes on."""


def _uploaded(s: Session, bucket: Bucket, xet_hash: str) -> int:
    """The size of a Xet file uploaded to (or copied into) ``bucket``."""
    row = s.get(m.XetFile, xet_hash)
    if row is None and xet_hash == EMPTY_FILE:
        insert_missing(s, m.XetFile, hash=EMPTY_FILE, size=0, sha256=None, terms=[], created_at=utcnow())
        return 0
    if row is None or (xet_hash != EMPTY_FILE and s.get(XetFileBucket, (xet_hash, bucket.id)) is None):
        raise _Refused(f"Xet file {xet_hash} was not uploaded to this bucket; upload it first.")
    return int(row.size)


def _copyable(store: Store, s: Session, p: Principal, op: CopyFile) -> int:
    """The size of the Xet file a copy names, if its source holds it and ``p`` may read it."""
    missing = _Refused(f"Xet file {op.xet_hash} not found in {op.source_type} {op.source_id}.")
    try:
        namespace, name = split_repo_id(op.source_id)
        if op.source_type == "bucket":
            source = readable_bucket(s, p, namespace, name)
            held = s.scalar(
                select(BucketFile.size).where(
                    BucketFile.bucket_id == source.id, BucketFile.xet_hash == op.xet_hash
                )
            )
            if held is None:
                raise missing
            return int(held)
        repo = readable_repo(store, s, p, (op.source_type, namespace, name))
    except WorkbenchError:
        raise missing from None
    row = s.get(m.XetFile, op.xet_hash)
    if row is None or not xet_cas.repo_holds(store, s, repo, op.xet_hash):
        raise missing
    return int(row.size)


def _put(s: Session, bucket: Bucket, op: AddFile | CopyFile, size: int, now: datetime) -> None:
    row = s.get(BucketFile, (bucket.id, op.path))
    if row is None:
        row = BucketFile(bucket_id=bucket.id, path=op.path)
        s.add(row)
    row.xet_hash, row.size, row.mtime, row.uploaded_at = op.xet_hash, size, op.mtime, now
    row.content_type = op.content_type if isinstance(op, AddFile) else None


def check_operations(ops: Sequence[Operation]) -> None:
    """Refuse a batch with an invalid path before anything is applied (400 ``InvalidPath``)."""
    for op in ops:
        validate_path(op.path)
        if isinstance(op, CopyFile) and op.source_type not in (*REPO_TYPES, "bucket"):
            raise InvalidRequest(
                f"Unknown sourceRepoType {op.source_type!r}: use bucket, model, dataset or space.",
                code="InvalidRepoType",
            )


def apply_batch(
    store: Store, s: Session, p: Principal, bucket: Bucket, ops: Sequence[Operation]
) -> BatchResult:
    """Apply ``ops`` in order to ``bucket`` (the caller checked that ``p`` may write it)."""
    check_operations(ops)
    if s.get_bind().dialect.name == "postgresql":
        # GC retracts dead Xet files holding this lock in EXCLUSIVE mode: a file named here is
        # either seen live by it or named after it is done (see workbench.store.gc).
        s.execute(text("LOCK TABLE refs IN ROW SHARE MODE"))
    result = BatchResult()
    now = utcnow()
    for op in ops:
        try:
            if isinstance(op, DeleteFile):
                s.execute(
                    delete(BucketFile).where(BucketFile.bucket_id == bucket.id, BucketFile.path == op.path)
                )
            elif isinstance(op, AddFile):
                _put(s, bucket, op, _uploaded(s, bucket, op.xet_hash), now)
            else:
                size = _copyable(store, s, p, op)
                xet_cas.link_file(s, op.xet_hash, bucket_id=bucket.id)
                _put(s, bucket, op, size, now)
            s.flush()
            result.applied += 1
        except _Refused as exc:
            result.failed.append({"path": op.path, "error": str(exc)})
    if result.applied:
        bucket.updated_at = now
    return result
