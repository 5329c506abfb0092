"""A file's bytes, wherever the store keeps them: a whole blob, or a Xet file rebuilt from its
xorbs.

Files the stock client uploads through Xet are stored as chunks only; git-LFS and inline
uploads (and everything the hub writes itself) are whole blobs. The hub's own readers (the
dataset viewer, paper text, cards, ``.gitattributes``) ask here, never the blob store
directly, so both kinds read the same.

>>> read_bytes(store, entry)[:4]                         # doctest: +SKIP
b'PAR1'
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from workbench.store import xet_cas
from workbench.store.store import Store
from workbench.store.trees import TreeEntry

COPY_CHUNK = 4 * 1024 * 1024


def _xet_only(store: Store, entry: TreeEntry) -> bool:
    return entry.xet_hash is not None and not store.blobs.exists(entry.sha256)


def iter_bytes(store: Store, entry: TreeEntry) -> Iterator[bytes]:
    """The file's bytes, a piece at a time (memory stays bounded for large files)."""
    if _xet_only(store, entry):
        assert entry.xet_hash is not None
        yield from xet_cas.iter_file_bytes(store, entry.xet_hash)
        return
    with store.blobs.open(entry.sha256) as f:
        while piece := f.read(COPY_CHUNK):
            yield piece


def read_bytes(store: Store, entry: TreeEntry) -> bytes:
    """The whole file in memory: for small files (cards, PDFs under their size limit)."""
    if _xet_only(store, entry):
        return b"".join(iter_bytes(store, entry))
    return store.blobs.read(entry.sha256)


def read_range(store: Store, entry: TreeEntry, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of the file, clipped to its size: a header or a footer without
    the rest (a Xet file rebuilds only the chunks that hold the range).

    >>> read_range(store, entry, entry.size - 8, entry.size)[-4:]   # doctest: +SKIP
    b'PAR1'
    """
    end = min(end, entry.size)
    if start < 0 or start >= end:
        return b""
    if _xet_only(store, entry):
        assert entry.xet_hash is not None
        return b"".join(xet_cas.iter_file_bytes(store, entry.xet_hash, start, end - 1))
    with store.blobs.open(entry.sha256) as f:
        f.seek(start)
        return f.read(end - start)


def local_path(store: Store, entry: TreeEntry) -> Path | None:
    """A path of the file on this machine when the blob store keeps it whole there."""
    return None if _xet_only(store, entry) else store.blobs.local_path(entry.sha256)


def copy_to(store: Store, entry: TreeEntry, dest: Path) -> None:
    """Write the file to ``dest`` (through a temporary name, so ``dest`` is whole or absent)."""
    tmp = dest.with_name(f".{dest.name}.partial")
    with open(tmp, "wb") as out:
        if _xet_only(store, entry):
            for piece in iter_bytes(store, entry):
                out.write(piece)
        else:
            with store.blobs.open(entry.sha256) as src:
                shutil.copyfileobj(src, out, COPY_CHUNK)
    tmp.replace(dest)
