"""The parts of a multipart git-LFS upload, kept where every hub process finds them.

Behind a load balancer each part of one upload, and its completion, may land on another
hub process. With a local blob store the processes share the data folder, so parts are
written at their offset into one staging file in its temporary folder and completing is one
hashing pass and a rename. With a remote store (S3) the bucket is all that processes on
different machines share: each part becomes an object ``ROOT/multipart/<oid>/<part>``, and
completing reads them back in order, hashing, into the blob. The parts go once it is stored.

>>> staging = PartStaging(store.blobs, oid, size=size, chunk=chunk)   # doctest: +SKIP
>>> await staging.receive(1, request.stream())                          # doctest: +SKIP
>>> staging.complete()                                                  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from workbench.errors import IntegrityError, InvalidRequest, PayloadTooLarge
from workbench.store.blobs import CHUNK, MULTIPART_DIR, BlobInfo, BlobStore


def _write_at(path: Path, offset: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        view = memoryview(data)
        while view:  # a nearly full disk takes part of a write before it refuses the rest
            written = os.pwrite(fd, view, offset)
            view, offset = view[written:], offset + written
    finally:
        os.close(fd)


def _mark(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a mark that exists means its part was received."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class PartStaging:
    """One multipart upload of ``size`` bytes of content ``oid`` in parts of ``chunk`` bytes."""

    def __init__(self, blobs: BlobStore, oid: str, *, size: int, chunk: int) -> None:
        self.blobs = blobs
        self.oid = oid
        self.size = size
        self.chunk = chunk
        self.parts = max(1, -(-size // chunk))
        tmp = blobs.tmp_dir
        self._staging = tmp / f"multipart-{oid}"  # local store: one file, parts at their offsets
        self._marks = tmp / f"multipart-{oid}.parts"  # and a mark per part received
        self._prefix = f"{blobs.root}/{MULTIPART_DIR}/{oid}"  # remote store: an object per part

    def expected(self, part: int) -> int:
        """Bytes part ``part`` holds; InvalidRequest for a part the upload does not have."""
        if not 1 <= part <= self.parts:
            raise InvalidRequest(f"Part {part} out of range 1..{self.parts}.", code="InvalidPart")
        return min(self.chunk, self.size - (part - 1) * self.chunk)

    async def receive(self, part: int, chunks: AsyncIterator[bytes]) -> int:
        """Store part ``part`` from a request body; returns its size."""
        expected = self.expected(part)
        if self.blobs.local:
            received = await self._receive_local(part, expected, chunks)
        else:
            received = await self._receive_remote(part, expected, chunks)
        if received != expected:
            message = f"Part {part} must be {expected} bytes, got {received}."
            raise InvalidRequest(message, code="SizeMismatch")
        return received

    async def _receive_local(self, part: int, expected: int, chunks: AsyncIterator[bytes]) -> int:
        self._marks.mkdir(parents=True, exist_ok=True)
        offset = (part - 1) * self.chunk
        received = 0
        buf = bytearray()
        async for data in chunks:
            buf += data
            if received + len(buf) > expected:
                raise InvalidRequest(f"Part {part} must be {expected} bytes.", code="SizeMismatch")
            if len(buf) >= CHUNK:
                block = bytes(buf)
                buf.clear()
                await anyio.to_thread.run_sync(_write_at, self._staging, offset + received, block)
                received += len(block)
        if buf:
            await anyio.to_thread.run_sync(_write_at, self._staging, offset + received, bytes(buf))
            received += len(buf)
        if received == expected:
            _mark(self._marks / str(part), str(received))
        return received

    async def _receive_remote(self, part: int, expected: int, chunks: AsyncIterator[bytes]) -> int:
        try:
            path = await self.blobs.spool_stream(chunks, limit=expected)
        except PayloadTooLarge:
            raise InvalidRequest(f"Part {part} must be {expected} bytes.", code="SizeMismatch") from None
        try:
            received = path.stat().st_size
            if received == expected:  # one PUT: other processes see the whole part or none
                await anyio.to_thread.run_sync(self.blobs.fs.put_file, str(path), f"{self._prefix}/{part}")
            return received
        finally:
            path.unlink(missing_ok=True)

    def missing(self) -> list[int]:
        """The parts not received (whole) yet."""
        if self.blobs.local:
            return [n for n in range(1, self.parts + 1) if not (self._marks / str(n)).exists()]
        sizes = {path.rsplit("/", 1)[-1]: int(info["size"]) for path, info in self._objects().items()}
        return [n for n in range(1, self.parts + 1) if sizes.get(str(n)) != self.expected(n)]

    def complete(self) -> BlobInfo:
        """Put the parts together into the blob ``oid`` (checked against it) and remove them.

        InvalidRequest ``MissingParts`` while parts are missing; IntegrityError when the parts
        do not hash to ``oid``.
        """
        missing = self.missing()
        if missing:
            message = f"Parts {missing[:10]} of {self.oid} were not uploaded."
            raise InvalidRequest(message, code="MissingParts")
        try:
            if self.blobs.exists(self.oid):  # another upload of the same content finished first
                info = BlobInfo(self.oid, self.size, None)
            elif self.blobs.local:
                info = self.blobs.adopt_file(self._staging, expected_sha256=self.oid, expected_size=self.size)
            else:
                info = self._assemble()
        except IntegrityError:
            self.discard()  # parts that do not make ``oid`` are of no use to a retry
            raise
        # Any other failure (the store down, a full disk) keeps the parts: the client's retry
        # of the completion finds them (those never completed are swept after a day).
        self.discard()
        return info

    def _assemble(self) -> BlobInfo:
        sink = self.blobs.new_sink(limit=self.size)
        try:
            for n in range(1, self.parts + 1):
                with self.blobs.fs.open(f"{self._prefix}/{n}", "rb", block_size=CHUNK) as f:
                    while data := f.read(CHUNK):
                        sink.write(data)
        except BaseException:
            sink.discard()
            raise
        return self.blobs.publish(sink, expected_sha256=self.oid, expected_size=self.size)

    def discard(self) -> None:
        """Remove whatever was staged for this upload."""
        if self.blobs.local:
            self._staging.unlink(missing_ok=True)
            for p in self._marks.glob("*"):
                p.unlink(missing_ok=True)
            if self._marks.exists():
                self._marks.rmdir()
        elif objects := list(self._objects()):
            self.blobs.fs.rm(objects)

    def _objects(self) -> dict[str, dict[str, Any]]:
        """The part objects in a remote store, with their details (size)."""
        return dict(self.blobs.fs.find(self._prefix, detail=True))
