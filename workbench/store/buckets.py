"""Storage buckets: unversioned files under a user or an organization, kept in the Xet CAS.

A bucket is what the public hub offers for training checkpoints and logs that have no place
in a repo's history: no commits, no branches; a batch call adds (a Xet file uploaded with the
bucket's write token), copies (a Xet file of another bucket or repo the caller may read) and
deletes files by path. Who may read and write one follows the rule for repos
(:mod:`workbench.store.access`): a public bucket is readable by all, a private one by its
owner and the members of its organization, and writing needs the write role there. A bucket
the caller may not see answers as a missing one: ``RepoNotFound`` (the code the HF client
turns into ``BucketNotFoundError``), with 401 rather than 404 for a caller without a token,
as the public hub answers. File listings, paths-info and batches: :mod:`workbench.store.bucket_files`.

>>> with store.write() as s:                                             # doctest: +SKIP
...     bucket = create_bucket(s, principal, "alice", "checkpoints", private=True)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.errors import (
    AuthenticationError,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RepoNotFound,
)
from workbench.names import validate_name_part, validate_namespace
from workbench.store import models as m
from workbench.store.access import Principal, can_read, can_write_namespace, require_write_scope
from workbench.store.accounts import get_account
from workbench.store.bucket_models import Bucket, BucketFile
from workbench.store.store import utcnow

ME = "me"  # the namespace the HF client sends for "the caller's own"


@dataclass(frozen=True)
class BucketSummary:
    """A bucket as the API shows it: ``namespace/name``, visibility, and what it holds."""

    namespace: str
    name: str
    private: bool
    created_at: datetime
    size: int
    total_files: int

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"


def own_namespace(p: Principal, namespace: str) -> str:
    """``namespace``, or the caller's user name for ``me`` (a caller without a token: 401)."""
    if namespace != ME:
        return namespace
    if p.anonymous or not p.name:
        raise AuthenticationError(
            "The 'me' namespace needs a token: pass `Authorization: Bearer <token>`.", code="TokenRequired"
        )
    return p.name


def _missing(p: Principal, namespace: str, name: str) -> RepoNotFound:
    err = RepoNotFound(
        f"Bucket {namespace}/{name} not found. Check the name, and that your token may read it."
    )
    if p.anonymous:  # as the public hub: a caller without a token may be missing one
        err.status = 401
    return err


def _valid(value: str, what: str) -> bool:
    try:
        validate_name_part(value, what)
    except InvalidRequest:
        return False
    return True


def _find(s: Session, namespace: str, name: str) -> Bucket | None:
    if not (_valid(namespace, "namespace") and _valid(name, "bucket name")):
        return None  # a name no bucket can have is a missing bucket, never a query
    return s.scalar(select(Bucket).where(Bucket.namespace == namespace, Bucket.name == name))


def readable_bucket(s: Session, p: Principal, namespace: str, name: str) -> Bucket:
    """The bucket ``namespace/name`` if ``p`` may read it, else the answer for a missing one."""
    bucket = _find(s, own_namespace(p, namespace), name)
    if bucket is None or not can_read(p, bucket):
        raise _missing(p, namespace, name)
    return bucket


def _require_writer(s: Session, p: Principal, bucket: Bucket) -> None:
    require_write_scope(p, bucket)
    owner = s.get(m.Account, bucket.owner_id)
    if owner is None or not can_write_namespace(p, owner):
        raise PermissionDenied(
            f"You may read bucket {bucket.namespace}/{bucket.name} but not write to it; "
            "ask an admin of its namespace for the 'write' role.",
            code="WriteForbidden",
        )


def writable_bucket(s: Session, p: Principal, namespace: str, name: str) -> Bucket:
    """The bucket ``namespace/name`` if ``p`` may change it (a write token, the write role)."""
    bucket = readable_bucket(s, p, namespace, name)
    _require_writer(s, p, bucket)
    return bucket


def _summaries(s: Session, buckets: list[Bucket]) -> list[BucketSummary]:
    ids = [b.id for b in buckets]
    totals: dict[int, tuple[int, int]] = {}
    if ids:
        rows = s.execute(
            select(BucketFile.bucket_id, func.count(), func.coalesce(func.sum(BucketFile.size), 0))
            .where(BucketFile.bucket_id.in_(ids))
            .group_by(BucketFile.bucket_id)
        )
        totals = {int(bid): (int(count), int(size)) for bid, count, size in rows}
    return [
        BucketSummary(
            namespace=b.namespace,
            name=b.name,
            private=b.private,
            created_at=b.created_at,
            size=totals.get(b.id, (0, 0))[1],
            total_files=totals.get(b.id, (0, 0))[0],
        )
        for b in buckets
    ]


def summary(s: Session, bucket: Bucket) -> BucketSummary:
    return _summaries(s, [bucket])[0]


def _target_owner(s: Session, p: Principal, namespace: str, what: str) -> int:
    owner = get_account(s, namespace)
    if owner is None or not can_write_namespace(p, owner):
        raise PermissionDenied(
            f"You cannot {what} buckets under {namespace!r}: it is not your user name or an "
            "organization where you have the 'write' role.",
            code="NamespaceForbidden",
        )
    return owner.id


def _refuse_clash(s: Session, namespace: str, name: str) -> None:
    clash = s.scalar(
        select(Bucket).where(
            func.lower(Bucket.namespace) == namespace.lower(), func.lower(Bucket.name) == name.lower()
        )
    )
    if clash is not None:
        raise Conflict(
            f"Bucket {clash.namespace}/{clash.name} already exists.",
            code="RepoExists",
            bucket_id=f"{clash.namespace}/{clash.name}",
        )


def create_bucket(s: Session, p: Principal, namespace: str, name: str, *, private: bool = False) -> Bucket:
    """A new, empty bucket; 409 ``RepoExists`` when the name is taken (whatever its case)."""
    require_write_scope(p, own_namespace(p, namespace))
    namespace = validate_namespace(own_namespace(p, namespace))
    validate_name_part(name, "bucket name")
    owner_id = _target_owner(s, p, namespace, "create")
    _refuse_clash(s, namespace, name)
    now = utcnow()
    bucket = Bucket(
        namespace=namespace, name=name, owner_id=owner_id, private=private, created_at=now, updated_at=now
    )
    s.add(bucket)
    s.flush()
    return bucket


def list_buckets(
    s: Session, p: Principal, namespace: str, *, search: str | None = None, offset: int = 0, limit: int
) -> list[BucketSummary]:
    """The buckets of ``namespace`` that ``p`` may read, by name; ``search``: a part of the name."""
    namespace = own_namespace(p, namespace)
    if search and any(ord(c) < 0x20 for c in search):
        raise InvalidRequest("search holds control characters.", code="InvalidParameter")
    if not _valid(namespace, "namespace") or get_account(s, namespace) is None:
        raise NotFound(f"No user or organization {namespace!r}.", code="NamespaceNotFound")
    q = select(Bucket).where(Bucket.namespace == namespace)
    if search:
        q = q.where(func.lower(Bucket.name).contains(search.lower(), autoescape=True))
    rows = [b for b in s.scalars(q.order_by(Bucket.name)) if can_read(p, b)]
    return _summaries(s, rows[offset : offset + limit])


def delete_bucket(s: Session, p: Principal, namespace: str, name: str) -> None:
    """Delete a bucket and its files; their Xet objects go at the next GC nothing else names."""
    bucket = writable_bucket(s, p, namespace, name)
    s.delete(bucket)  # files and Xet links go with it (ON DELETE CASCADE)


def move_bucket(s: Session, p: Principal, src: tuple[str, str], dest: tuple[str, str]) -> Bucket:
    """Rename a bucket, or move it to another namespace where ``p`` has the write role."""
    bucket = writable_bucket(s, p, *src)
    namespace, name = validate_namespace(dest[0]), validate_name_part(dest[1], "bucket name")
    owner_id = _target_owner(s, p, namespace, "move")
    if (namespace.lower(), name.lower()) != (bucket.namespace.lower(), bucket.name.lower()):
        _refuse_clash(s, namespace, name)
    bucket.namespace, bucket.name, bucket.owner_id = namespace, name, owner_id
    bucket.updated_at = utcnow()
    return bucket


def update_bucket(s: Session, p: Principal, namespace: str, name: str, *, private: bool) -> Bucket:
    bucket = writable_bucket(s, p, namespace, name)
    bucket.private = private
    bucket.updated_at = utcnow()
    return bucket
