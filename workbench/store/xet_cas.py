"""The Xet CAS in the store: verified xorbs, files registered by shards, reconstructions.

A xorb is accepted only after its hash is recomputed from its chunks; its chunk records go
to the blob store (keyed by their SHA-256, like every blob) and its chunk table to
``xet_xorbs``. A shard registers files only when every term names a stored xorb, a chunk
range inside it, the right size and verification hash, and when the file's Xet hash,
recomputed from the chunks, is the one the shard claims: a client cannot register a file
whose bytes it does not have. Nothing is written before all checks pass.

>>> register_xorb(store, parse_xorb(body), expected_hash)  # doctest: +SKIP
True
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from workbench.errors import IntegrityError, InvalidRequest, NotFound, RangeNotSatisfiable
from workbench.store import models as m
from workbench.store.store import Store, insert_missing, utcnow
from workbench.xet.hashing import file_hash, hash_to_hex, range_verification_hash
from workbench.xet.shard import FileReconstruction, Shard
from workbench.xet.xorb import ParsedXorb, verify_xorb

_CHUNK_ROW = struct.Struct("<32sII")  # hash, record offset, size


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

    def byte_range(self, start: int, end: int) -> tuple[int, int]:
        """Bytes ``[first, last]`` (inclusive) holding the records of chunks ``[start, end)``."""
        last = self.chunks[end].offset if end < len(self.chunks) else self.size
        return self.chunks[start].offset, last - 1


@dataclass(frozen=True)
class Term:
    xorb: XorbRecord
    start: int
    end: int
    size: int


def _pack(parsed: ParsedXorb) -> bytes:
    return b"".join(_CHUNK_ROW.pack(c.hash, c.offset, c.size) for c in parsed.chunks)


def _record(row: m.XetXorb) -> XorbRecord:
    chunks = tuple(StoredChunk(*values) for values in _CHUNK_ROW.iter_unpack(row.chunks))
    return XorbRecord(hash=row.hash, blob_sha256=row.blob_sha256, size=row.size, chunks=chunks)


def has_xorb(store: Store, xorb_hash: str) -> bool:
    with store.read() as s:
        return s.get(m.XetXorb, xorb_hash) is not None


def register_xorb(store: Store, parsed: ParsedXorb, expected: bytes) -> bool:
    """Verify and keep a xorb; False when the hub already held it (nothing written then)."""
    name = hash_to_hex(expected)
    if has_xorb(store, name):
        return False
    verify_xorb(parsed, expected)
    blob = store.blobs.ingest_bytes(parsed.data, git=False)
    with store.write() as s:
        if s.get(m.XetXorb, name) is not None:
            return False
        insert_missing(
            s,
            m.XetXorb,
            hash=name,
            blob_sha256=blob.sha256,
            size=len(parsed.data),
            unpacked_size=parsed.unpacked_size,
            num_chunks=len(parsed.chunks),
            chunks=_pack(parsed),
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
        if term.verification is not None and term.verification != range_verification_hash(
            [c.hash for c in chunks]
        ):
            raise IntegrityError(f"file {name} term {i}: verification hash does not match")
        chunk_list += [(c.hash, c.size) for c in chunks]
    if file_hash(chunk_list) != file.file_hash:
        raise IntegrityError(f"file {name}: its chunks hash to {hash_to_hex(file_hash(chunk_list))}")


def register_shard(store: Store, shard: Shard, body: bytes, *, repo_id: int) -> bool:
    """Check every file of ``shard`` and register them for ``repo_id``, all or nothing.

    Returns whether anything new was registered.
    """
    xorbs = load_xorbs(store, [hash_to_hex(t.xorb_hash) for f in shard.files for t in f.terms])
    for file in shard.files:
        _check_file(file, xorbs)
    blob = store.blobs.ingest_bytes(body, git=False)
    created = False
    with store.write() as s:
        insert_missing(s, m.XetShard, blob_sha256=blob.sha256, size=len(body), created_at=utcnow())
        for file in shard.files:
            name = hash_to_hex(file.file_hash)
            if s.get(m.XetFile, name) is None:
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
            if s.get(m.XetFileRepo, (name, repo_id)) is None:
                created = True
                insert_missing(s, m.XetFileRepo, file_hash=name, repo_id=repo_id)
    return created


@dataclass(frozen=True)
class Reconstruction:
    size: int
    offset_into_first_range: int
    terms: tuple[Term, ...]


def reconstruct(
    store: Store, file_id: str, *, repo_id: int, byte_range: tuple[int, int | None] | None
) -> Reconstruction:
    """The terms that rebuild bytes ``[start, end]`` of a file this repo may read.

    ``byte_range`` is ``(start, end)`` with an inclusive end, or ``(start, None)`` for "to the
    end"; a file not uploaded to ``repo_id`` is :class:`NotFound`, like a missing one.
    """
    with store.read() as s:
        row = s.get(m.XetFile, file_id)
        linked = s.get(m.XetFileRepo, (file_id, repo_id)) is not None
        if row is None or not linked:
            raise NotFound(f"Xet file {file_id} not found", code="EntryNotFound")
        size = row.size
        raw_terms = [(str(h), int(a), int(b), int(n)) for h, a, b, n in row.terms]  # type: ignore[call-overload]
    first, last = 0, size - 1
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


def read_xorb_bytes(store: Store, xorb_hash: str, first: int, last: int) -> bytes:
    """Bytes ``[first, last]`` of a stored xorb's chunk records."""
    records = load_xorbs(store, [xorb_hash])
    if xorb_hash not in records:
        raise NotFound(f"xorb {xorb_hash} not found", code="NotFound")
    record = records[xorb_hash]
    if first < 0 or last >= record.size or first > last:
        raise RangeNotSatisfiable(f"bytes {first}-{last} of a {record.size}-byte xorb")
    with store.blobs.open(record.blob_sha256) as f:
        f.seek(first)
        return f.read(last - first + 1)
