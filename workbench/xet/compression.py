"""The compression schemes of xorb chunks: none, LZ4 (frame format), and byte-grouped LZ4.

Byte grouping ("bg4") stores bytes 0, 4, 8, … first, then 1, 5, 9, …, and so on, which
compresses floating-point tensors better; it is undone after LZ4 decompression.

>>> decompress(NONE, b"abc", 3)
b'abc'
"""

from __future__ import annotations

import lz4.frame

NONE, LZ4, BG4_LZ4 = 0, 1, 2


def _lz4_frame_decompress(data: bytes, size: int) -> bytes:
    try:
        out = lz4.frame.decompress(data)
    except RuntimeError as exc:
        raise ValueError(f"bad LZ4 frame ({exc})") from None
    if len(out) != size:
        raise ValueError(f"LZ4 frame holds {len(out)} bytes, the chunk header says {size}")
    return bytes(out)


def bg4_ungroup(grouped: bytes) -> bytes:
    """Undo byte grouping: ``grouped`` holds the 4 groups one after another."""
    n = len(grouped)
    split, rem = divmod(n, 4)
    sizes = [split + (1 if g < rem else 0) for g in range(4)]
    out = bytearray(n)
    start = 0
    for g, size in enumerate(sizes):
        out[g::4] = grouped[start : start + size]
        start += size
    return bytes(out)


def decompress(scheme: int, data: bytes, size: int) -> bytes:
    """The ``size`` content bytes of one chunk; ValueError on an unknown scheme or bad data."""
    if scheme == NONE:
        return bytes(data)
    if scheme == LZ4:
        return _lz4_frame_decompress(data, size)
    if scheme == BG4_LZ4:
        return bg4_ungroup(_lz4_frame_decompress(data, size))
    raise ValueError(f"unknown compression scheme {scheme}")
