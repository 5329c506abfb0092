"""Xet's hashes: chunk hashes, xorb (merkle) hashes, file hashes, verification range hashes.

All hashes are 32 bytes. Their hex form is Xet's own: the 32 bytes are read as four
little-endian 64-bit words and each word is written as 16 hex digits, so the hex string is
*not* ``bytes.hex()`` (each 8-byte group appears reversed). URLs, JSON and file names use
that form; shards and xorb footers hold the raw bytes.

>>> h = chunk_hash(b"hello")
>>> hex_to_hash(hash_to_hex(h)) == h
True
"""

from __future__ import annotations

from collections.abc import Sequence

from workbench.errors import InvalidRequest
from workbench.xet.blake3 import keyed_hash, keyed_hash_many

HASH_LEN = 32

# Keys from the Xet protocol specification ("Hashing"), there written as decimal byte lists.
DATA_KEY = bytes.fromhex("6697f5775b9550de3135cbaca597181c9de421109beb2b58b4d0b04b93adf229")
INTERNAL_NODE_KEY = bytes.fromhex("017ec5c7a5472996fd946666b48a02e65ddd536f37c76dd2f86352e64a53713f")
VERIFICATION_KEY = bytes.fromhex("7f1857d6ce56ed66127ff913e7a5c3f3a4cd26d5b5db49e64124987f28fb94c3")
ZERO_HASH = bytes(HASH_LEN)

# A chunk whose hash is 0 mod this (its last 8 bytes as a little-endian integer) is one a
# client asks the global deduplication index about, besides the first chunk of each file.
DEDUP_MODULUS = 1024

# A merkle node has 2 to 9 children; a child ends a node when its hash is 0 mod 4.
_MEAN_BRANCHING = 4
_MAX_CHILDREN = 2 * _MEAN_BRANCHING + 1

ChunkList = Sequence[tuple[bytes, int]]


def hash_to_hex(value: bytes) -> str:
    """Xet's hex form of a 32-byte hash (four little-endian u64 words, each as 16 digits)."""
    if len(value) != HASH_LEN:
        raise InvalidRequest(f"a Xet hash is {HASH_LEN} bytes, not {len(value)}")
    return "".join(value[i : i + 8][::-1].hex() for i in range(0, HASH_LEN, 8))


def hex_to_hash(text: str) -> bytes:
    """The 32 bytes of a hash written in Xet's hex form; 400 on anything else.

    >>> hex_to_hash("00" * 32) == ZERO_HASH
    True
    """
    if len(text) != 2 * HASH_LEN or text.lower() != text:
        raise InvalidRequest(f"{text[:80]!r} is not a Xet hash (64 lowercase hex digits)")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise InvalidRequest(f"{text[:80]!r} is not a Xet hash (64 lowercase hex digits)") from None
    return b"".join(raw[i : i + 8][::-1] for i in range(0, HASH_LEN, 8))


def chunk_hash(data: bytes) -> bytes:
    """The hash of one chunk of file content."""
    return keyed_hash(DATA_KEY, data)


def chunk_hashes(chunks: Sequence[bytes]) -> list[bytes]:
    """The hashes of many chunks, computed together (one vector pass when hashing in numpy)."""
    return keyed_hash_many(DATA_KEY, chunks)


def _next_cut(level: ChunkList, start: int) -> int:
    remaining = len(level) - start
    if remaining <= 2:
        return len(level)
    end = start + min(_MAX_CHILDREN, remaining)
    for i in range(start + 2, end):
        if int.from_bytes(level[i][0][24:32], "little") % _MEAN_BRANCHING == 0:
            return i + 1
    return end


def _node_line(child: tuple[bytes, int]) -> str:
    return f"{hash_to_hex(child[0])} : {child[1]}\n"


def merkle_hash(chunks: ChunkList) -> bytes:
    """The root of Xet's aggregated merkle tree over ``(chunk hash, chunk size)`` pairs.

    This is the xorb hash of a xorb holding those chunks; the zero hash when there are none.
    """
    if not chunks:
        return ZERO_HASH
    level: list[tuple[bytes, int]] = list(chunks)
    while len(level) > 1:
        groups = []
        start = 0
        while start < len(level):
            cut = _next_cut(level, start)
            groups.append(level[start:cut])
            start = cut
        digests = keyed_hash_many(
            INTERNAL_NODE_KEY,
            ["".join(_node_line(c) for c in group).encode() for group in groups],
        )
        level = [
            (digest, sum(size for _, size in group)) for digest, group in zip(digests, groups, strict=True)
        ]
    return level[0][0]


def xorb_hash(chunks: ChunkList) -> bytes:
    """The hash of a xorb from its chunks' ``(hash, uncompressed size)`` pairs."""
    return merkle_hash(chunks)


def file_hash(chunks: ChunkList) -> bytes:
    """The Xet hash of a file from all its chunks' ``(hash, size)`` pairs, in file order.

    >>> file_hash([]) == ZERO_HASH
    True
    """
    if not chunks:
        return ZERO_HASH
    return keyed_hash(ZERO_HASH, merkle_hash(chunks))


def range_verification_hash(hashes: Sequence[bytes]) -> bytes:
    """The verification hash a shard carries for a term: keyed over its chunks' hashes."""
    return keyed_hash(VERIFICATION_KEY, b"".join(hashes))


def dedup_eligible(value: bytes) -> bool:
    """Whether a chunk hash is one clients look up in the global deduplication index."""
    return int.from_bytes(value[24:32], "little") % DEDUP_MODULUS == 0


def keyed_chunk_hashes(key: bytes, values: Sequence[bytes]) -> list[bytes]:
    """Chunk hashes as a deduplication answer carries them: keyed BLAKE3 under its key.

    A client can match the chunks it holds (it hashes its own under the same key) but cannot
    learn the hashes of chunks it does not hold, which would let it claim them.
    """
    return keyed_hash_many(key, values)
