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

from dataclasses import dataclass

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
class ParsedXorb:
    """A verified-shape xorb: its chunk records (footer removed) and each chunk's facts."""

    data: bytes
    chunks: tuple[XorbChunk, ...]

    @property
    def hash(self) -> bytes:
        return xorb_hash([(c.hash, c.size) for c in self.chunks])

    @property
    def unpacked_size(self) -> int:
        return sum(c.size for c in self.chunks)


def _u24(raw: bytes) -> int:
    return int.from_bytes(raw, "little")


def iter_chunk_records(data: bytes) -> list[tuple[int, int, int, int]]:
    """``(offset, scheme, compressed_len, uncompressed_len)`` of each record, footer ignored.

    Raises InvalidRequest (code ``MalformedXorb``) on a truncated record, an unknown version or scheme, a
    chunk over 128 KiB, or trailing bytes that are not a footer.
    """
    records = []
    pos = 0
    while pos < len(data):
        if data.startswith(FOOTER_IDENT, pos):
            _check_footer(data, pos)
            break
        if len(data) - pos < CHUNK_HEADER_LEN:
            raise _malformed(f"xorb truncated: {len(data) - pos} stray bytes at offset {pos}")
        header = data[pos : pos + CHUNK_HEADER_LEN]
        version, compressed, scheme, size = header[0], _u24(header[1:4]), header[4], _u24(header[5:8])
        if version > _CHUNK_VERSION:
            raise _malformed(f"chunk at offset {pos} has unknown version {version}")
        if size > MAX_CHUNK_SIZE or compressed > 2 * MAX_CHUNK_SIZE:
            raise _malformed(f"chunk at offset {pos} is larger than {MAX_CHUNK_SIZE} bytes")
        end = pos + CHUNK_HEADER_LEN + compressed
        if end > len(data):
            raise _malformed(
                f"xorb truncated: the chunk at offset {pos} needs {compressed} bytes, "
                f"{len(data) - pos - CHUNK_HEADER_LEN} remain"
            )
        records.append((pos, scheme, compressed, size))
        pos = end
    return records


def _check_footer(data: bytes, start: int) -> None:
    """A footer must run to the end, its last 4 bytes giving its own length."""
    if len(data) - start < len(FOOTER_IDENT) + 4:
        raise _malformed("xorb footer truncated")
    declared = int.from_bytes(data[-4:], "little")
    if declared + 4 != len(data) - start:
        raise _malformed(
            f"xorb footer at offset {start} declares {declared} bytes, {len(data) - start - 4} are there"
        )


def chunk_content(data: bytes, offset: int) -> bytes:
    """The uncompressed content of the chunk whose record starts at ``offset``."""
    header = data[offset : offset + CHUNK_HEADER_LEN]
    compressed, scheme, size = _u24(header[1:4]), header[4], _u24(header[5:8])
    body = data[offset + CHUNK_HEADER_LEN : offset + CHUNK_HEADER_LEN + compressed]
    try:
        content = decompress(scheme, body, size)
    except ValueError as exc:
        raise _malformed(f"chunk at offset {offset}: {exc}") from None
    if len(content) != size:
        raise _malformed(f"chunk at offset {offset} decompresses to {len(content)} bytes, header says {size}")
    return content


def parse_xorb(body: bytes) -> ParsedXorb:
    """Split a serialized xorb into chunks, decompress each and hash it.

    >>> parse_xorb(b"").chunks  # doctest: +SKIP
    Traceback (most recent call last):
    InvalidRequest: a xorb holds at least one chunk
    """
    if len(body) > MAX_XORB_BODY:
        raise _malformed(f"a serialized xorb is at most {MAX_XORB_BODY} bytes, this one {len(body)}")
    records = iter_chunk_records(body)
    if not records:
        raise _malformed("a xorb holds at least one chunk")
    last_offset, _, last_compressed, _ = records[-1]
    data = body[: last_offset + CHUNK_HEADER_LEN + last_compressed]
    contents = [chunk_content(data, offset) for offset, _, _, _ in records]
    hashes = chunk_hashes(contents)
    chunks = tuple(
        XorbChunk(offset=offset, record_len=CHUNK_HEADER_LEN + compressed, size=size, hash=h)
        for (offset, _, compressed, size), h in zip(records, hashes, strict=True)
    )
    return ParsedXorb(data=data, chunks=chunks)


def verify_xorb(parsed: ParsedXorb, expected: bytes) -> None:
    """Raise :class:`IntegrityError` unless the xorb's chunks hash to ``expected``."""
    actual = parsed.hash
    if actual != expected:
        raise IntegrityError(f"xorb content hashes to {hash_to_hex(actual)}, not {hash_to_hex(expected)}")
