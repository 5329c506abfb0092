"""Streaming parser of the NDJSON commit body (docs/hf-protocol.md, "The commit body").

Inline files arrive base64-encoded inside one JSON line, so a 1 GiB file is a 1.4 GB line.
Short lines are parsed with ``json``; a line that grows past ``max_line`` while its
``content`` value is still open is decoded on the fly into the blob store, so memory stays
bounded whatever the file size.

>>> async for op in parse_commit_body(request.stream(), store.blobs): ...   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from workbench.errors import InvalidRequest, PayloadTooLarge
from workbench.store.blobs import BlobInfo, BlobStore

MAX_LINE = 16 * 1024 * 1024
_STREAM_PREFIX = re.compile(rb'^\s*\{\s*"key"\s*:\s*"file"\s*,\s*"value"\s*:\s*\{\s*"content"\s*:\s*"')


@dataclass(frozen=True)
class Line:
    """One parsed line; for streamed files ``value['content']`` is replaced by ``blob``."""

    number: int
    key: str
    value: dict[str, Any]
    blob: BlobInfo | None = None


def _bad(number: int, why: str) -> InvalidRequest:
    return InvalidRequest(f"Malformed NDJSON commit body, line {number}: {why}.", code="MalformedCommit")


def parse_line(number: int, raw: bytes) -> Line | None:
    if not raw.strip():
        return None
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(number, f"not JSON ({exc})") from None
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("key"), str)
        or not isinstance(obj.get("value"), dict)
    ):
        raise _bad(number, 'expected {"key": ..., "value": {...}}')
    return Line(number, obj["key"], obj["value"])


class _B64Stream:
    """Incremental base64 decoder feeding a blob sink (in a worker thread)."""

    def __init__(self, blobs: BlobStore, limit: int) -> None:
        self.sink = blobs.new_sink(limit=limit)
        self.pending = b""
        self.blobs = blobs

    async def feed(self, data: bytes) -> None:
        data = (self.pending + data).replace(b"\\/", b"/")
        if data.endswith(b"\\"):
            data, keep = data[:-1], b"\\"
        else:
            keep = b""
        cut = len(data) - len(data) % 4
        self.pending = data[cut:] + keep
        if cut:
            try:
                decoded = base64.b64decode(data[:cut], validate=True)
            except binascii.Error:
                raise InvalidRequest(
                    "Inline file content is not valid base64.", code="MalformedCommit"
                ) from None
            await anyio.to_thread.run_sync(self.sink.write, decoded)

    async def finish(self) -> BlobInfo:
        if self.pending:
            raise InvalidRequest(
                "Inline file content is not valid base64 (bad length).", code="MalformedCommit"
            )
        return await anyio.to_thread.run_sync(self.blobs.publish, self.sink)

    def discard(self) -> None:
        self.sink.discard()


async def parse_commit_body(
    chunks: AsyncIterator[bytes],
    blobs: BlobStore,
    *,
    limit: int,
    max_line: int = MAX_LINE,
    on_line: Callable[[Line], Awaitable[None]],
) -> None:
    """Parse the body and call ``on_line`` for each line, in order."""
    buf = bytearray()
    number = 1
    total = 0
    streaming: _B64Stream | None = None
    tail = bytearray()  # the rest of a streamed line after its content

    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise PayloadTooLarge(
                    f"Commit body exceeds the {limit} bytes allowed; upload "
                    "large files through git-LFS or raise max_body_bytes."
                )
            data = bytes(chunk)
            while data:
                if streaming is not None and not tail:
                    quote = data.find(b'"')
                    if quote < 0:
                        await streaming.feed(data)
                        data = b""
                        continue
                    await streaming.feed(data[:quote])
                    tail += b'"'
                    data = data[quote + 1 :]
                    continue
                if streaming is not None:
                    nl = data.find(b"\n")
                    if nl < 0:
                        tail += data
                        if len(tail) > max_line:
                            raise _bad(number, "line too long after content")
                        data = b""
                        continue
                    tail += data[:nl]
                    data = data[nl + 1 :]
                    blob = await streaming.finish()
                    streaming = None
                    line = parse_line(number, b'{"key":"file","value":{"content":"' + bytes(tail))
                    tail.clear()
                    assert line is not None
                    await on_line(Line(number, line.key, line.value, blob))
                    number += 1
                    continue
                nl = data.find(b"\n")
                if nl < 0:
                    buf += data
                    data = b""
                    if len(buf) > max_line:
                        match = _STREAM_PREFIX.match(buf)
                        if not match:
                            raise _bad(
                                number,
                                f"line longer than {max_line} bytes whose first "
                                "field is not the file content",
                            )
                        rest = bytes(buf[match.end() :])
                        buf.clear()
                        streaming = _B64Stream(blobs, limit)
                        data = rest
                    continue
                buf += data[:nl]
                data = data[nl + 1 :]
                line = parse_line(number, bytes(buf))
                buf.clear()
                if line is not None:
                    await on_line(line)
                number += 1
        if streaming is not None:
            raise _bad(number, "body ended inside a file's content")
        line = parse_line(number, bytes(buf))
        if line is not None:
            await on_line(line)
    finally:
        if streaming is not None:
            streaming.discard()
