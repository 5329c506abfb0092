"""MDB shards: the file reconstructions and xorb (CAS) descriptions a client uploads.

Layout (all integers little-endian): a 48-byte header (32-byte tag, version 2, footer size);
the file section, one block per file (48-byte header: file hash, flags, term count; one
48-byte term per xorb range; with the verification flag, one 48-byte range hash per term;
with the metadata flag, one 48-byte block holding the SHA-256), closed by a block whose hash
is all ones; the xorb section, one block per xorb (48-byte header: xorb hash, flags, chunk
count, unpacked bytes, serialized bytes; one 48-byte entry per chunk: hash, byte offset of
its record, size), closed the same way; then, when the header's footer size is not zero,
lookup tables and a footer, which the hub does not need when it reads one.

The hub also writes shards: the answer to a global deduplication query is a shard with no
files, the xorbs a client may deduplicate against, and a footer carrying the key its chunk
hashes are keyed under and when the answer expires (:func:`write_xorb_shard`).

>>> shard = parse_shard(body)  # doctest: +SKIP
>>> shard.files[0].size  # doctest: +SKIP
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from workbench.errors import InvalidRequest
from workbench.xet.hashing import hash_to_hex, keyed_chunk_hashes

SHARD_TAG = b"HFRepoMetaData\x00" + bytes(
    [85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]
)
SHARD_VERSION = 2
HEADER_LEN = 48
BLOCK_LEN = 48
BOOKEND = b"\xff" * 32
FLAG_WITH_VERIFICATION = 1 << 31
FLAG_WITH_METADATA_EXT = 1 << 30
MAX_SHARD_SIZE = 64 * 1024 * 1024

_FILE_HEADER = struct.Struct("<32sIIQ")
_TERM = struct.Struct("<32sIIII")
_XORB_HEADER = struct.Struct("<32sIIII")
_XORB_CHUNK = struct.Struct("<32sIIII")
# version, file/xorb section offsets, three lookup tables (offset, entries), the chunk hash key,
# creation and expiry times, six reserved words, stored/materialized/stored bytes, own offset.
_FOOTER = struct.Struct("<9Q32s2Q6Q4Q")
FOOTER_VERSION = 1


def _malformed(message: str) -> InvalidRequest:
    """The body is not a well-formed shard (code ``MalformedShard``)."""
    return InvalidRequest(message, code="MalformedShard")


@dataclass(frozen=True)
class FileTerm:
    """Chunks ``[start, end)`` of xorb ``xorb_hash``, ``size`` bytes once unpacked."""

    xorb_hash: bytes
    size: int
    start: int
    end: int
    verification: bytes | None = None


@dataclass(frozen=True)
class FileReconstruction:
    """A file: its Xet hash and the xorb ranges that rebuild it, in order."""

    file_hash: bytes
    terms: tuple[FileTerm, ...]
    sha256: str | None = None  # hex digest; shards store it in the Xet hash byte order

    @property
    def size(self) -> int:
        return sum(t.size for t in self.terms)


@dataclass(frozen=True)
class XorbChunkEntry:
    hash: bytes
    offset: int  # where the chunk's content starts in the xorb's unpacked bytes
    size: int


@dataclass(frozen=True)
class XorbInfo:
    """A xorb as the shard describes it (the hub trusts only what it verified itself)."""

    xorb_hash: bytes
    chunks: tuple[XorbChunkEntry, ...]
    unpacked_size: int
    serialized_size: int


@dataclass(frozen=True)
class Shard:
    files: tuple[FileReconstruction, ...]
    xorbs: tuple[XorbInfo, ...]


class _Reader:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.body):
            raise _malformed(f"shard truncated in {what} at offset {self.pos}")
        out = self.body[self.pos : self.pos + n]
        self.pos += n
        return out


def _parse_file(reader: _Reader, file_hash: bytes, flags: int, count: int) -> FileReconstruction:
    raw_terms = [_TERM.unpack(reader.take(BLOCK_LEN, "a file term")) for _ in range(count)]
    verifications: list[bytes | None] = [None] * count
    if flags & FLAG_WITH_VERIFICATION:
        verifications = [reader.take(BLOCK_LEN, "a verification entry")[:32] for _ in range(count)]
    sha256 = None
    if flags & FLAG_WITH_METADATA_EXT:
        sha256 = hash_to_hex(reader.take(BLOCK_LEN, "a file metadata block")[:32])
    terms = []
    for (xorb_hash, _flags, size, start, end), verification in zip(raw_terms, verifications, strict=True):
        if end <= start:
            raise _malformed(f"a term of file {file_hash.hex()} has an empty chunk range")
        terms.append(FileTerm(xorb_hash, size, start, end, verification))
    return FileReconstruction(file_hash=file_hash, terms=tuple(terms), sha256=sha256)


def _parse_xorb(reader: _Reader, header: tuple[bytes, int, int, int, int]) -> XorbInfo:
    xorb_hash, _flags, count, unpacked, serialized = header
    chunks = []
    for _ in range(count):
        chunk_hash, offset, size, _chunk_flags, _unused = _XORB_CHUNK.unpack(
            reader.take(BLOCK_LEN, "a xorb chunk entry")
        )
        chunks.append(XorbChunkEntry(chunk_hash, offset, size))
    return XorbInfo(xorb_hash, tuple(chunks), unpacked, serialized)


def parse_shard(body: bytes) -> Shard:
    """Read the file and xorb sections of a shard; InvalidRequest ``MalformedShard`` if not one."""
    if len(body) > MAX_SHARD_SIZE:
        raise _malformed(f"a shard is at most {MAX_SHARD_SIZE} bytes, this one {len(body)}")
    reader = _Reader(body)
    tag, version, footer_size = struct.unpack("<32sQQ", reader.take(HEADER_LEN, "the header"))
    if tag != SHARD_TAG:
        raise _malformed("not a shard (wrong header tag)")
    if version != SHARD_VERSION:
        raise _malformed(f"shard version {version} is not supported (only {SHARD_VERSION})")
    files = []
    while True:
        file_hash, flags, count, _unused = _FILE_HEADER.unpack(reader.take(BLOCK_LEN, "the file section"))
        if file_hash == BOOKEND:
            break
        files.append(_parse_file(reader, file_hash, flags, count))
    xorbs = []
    while True:
        header = _XORB_HEADER.unpack(reader.take(BLOCK_LEN, "the xorb section"))
        if header[0] == BOOKEND:
            break
        xorbs.append(_parse_xorb(reader, header))
    if footer_size == 0 and reader.pos != len(body):
        raise _malformed(f"{len(body) - reader.pos} unexpected bytes after the xorb section")
    if footer_size and len(body) - reader.pos < footer_size:
        raise _malformed("shard footer truncated")
    return Shard(files=tuple(files), xorbs=tuple(xorbs))


def write_xorb_shard(xorbs: Sequence[XorbInfo], *, key: bytes, created: int, expires: int) -> bytes:
    """A shard holding only ``xorbs``, each chunk hash keyed under ``key`` (see
    :func:`~workbench.xet.hashing.keyed_chunk_hashes`), valid until ``expires`` (Unix seconds).

    Lookup tables are left empty: a client builds its own index from the xorb section.
    """
    bookend = BOOKEND + bytes(BLOCK_LEN - len(BOOKEND))
    parts = [struct.pack("<32sQQ", SHARD_TAG, SHARD_VERSION, _FOOTER.size), bookend]
    xorb_offset = HEADER_LEN + len(bookend)
    for xorb in xorbs:
        parts.append(
            _XORB_HEADER.pack(xorb.xorb_hash, 0, len(xorb.chunks), xorb.unpacked_size, xorb.serialized_size)
        )
        keyed = keyed_chunk_hashes(key, [c.hash for c in xorb.chunks])
        for hashed, chunk in zip(keyed, xorb.chunks, strict=True):
            parts.append(_XORB_CHUNK.pack(hashed, chunk.offset, chunk.size, 0, 0))
    parts.append(bookend)
    footer_at = sum(len(p) for p in parts)
    stored = sum(x.unpacked_size for x in xorbs)
    on_disk = sum(x.serialized_size for x in xorbs)
    lookups = (footer_at, 0) * 3
    footer = _FOOTER.pack(
        FOOTER_VERSION, HEADER_LEN, xorb_offset, *lookups, key, created, expires, *([0] * 6),
        on_disk, 0, stored, footer_at,
    )  # fmt: skip
    return b"".join(parts) + footer
