"""Global deduplication: which stored xorb holds a chunk a client is about to upload.

A client chunks a file and, before it uploads new xorbs, asks the hub about the first chunk
of the file and about each chunk whose hash is 0 mod 1024 (``GET /v1/chunks``). When the hub
knows the chunk, it answers with a shard describing the xorb that holds it and the other
xorbs registered with it; the client then names ranges of those xorbs in its own shard
instead of uploading the bytes again. That is how a teammate's fine-tune of a checkpoint
uploads only what changed, even from another machine and into another repo.

The index (``xet_chunks``) is filled by :func:`workbench.store.xet_cas.register_shard`,
from the hub's own verified chunk lists (never from what the shard claims). An answer does
not give the chunk hashes away: they are keyed under a key that changes every day
(:func:`answer_key`), so a client can recognise the chunks it holds but learns no hash it
could use to claim a chunk it does not hold (a shard must name every chunk hash of a range
it references; see :mod:`workbench.store.xet_cas`).

>>> shard_bytes = dedup_answer(store, chunk_hash, key=key, now=now)  # doctest: +SKIP
"""

from __future__ import annotations

from sqlalchemy import select

from workbench.store import models as m
from workbench.store.store import Store
from workbench.store.xet_cas import XorbRecord, load_xorbs
from workbench.xet.blake3 import keyed_hash
from workbench.xet.hashing import hash_to_hex, hex_to_hash
from workbench.xet.shard import XorbChunkEntry, XorbInfo, parse_shard, write_xorb_shard

ANSWER_TTL = 24 * 3600  # an answer's key is the day's; clients drop it a day after
MAX_ANSWER_XORBS = 64  # xorbs in one answer (a 4 GiB stretch of a file)
_DAY = 24 * 3600


def answer_key(secret: bytes, now: int) -> bytes:
    """The day's key for chunk hashes in answers (derived from the hub's secret, so every
    hub process of a deployment answers with the same key and a client keeps one index)."""
    return keyed_hash(keyed_hash(bytes(32), secret), b"xet-dedup-%d" % (now // _DAY))


def answer_expiry(now: int) -> int:
    return (now // _DAY) * _DAY + _DAY + ANSWER_TTL


def dedup_answer(store: Store, chunk_hash: str, *, key: bytes, now: int) -> bytes | None:
    """The shard answering a query for ``chunk_hash``, or None when the hub does not know it."""
    with store.read() as s:
        row = s.execute(
            select(m.XetChunk.xorb_hash, m.XetChunk.shard_sha256).where(m.XetChunk.hash == chunk_hash)
        ).first()
    if row is None:
        return None
    xorb_hash, shard_sha256 = row
    wanted = [xorb_hash]
    if shard_sha256 is not None and store.blobs.exists(shard_sha256):
        listed = parse_shard(store.blobs.read(shard_sha256)).xorbs
        wanted += [hash_to_hex(x.xorb_hash) for x in listed][: MAX_ANSWER_XORBS - 1]
    records = load_xorbs(store, wanted)
    ordered = [records[h] for h in dict.fromkeys(wanted) if h in records]
    if not ordered:
        return None
    return write_xorb_shard(
        [_xorb_info(x) for x in ordered], key=key, created=now, expires=answer_expiry(now)
    )


def _xorb_info(xorb: XorbRecord) -> XorbInfo:
    entries = []
    position = 0
    for chunk in xorb.chunks:
        entries.append(XorbChunkEntry(chunk.hash, position, chunk.size))
        position += chunk.size
    return XorbInfo(hex_to_hash(xorb.hash), tuple(entries), position, xorb.size)
