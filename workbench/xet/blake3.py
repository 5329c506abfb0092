"""Keyed BLAKE3 over many messages at once, the one hash function Xet is built on.

Xet hashes every chunk (up to 128 KiB), every merkle node and every file with keyed BLAKE3.
The ``blake3`` package (Rust) is used when it is installed; otherwise the messages are hashed
together by a numpy implementation of the BLAKE3 specification that runs each compression
across all 1 KiB BLAKE3 chunks of all messages as one vector operation, so that a 64 MiB xorb
costs a few thousand numpy calls rather than millions of Python ones.

>>> keyed_hash_many(bytes(32), [b"abc"])[0].hex()[:16]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

try:  # the Rust binding is ~100x faster; the numpy path keeps the hub working without it
    import blake3 as _blake3_binding
except ImportError:  # pragma: no cover - depends on the environment
    _blake3_binding = None

import numpy as np

_IV = np.array(
    [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19],
    dtype=np.uint32,
)
_PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
_CHUNK_START, _CHUNK_END, _PARENT, _ROOT, _KEYED_HASH = 1, 2, 4, 8, 16
_BLOCK_LEN = 64
_CHUNK_LEN = 1024


def _schedules() -> list[list[int]]:
    order = list(range(16))
    rounds = []
    for _ in range(7):
        rounds.append(order)
        order = [order[i] for i in _PERMUTATION]
    return rounds


_SCHEDULES = _schedules()


def _rotr(x: np.ndarray, n: int) -> np.ndarray:
    return (x >> np.uint32(n)) | (x << np.uint32(32 - n))


def _compress(
    cv: list[np.ndarray],
    block: list[np.ndarray],
    counter: np.ndarray,
    block_len: np.ndarray,
    flags: np.ndarray,
) -> list[np.ndarray]:
    """The BLAKE3 compression function on N lanes; returns the 8 words of the new CV."""
    n = counter.shape[0]
    v = [*cv, *(np.full(n, w, dtype=np.uint32) for w in _IV[:4])]
    v += [counter.astype(np.uint32), (counter >> np.uint64(32)).astype(np.uint32), block_len, flags]
    for schedule in _SCHEDULES:
        m = [block[i] for i in schedule]
        for i, (a, b, c, d) in enumerate(
            (
                (0, 4, 8, 12),
                (1, 5, 9, 13),
                (2, 6, 10, 14),
                (3, 7, 11, 15),
                (0, 5, 10, 15),
                (1, 6, 11, 12),
                (2, 7, 8, 13),
                (3, 4, 9, 14),
            )
        ):
            v[a] = v[a] + v[b] + m[2 * i]
            v[d] = _rotr(v[d] ^ v[a], 16)
            v[c] = v[c] + v[d]
            v[b] = _rotr(v[b] ^ v[c], 12)
            v[a] = v[a] + v[b] + m[2 * i + 1]
            v[d] = _rotr(v[d] ^ v[a], 8)
            v[c] = v[c] + v[d]
            v[b] = _rotr(v[b] ^ v[c], 7)
    return [v[i] ^ v[i + 8] for i in range(8)]


def _words(cv: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(cv[:, i]) for i in range(cv.shape[1])]


def _numpy_keyed_hash_many(key: bytes, messages: Sequence[bytes]) -> list[bytes]:
    key_words = np.frombuffer(key, dtype="<u4").astype(np.uint32)
    lengths = np.array([len(m) for m in messages], dtype=np.int64)
    # Every message has at least one BLAKE3 chunk (the empty message is one empty chunk).
    n_chunks = np.maximum(1, -(-lengths // _CHUNK_LEN))
    total = int(n_chunks.sum())
    message_of = np.repeat(np.arange(len(messages)), n_chunks)
    first = np.concatenate(([0], np.cumsum(n_chunks)[:-1]))
    index_in_message = np.arange(total) - np.repeat(first, n_chunks)
    chunk_len = np.minimum(_CHUNK_LEN, lengths[message_of] - index_in_message * _CHUNK_LEN)
    padded = np.zeros((total, _CHUNK_LEN), dtype=np.uint8)
    row = 0
    for message, count in zip(messages, n_chunks.tolist(), strict=True):
        if message:
            flat = np.frombuffer(message, dtype=np.uint8)
            padded[row : row + count].reshape(-1)[: len(flat)] = flat
        row += count
    blocks = padded.view("<u4").astype(np.uint32).reshape(total, 16, 16)
    n_blocks = np.maximum(1, -(-chunk_len // _BLOCK_LEN))
    single = (n_chunks == 1)[message_of]
    counter = index_in_message.astype(np.uint64)
    keyed = np.uint32(_KEYED_HASH)

    cv = np.tile(key_words, (total, 1))
    for b in range(16):
        live = np.nonzero(n_blocks > b)[0]
        if live.size == 0:
            break
        last = n_blocks[live] == b + 1
        block_len = np.where(last, chunk_len[live] - b * _BLOCK_LEN, _BLOCK_LEN).astype(np.uint32)
        flags = np.full(live.size, keyed, dtype=np.uint32)
        if b == 0:
            flags |= np.uint32(_CHUNK_START)
        flags |= np.where(last, np.uint32(_CHUNK_END), np.uint32(0))
        flags |= np.where(last & single[live], np.uint32(_ROOT), np.uint32(0))
        out = _compress(_words(cv[live]), _words(blocks[live, b, :]), counter[live], block_len, flags)
        cv[live] = np.stack(out, axis=1)

    # Parent levels: pair neighbours left to right; an odd last node moves up unchanged.
    # This is BLAKE3's tree, whose left subtrees are always complete.
    nodes, owner = cv, message_of
    count = n_chunks[owner]
    while (count > 1).any():
        starts = np.concatenate(([0], np.nonzero(owner[1:] != owner[:-1])[0] + 1))
        pos = np.arange(owner.size) - np.repeat(starts, np.diff(np.append(starts, owner.size)))
        even = np.nonzero(pos % 2 == 0)[0]
        paired = even[pos[even] + 1 < count[even]]
        if paired.size:
            block = np.concatenate([nodes[paired], nodes[paired + 1]], axis=1)
            flags = np.full(paired.size, keyed | np.uint32(_PARENT), dtype=np.uint32)
            flags |= np.where(count[paired] == 2, np.uint32(_ROOT), np.uint32(0))
            out = _compress(
                [np.full(paired.size, w, dtype=np.uint32) for w in key_words],
                _words(block),
                np.zeros(paired.size, dtype=np.uint64),
                np.full(paired.size, _BLOCK_LEN, dtype=np.uint32),
                flags,
            )
            nodes = nodes.copy()
            nodes[paired] = np.stack(out, axis=1)
        nodes, owner = nodes[even], owner[even]
        count = -(-count[even] // 2)
    return [nodes[i].astype("<u4").tobytes() for i in range(len(messages))]


def keyed_hash_many(key: bytes, messages: Sequence[bytes]) -> list[bytes]:
    """The 32-byte keyed BLAKE3 hash of each message, in order.

    >>> len(keyed_hash_many(bytes(32), [b"", b"x" * 5000]))
    2
    """
    if len(key) != 32:
        raise ValueError("a BLAKE3 key is 32 bytes")
    if not messages:
        return []
    if _blake3_binding is not None:  # pragma: no cover - depends on the environment
        return [_blake3_binding.blake3(m, key=key).digest() for m in messages]
    return _numpy_keyed_hash_many(key, messages)


def keyed_hash(key: bytes, message: bytes) -> bytes:
    """The 32-byte keyed BLAKE3 hash of one message."""
    return keyed_hash_many(key, [message])[0]
