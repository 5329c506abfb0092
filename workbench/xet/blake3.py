"""Keyed BLAKE3, the one hash function Xet is built on (chunks, merkle nodes, files).

A thin layer over the ``blake3`` package, so that the rest of ``workbench.xet`` names the
key and the messages and never the library.

>>> keyed_hash(bytes(32), b"").hex()[:16]
'a7f91ced0533c12c'
"""

from __future__ import annotations

from collections.abc import Sequence

import blake3


def keyed_hash(key: bytes, message: bytes) -> bytes:
    """The 32-byte keyed BLAKE3 hash of one message."""
    return blake3.blake3(message, key=key).digest()


def keyed_hash_many(key: bytes, messages: Sequence[bytes]) -> list[bytes]:
    """The 32-byte keyed BLAKE3 hash of each message, in order."""
    return [blake3.blake3(m, key=key).digest() for m in messages]
