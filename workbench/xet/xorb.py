"""Serialized xorbs: parse one, decompress its chunks, and verify it against its hash.

A xorb as uploaded is a bare sequence of chunk records, each an 8-byte header (version,
compressed length as 3 little-endian bytes, compression scheme, uncompressed length as
3 bytes) followed by the compressed bytes. Older clients may append the storage footer,
which starts with ``XETBLOB``; it carries nothing the chunks do not, so it is dropped and
the hub keeps only the chunk records (the byte ranges it later hands to downloading clients
are offsets into them).

>>> parsed = parse_xorb(body)  # doctest: +SKIP
>>> verify_xorb(parsed, expected_hash)  # doctest: +SKIP
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO

from workbench.errors import IntegrityError, InvalidRequest
from workbench.xet.compression import decompress
from workbench.xet.hashing import chunk_hashes, hash_to_hex, xorb_hash

CHUNK_HEADER_LEN = 8
MAX_CHUNK_SIZE = 128 * 1024
MAX_XORB_SIZE = 64 * 1024 * 1024  # of chunk content, as hf_xet cuts xorbs (MAX_XORB_BYTES)
# A serialized xorb adds an 8-byte header per chunk and, from older clients, a footer of
# about 40 bytes per chunk: a full xorb of incompressible chunks is larger than its content.
MAX_XORB_BODY = MAX_XORB_SIZE + 1024 * 1024
FOOTER_IDENT = b"XETBLOB"
_CHUNK_VERSION = 0
_SCAN_BATCH = 4 * 1024 * 1024  # bytes read, and of content hashed, at a time


def _malformed(message: str) -> InvalidRequest:
    """The body is not a well-formed serialized xorb (code ``MalformedXorb``)."""
    return InvalidRequest(message, code="MalformedXorb")


@dataclass(frozen=True)
class XorbChunk:
    """One chunk of a xorb: where its record sits, and its content's size and hash."""

    offset: int  # of the record (header included) in the chunk region
    record_len: int  # header + compressed bytes
    size: int  # uncompressed
    hash: bytes


@dataclass(frozen=True)
class XorbIndex:
    """The facts of a well-formed xorb without its bytes: its chunk region's size and chunks."""

    size: int  # bytes of chunk records, footer excluded
    chunks: tuple[XorbChunk, ...]

    @property
    def hash(self) -> bytes:
        return xorb_hash([(c.hash, c.size) for c in self.chunks])

    @property
    def unpacked_size(self) -> int:
        return sum(c.size for c in self.chunks)


@dataclass(frozen=True)
class ParsedXorb(XorbIndex):
    """A verified-shape xorb held in memory: its chunk records (footer removed) and their facts."""

    data: bytes


def _u24(raw: bytes) -> int:
    return int.from_bytes(raw, "little")


class _Window:
    """Sequential reads of a xorb file through a buffer of about ``_SCAN_BATCH`` bytes."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.buf = b""
        self.base = 0  # offset in the file of buf[0]

    def at(self, pos: int, n: int) -> bytes:
        """Up to ``n`` bytes from ``pos`` (fewer at the end of the file); ``pos`` never goes back."""
        if pos + n > self.base + len(self.buf):
            self.buf = self.buf[pos - self.base :] + self.f.read(max(_SCAN_BATCH, n))
            self.base = pos
        return self.buf[pos - self.base : pos - self.base + n]


def scan_xorb(f: IO[bytes], length: int) -> XorbIndex:
    """Walk a serialized xorb of ``length`` bytes in ``f``, decompressing and hashing each chunk.

    Only a batch of records and the per-chunk facts are held at a time, never the whole xorb.
    Raises InvalidRequest (code ``MalformedXorb``) on an empty xorb, a truncated record, an
    unknown version or scheme, a chunk over 128 KiB, or trailing bytes that are not a footer.

    >>> with open(path, "rb") as f:                      # doctest: +SKIP
    ...     verify_xorb(scan_xorb(f, path.stat().st_size), expected_hash)
    """
    if length > MAX_XORB_BODY:
        raise _malformed(f"a serialized xorb is at most {MAX_XORB_BODY} bytes, this one {length}")
    window = _Window(f)
    chunks: list[XorbChunk] = []
    pending: list[tuple[int, int, int]] = []  # offset, record length, size: awaiting their hash
    contents: list[bytes] = []
    held = 0

    def hash_pending() -> None:
        nonlocal held
        if not pending:
            return
        for (offset, record_len, size), h in zip(pending, chunk_hashes(contents), strict=True):
            chunks.append(XorbChunk(offset=offset, record_len=record_len, size=size, hash=h))
        pending.clear()
        contents.clear()
        held = 0

    pos = 0
    while pos < length:
        header = window.at(pos, CHUNK_HEADER_LEN)
        if header.startswith(FOOTER_IDENT):
            _check_footer(f, pos, length)
            break
        if len(header) < CHUNK_HEADER_LEN:
            raise _malformed(f"xorb truncated: {length - pos} stray bytes at offset {pos}")
        version, compressed, size = header[0], _u24(header[1:4]), _u24(header[5:8])
        if version > _CHUNK_VERSION:
            raise _malformed(f"chunk at offset {pos} has unknown version {version}")
        if size > MAX_CHUNK_SIZE or compressed > 2 * MAX_CHUNK_SIZE:
            raise _malformed(f"chunk at offset {pos} is larger than {MAX_CHUNK_SIZE} bytes")
        end = pos + CHUNK_HEADER_LEN + compressed
        if end > length:
            raise _malformed(
                f"xorb truncated: the chunk at offset {pos} needs {compressed} bytes, "
                f"{length - pos - CHUNK_HEADER_LEN} remain"
            )
        pending.append((pos, CHUNK_HEADER_LEN + compressed, size))
        contents.append(_decode(window.at(pos, CHUNK_HEADER_LEN + compressed), pos))
        held += size
        if held >= _SCAN_BATCH:
            hash_pending()
        pos = end
    hash_pending()
    if not chunks:
        raise _malformed("a xorb holds at least one chunk")
    last = chunks[-1]
    return XorbIndex(size=last.offset + last.record_len, chunks=tuple(chunks))


def _check_footer(f: IO[bytes], start: int, length: int) -> None:
    """A footer must run to the end, its last 4 bytes giving its own length."""
    if length - start < len(FOOTER_IDENT) + 4:
        raise _malformed("xorb footer truncated")
    f.seek(length - 4)
    declared = int.from_bytes(f.read(4), "little")
    if declared + 4 != length - start:
        raise _malformed(
            f"xorb footer at offset {start} declares {declared} bytes, {length - start - 4} are there"
        )


def _decode(record: bytes, offset: int) -> bytes:
    """The uncompressed content of one chunk record (header included) found at ``offset``."""
    compressed, scheme, size = _u24(record[1:4]), record[4], _u24(record[5:8])
    try:
        content = decompress(scheme, record[CHUNK_HEADER_LEN : CHUNK_HEADER_LEN + compressed], size)
    except ValueError as exc:
        raise _malformed(f"chunk at offset {offset}: {exc}") from None
    if len(content) != size:
        raise _malformed(f"chunk at offset {offset} decompresses to {len(content)} bytes, header says {size}")
    return content


def chunk_content(data: bytes, offset: int) -> bytes:
    """The uncompressed content of the chunk whose record starts at ``offset``."""
    compressed = _u24(data[offset + 1 : offset + 4])
    return _decode(data[offset : offset + CHUNK_HEADER_LEN + compressed], offset)


def parse_xorb(body: bytes) -> ParsedXorb:
    """Split a serialized xorb held in memory into chunks, decompress each and hash it.

    >>> parse_xorb(b"").chunks  # doctest: +SKIP
    Traceback (most recent call last):
    InvalidRequest: a xorb holds at least one chunk
    """
    index = scan_xorb(io.BytesIO(body), len(body))
    return ParsedXorb(size=index.size, chunks=index.chunks, data=body[: index.size])


def verify_xorb(parsed: XorbIndex, expected: bytes) -> None:
    """Raise :class:`IntegrityError` unless the xorb's chunks hash to ``expected``."""
    actual = parsed.hash
    if actual != expected:
        raise IntegrityError(f"xorb content hashes to {hash_to_hex(actual)}, not {hash_to_hex(expected)}")
