"""The Xet CAS in the store: verified xorbs, files registered by shards, reconstructions.

A xorb is accepted only after its hash is recomputed from its chunks; its chunk records go
to the blob store, under the xorb's (hex) hash rather than a SHA-256, and its chunk table to
``xet_xorbs`` (``blob_sha256`` names that blob; xorbs stored by earlier versions are under
the SHA-256 of their records). A shard registers files only when every term names a stored xorb, a chunk
range inside it, the right size and verification hash, and when the file's Xet hash,
recomputed from the chunks, is the one the shard claims: a client cannot register a file
whose bytes it does not have. Nothing is written before all checks pass.

>>> register_xorb(store, spooled_body, expected_hash)  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import IntegrityError, InvalidRequest, NotFound, RangeNotSatisfiable
from workbench.store import models as m
from workbench.store.bucket_models import XetFileBucket
from workbench.store.store import Store, insert_missing, utcnow
from workbench.xet.hashing import dedup_eligible, file_hash, hash_to_hex, range_verification_hash
from workbench.xet.shard import FileReconstruction, Shard
from workbench.xet.xorb import XorbIndex, chunk_content, scan_xorb, verify_xorb

log = logging.getLogger(__name__)
_CHUNK_ROW = struct.Struct("<32sII")  # hash, record offset, size
_READ_BATCH = 4 * 1024 * 1024  # chunk records read from a xorb blob at a time


@dataclass(frozen=True)
class StoredChunk:
    hash: bytes
    offset: int  # of the record in the xorb's chunk region
    size: int


@dataclass(frozen=True)
class XorbRecord:
    hash: str
    blob_sha256: str
    size: int
    chunks: tuple[StoredChunk, ...]

    def record_end(self, index: int) -> int:
        """Offset just past the record of chunk ``index``."""
        return self.chunks[index + 1].offset if index + 1 < len(self.chunks) else self.size

    def byte_range(self, start: int, end: int) -> tuple[int, int]:
        """Bytes ``[first, last]`` (inclusive) holding the records of chunks ``[start, end)``."""
        return self.chunks[start].offset, self.record_end(end - 1) - 1


@dataclass(frozen=True)
class Term:
    xorb: XorbRecord
    start: int
    end: int
    size: int


def _pack(parsed: XorbIndex) -> bytes:
    return b"".join(_CHUNK_ROW.pack(c.hash, c.offset, c.size) for c in parsed.chunks)


def _record(row: m.XetXorb) -> XorbRecord:
    chunks = tuple(StoredChunk(*values) for values in _CHUNK_ROW.iter_unpack(row.chunks))
    return XorbRecord(hash=row.hash, blob_sha256=row.blob_sha256, size=row.size, chunks=chunks)


def has_xorb(store: Store, xorb_hash: str) -> bool:
    with store.read() as s:
        return s.get(m.XetXorb, xorb_hash) is not None


def register_xorb(store: Store, path: Path, expected: bytes) -> bool:
    """Verify the serialized xorb in temporary file ``path`` and keep it, consuming the file.

    The xorb is walked a batch of chunk records at a time and the file itself becomes the blob
    (its footer cut off), so a 64 MiB xorb is never whole in memory. Returns False when the
    hub already held it; nothing is written unless every check passes.

    >>> register_xorb(store, spooled_body, expected_hash)  # doctest: +SKIP
    True
    """
    try:
        name = hash_to_hex(expected)
        if has_xorb(store, name):
            return False
        with open(path, "rb") as f:
            index = scan_xorb(f, os.fstat(f.fileno()).st_size)
        verify_xorb(index, expected)
        os.truncate(path, index.size)  # drop an older client's footer; a no-op without one
        # Kept under its Xet hash, just verified from every chunk: a SHA-256 of the same bytes
        # would cost the hub as much CPU again and prove nothing more.
        blob = store.blobs.adopt_file(path, expected_size=index.size, key=name)
    finally:
        path.unlink(missing_ok=True)
    with store.write() as s:
        if s.get(m.XetXorb, name) is not None:
            return False
        insert_missing(
            s,
            m.XetXorb,
            hash=name,
            blob_sha256=blob.sha256,
            size=index.size,
            unpacked_size=index.unpacked_size,
            num_chunks=len(index.chunks),
            chunks=_pack(index),
            created_at=utcnow(),
        )
    return True


def load_xorbs(store: Store, hashes: Sequence[str]) -> dict[str, XorbRecord]:
    wanted = sorted(set(hashes))
    with store.read() as s:
        rows = s.query(m.XetXorb).filter(m.XetXorb.hash.in_(wanted)).all() if wanted else []
        return {row.hash: _record(row) for row in rows}


def _check_file(file: FileReconstruction, xorbs: dict[str, XorbRecord]) -> None:
    name = hash_to_hex(file.file_hash)
    chunk_list: list[tuple[bytes, int]] = []
    for i, term in enumerate(file.terms):
        xorb = xorbs.get(hash_to_hex(term.xorb_hash))
        if xorb is None:
            raise InvalidRequest(
                f"file {name} term {i} references xorb {hash_to_hex(term.xorb_hash)}, which was not uploaded",
                code="XorbNotFound",
            )
        if term.end > len(xorb.chunks):
            raise InvalidRequest(
                f"file {name} term {i} asks for chunks [{term.start}, {term.end}) of xorb "
                f"{xorb.hash}, which has {len(xorb.chunks)}",
                code="ChunkRangeOutOfBounds",
            )
        chunks = xorb.chunks[term.start : term.end]
        if sum(c.size for c in chunks) != term.size:
            raise InvalidRequest(
                f"file {name} term {i} declares {term.size} bytes, its chunks hold "
                f"{sum(c.size for c in chunks)}",
                code="TermSizeMismatch",
            )
        # The verification hash proves the client knows every chunk hash of the range, which
        # only someone who holds those bytes can: xorb hashes are no secret (reconstructions
        # and global deduplication answers name them), chunk hashes are.
        if term.verification is None:
            raise InvalidRequest(
                f"file {name} term {i} has no verification hash; upload with a current hf_xet",
                code="MissingVerification",
            )
        if term.verification != range_verification_hash([c.hash for c in chunks]):
            raise IntegrityError(f"file {name} term {i}: verification hash does not match")
        chunk_list += [(c.hash, c.size) for c in chunks]
    if file_hash(chunk_list) != file.file_hash:
        # Never say what they do hash to: that would hand the right file hash to a client
        # that names ranges of xorbs it does not hold.
        raise IntegrityError(f"file {name}: its chunks do not hash to the file hash the shard gives")


def _index_chunks(s: Session, shard: Shard, xorbs: dict[str, XorbRecord], shard_sha256: str) -> None:
    """Add to the global deduplication index (see :mod:`workbench.store.xet_dedup`) the first
    chunk of each file and the eligible chunks of the xorbs the shard lists, as verified here."""
    found: list[tuple[bytes, str]] = []
    for info in shard.xorbs:
        xorb = xorbs.get(hash_to_hex(info.xorb_hash))
        if xorb is not None:
            found += [(c.hash, xorb.hash) for c in xorb.chunks if dedup_eligible(c.hash)]
    for file in shard.files:
        first = file.terms[0] if file.terms else None
        xorb = xorbs.get(hash_to_hex(first.xorb_hash)) if first is not None else None
        if first is not None and xorb is not None:
            found.append((xorb.chunks[first.start].hash, xorb.hash))
    for chunk, xorb_hash in dict(found).items():
        insert_missing(s, m.XetChunk, hash=hash_to_hex(chunk), xorb_hash=xorb_hash, shard_sha256=shard_sha256)


def register_shard(
    store: Store, shard: Shard, body: bytes, *, repo_id: int | None, bucket_id: int | None = None
) -> bool:
    """Check every file of ``shard`` and register them for ``repo_id`` (or for the storage
    bucket ``bucket_id``), all or nothing.

    Returns whether anything new was registered.
    """
    xorbs = load_xorbs(
        store,
        [hash_to_hex(t.xorb_hash) for f in shard.files for t in f.terms]
        + [hash_to_hex(x.xorb_hash) for x in shard.xorbs],
    )
    for file in shard.files:
        _check_file(file, xorbs)
    blob = store.blobs.ingest_bytes(body, git=False)
    created = False
    disputed: list[str] = []  # files whose SHA-256 the hub computes now
    with store.write() as s:
        insert_missing(s, m.XetShard, blob_sha256=blob.sha256, size=len(body), created_at=utcnow())
        _index_chunks(s, shard, xorbs, blob.sha256)
        for file in shard.files:
            name = hash_to_hex(file.file_hash)
            row = s.get(m.XetFile, name)
            if row is None and file.sha256 is None:
                disputed.append(name)
            elif row is not None and not row.sha256_verified and file.sha256 not in (None, row.sha256):
                disputed.append(name)
            if row is None:
                created = True
                insert_missing(
                    s,
                    m.XetFile,
                    hash=name,
                    size=file.size,
                    sha256=file.sha256,
                    terms=[[hash_to_hex(t.xorb_hash), t.start, t.end, t.size] for t in file.terms],
                    created_at=utcnow(),
                )
            created = _link(s, name, repo_id=repo_id, bucket_id=bucket_id) or created
    # A file without a reported SHA-256, or two clients that disagree about it: settle it from
    # the bytes now, so that a false first claim cannot hide the file from commits that name
    # its real digest. Other claims are checked when a commit first names them.
    for name in disputed:
        verify_sha256(store, name)
    return created


def _link(s: Session, name: str, *, repo_id: int | None, bucket_id: int | None) -> bool:
    """Let the repo's (or bucket's) Xet tokens reach file ``name``; whether it is new."""
    if bucket_id is not None:
        if s.get(XetFileBucket, (name, bucket_id)) is not None:
            return False
        insert_missing(s, XetFileBucket, file_hash=name, bucket_id=bucket_id)
        return True
    if s.get(m.XetFileRepo, (name, repo_id)) is not None:
        return False
    insert_missing(s, m.XetFileRepo, file_hash=name, repo_id=repo_id)
    return True


def _linked_to(s: Session, name: str, *, repo_id: int | None, bucket_id: int | None) -> bool:
    if bucket_id is not None:
        return s.get(XetFileBucket, (name, bucket_id)) is not None
    return repo_id is None or s.get(m.XetFileRepo, (name, repo_id)) is not None


@dataclass(frozen=True)
class Reconstruction:
    size: int
    offset_into_first_range: int
    terms: tuple[Term, ...]


def _file_row(
    store: Store, file_id: str, repo_id: int | None, bucket_id: int | None
) -> tuple[int, list[tuple[str, int, int, int]]]:
    with store.read() as s:
        row = s.get(m.XetFile, file_id)
        linked = _linked_to(s, file_id, repo_id=repo_id, bucket_id=bucket_id)
        if row is None or not linked:
            raise NotFound(f"Xet file {file_id} not found", code="EntryNotFound")
        raw_terms = [(str(h), int(a), int(b), int(n)) for h, a, b, n in row.terms]  # type: ignore[call-overload]
        return row.size, raw_terms


def reconstruct(
    store: Store,
    file_id: str,
    *,
    repo_id: int | None,
    byte_range: tuple[int, int | None] | None,
    bucket_id: int | None = None,
) -> Reconstruction:
    """The terms that rebuild bytes ``[start, end]`` of a file this repo (or bucket) may read.

    ``byte_range`` is ``(start, end)`` with an inclusive end, or ``(start, None)`` for "to the
    end"; a file not uploaded to ``repo_id`` (or ``bucket_id``) is :class:`NotFound`, like a
    missing one (``repo_id=None`` without a bucket is the hub itself, which may read any file).
    """
    size, raw_terms = _file_row(store, file_id, repo_id, bucket_id)
    first, last = 0, size - 1
    if size == 0 and byte_range in (None, (0, None)):
        return Reconstruction(size=0, offset_into_first_range=0, terms=())
    if byte_range is not None:
        first = byte_range[0]
        last = size - 1 if byte_range[1] is None else min(byte_range[1], size - 1)
        if first >= size or first > last:
            raise RangeNotSatisfiable(f"bytes {first}-{byte_range[1]} of a {size}-byte file")
    xorbs = load_xorbs(store, [t[0] for t in raw_terms])
    terms: list[Term] = []
    skip = 0
    pos = 0  # file offset of the chunk being looked at
    for xorb_hash, start, end, _size in raw_terms:
        xorb = xorbs[xorb_hash]
        sel_start = sel_end = None
        for index in range(start, end):
            chunk_size = xorb.chunks[index].size
            if pos + chunk_size > first and pos <= last:
                if sel_start is None:
                    sel_start = index
                    if not terms:
                        skip = first - pos
                sel_end = index + 1
            pos += chunk_size
        if sel_start is not None and sel_end is not None:
            part = sum(c.size for c in xorb.chunks[sel_start:sel_end])
            terms.append(Term(xorb, sel_start, sel_end, part))
        if pos > last:
            break
    return Reconstruction(size=size, offset_into_first_range=skip, terms=tuple(terms))


def iter_file_bytes(
    store: Store, file_id: str, first: int = 0, last: int | None = None
) -> Generator[bytes, None, None]:
    """Bytes ``[first, last]`` (inclusive; ``None``: to the end) of a registered file, rebuilt
    from its xorbs a batch of chunk records at a time, so memory stays bounded by the batch.

    >>> b"".join(iter_file_bytes(store, file_hash, 0, 9))   # doctest: +SKIP
    b'first ten '
    """
    plan = reconstruct(store, file_id, repo_id=None, byte_range=(first, last))
    left = (plan.size - 1 if last is None else min(plan.size - 1, last)) - first + 1
    skip = plan.offset_into_first_range
    for term in plan.terms:
        chunks = term.xorb.chunks
        with store.blobs.open(term.xorb.blob_sha256) as f:
            index = term.start
            while index < term.end and left > 0:
                begin = chunks[index].offset
                stop = index + 1  # the batch: chunks [index, stop)
                while stop < term.end and term.xorb.record_end(stop) - begin <= _READ_BATCH:
                    stop += 1
                f.seek(begin)
                records = f.read(term.xorb.record_end(stop - 1) - begin)
                for k in range(index, stop):
                    content = chunk_content(records, chunks[k].offset - begin)
                    if skip:
                        content, skip = content[skip:], 0
                    if len(content) > left:
                        content = content[:left]
                    left -= len(content)
                    if content:
                        yield content
                    if left <= 0:
                        return
                index = stop


def verify_sha256(store: Store, file_id: str) -> str:
    """Rebuild a file once, record the SHA-256 of its bytes as verified, and return it.

    A shard carries the SHA-256 its client computed; the hub trusts it only after this.
    """
    digest = hashlib.sha256()
    for part in iter_file_bytes(store, file_id):
        digest.update(part)
    actual = digest.hexdigest()
    with store.write() as s:
        row = s.get(m.XetFile, file_id)
        if row is not None:
            if row.sha256 not in (None, actual):
                log.warning(
                    "Xet file %s was reported with SHA-256 %s; its bytes hash to %s",
                    file_id,
                    row.sha256,
                    actual,
                )
            row.sha256, row.sha256_verified = actual, True
    return actual


@dataclass(frozen=True)
class XetFileRef:
    """A registered Xet file as a commit names it."""

    hash: str
    size: int


def _linked(s: Session, sha256: str, repo_id: int) -> list[tuple[str, int, bool]]:
    """(Xet hash, size, SHA-256 verified) of the Xet files with this SHA-256 linked to the repo."""
    rows = s.execute(
        select(m.XetFile.hash, m.XetFile.size, m.XetFile.sha256_verified)
        .join(m.XetFileRepo, m.XetFileRepo.file_hash == m.XetFile.hash)
        .where(m.XetFile.sha256 == sha256, m.XetFileRepo.repo_id == repo_id)
    ).all()
    return [(str(h), int(n), bool(v)) for h, n, v in rows]


def xet_version(s: Session, sha256: str, repo_id: int) -> str | None:
    """The Xet hash of a verified Xet version of an LFS file this repo names, or None: what
    ``workbench hub xet-migrate`` gives files stored whole (see ``workbench.store.xet_migrate``)."""
    return next((h for h, _size, verified in _linked(s, sha256, repo_id) if verified), None)


def committable_file(store: Store, sha256: str, *, repo_id: int) -> XetFileRef | None:
    """The Xet file that a commit to ``repo_id`` may name by its SHA-256, or None.

    The file must have been uploaded to that repo (a shard sent with its write token
    registered it) and its SHA-256 verified; an unverified candidate is rebuilt once here,
    which the caller does before its commit transaction.
    """
    with store.read() as s:
        rows = _linked(s, sha256, repo_id)
    for file_id, size, verified in sorted(rows, key=lambda r: not r[2]):
        if verified or verify_sha256(store, file_id) == sha256:
            return XetFileRef(file_id, size)
    return None


def repo_holds(store: Store, s: Session, repo: m.Repo, xet_hash: str) -> bool:
    """Whether ``repo`` holds Xet file ``xet_hash``: uploaded to it, or in the tree of a ref."""
    if s.get(m.XetFileRepo, (xet_hash, repo.id)) is not None:
        return True
    heads = s.execute(
        select(m.Commit.tree_hash)
        .join(m.Ref, m.Ref.commit_oid == m.Commit.oid)
        .where(m.Ref.repo_id == repo.id)
    )
    for (tree_hash,) in heads:
        if any(e.xet_hash == xet_hash for e in store.load_tree(s, tree_hash).entries.values()):
            return True
    return False


def share_with_repo(
    store: Store, s: Session, source: m.Repo, target: m.Repo, files: Sequence[tuple[str, str]]
) -> list[dict[str, str]]:
    """Let ``target`` commit the Xet files ``(xet hash, sha256)`` that ``source`` holds, as
    ``lfs-files/duplicate`` does for cross-repo copies; returns the files that could not be."""
    failed = []
    for xet_hash, sha256 in files:
        row = s.get(m.XetFile, xet_hash)
        if row is None or row.sha256 not in (None, sha256) or not repo_holds(store, s, source, xet_hash):
            failed.append({"sha256": sha256, "error": f"Xet file {xet_hash} is not a file of this repo."})
        else:
            _link(s, xet_hash, repo_id=target.id, bucket_id=None)
    return failed


def link_file(s: Session, name: str, *, bucket_id: int) -> None:
    """Let a bucket's Xet tokens reach a registered file copied into it (no upload needed)."""
    _link(s, name, repo_id=None, bucket_id=bucket_id)


def xorb_blob(store: Store, xorb_hash: str, first: int, last: int) -> str:
    """The blob holding a stored xorb's chunk records, once ``[first, last]`` is checked to lie
    inside them (the caller streams that range from the blob store)."""
    records = load_xorbs(store, [xorb_hash])
    if xorb_hash not in records:
        raise NotFound(f"xorb {xorb_hash} not found", code="NotFound")
    record = records[xorb_hash]
    if first < 0 or last >= record.size or first > last:
        raise RangeNotSatisfiable(f"bytes {first}-{last} of a {record.size}-byte xorb")
    return record.blob_sha256
