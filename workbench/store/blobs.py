"""Content-addressed blob store over fsspec (a local folder by default, or s3:// etc.).

Bytes are streamed to a temporary file while being hashed, verified against what the
client declared, then moved into place under their SHA-256: renamed in a local folder,
uploaded (multipart from ``PART`` bytes on) and removed from the temporary folder in a
bucket. Writing the same content twice is a no-op, so blobs are deduplicated across all repos.

>>> store = BlobStore("/tmp/wb/blobs", tmp_dir="/tmp/wb/tmp")   # doctest: +SKIP
>>> info = store.ingest_bytes(b"hello")                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import anyio
import fsspec
from fsspec.implementations.local import LocalFileSystem

from workbench.config import HubSettings
from workbench.errors import IntegrityError, PayloadTooLarge, ServiceUnavailable

CHUNK = 4 * 1024 * 1024
# Remote stores (S3): objects from 2 * PART bytes on go up in parts of PART bytes, at most
# PUT_CONCURRENCY at a time, so an upload holds PART * PUT_CONCURRENCY bytes in memory.
PART = 8 * 1024 * 1024
PUT_CONCURRENCY = 4
_S3_MAX_PARTS = 10_000
# Remote stores: the parts of multipart git-LFS uploads in progress (workbench.store.multipart).
MULTIPART_DIR = "multipart"


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    git_oid: str | None


class _Sink:
    """Writes chunks to a temporary file while computing SHA-256 (and the git blob id)."""

    def __init__(
        self, tmp_dir: Path, *, git_size: int | None, limit: int | None, hashed: bool = True
    ) -> None:
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        self.path = Path(name)
        self.file: IO[bytes] = os.fdopen(fd, "wb")
        self.sha = hashlib.sha256() if hashed else None
        self.git = hashlib.sha1(b"blob %d\x00" % git_size) if git_size is not None else None
        self.size = 0
        self.limit = limit

    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self.limit is not None and self.size > self.limit:
            raise PayloadTooLarge(f"Upload larger than the {self.limit} bytes allowed.")
        if self.sha is not None:
            self.sha.update(data)
        if self.git is not None:
            self.git.update(data)
        self.file.write(data)

    def finish(self, *, durable: bool) -> None:
        self.file.flush()
        if durable:
            os.fsync(self.file.fileno())
        self.file.close()

    def discard(self) -> None:
        try:
            if not self.file.closed:
                self.file.close()  # flushes what is buffered: may fail again on a full disk
        except OSError:
            pass
        finally:
            self.path.unlink(missing_ok=True)


async def _fill(sink: _Sink, chunks: AsyncIterator[bytes]) -> None:
    """Write an async body to ``sink`` in pieces of ``CHUNK``, the disk writes in a worker thread."""
    buf = bytearray()
    async for chunk in chunks:
        buf += chunk
        if len(buf) >= CHUNK:
            data, buf = bytes(buf), bytearray()
            await anyio.to_thread.run_sync(sink.write, data)
    if buf:
        await anyio.to_thread.run_sync(sink.write, bytes(buf))


def _s3_options(url: str, timeout: float | None) -> dict[str, object]:
    """What s3fs needs beyond the operator's AWS_* settings, for an ``s3://`` URL."""
    if fsspec.utils.get_protocol(url) not in ("s3", "s3a"):
        return {}
    # SigV4 presigned URLs (X-Amz-Expires), which every AWS region and MinIO accept, added to
    # any botocore config the operator gave (FSSPEC_S3_CONFIG_KWARGS); no listings cache:
    # other hub processes write to the same bucket.
    config = dict(fsspec.config.conf.get("s3", {}).get("config_kwargs") or {})
    config.setdefault("signature_version", "s3v4")
    options: dict[str, object] = {"config_kwargs": config, "use_listings_cache": False}
    if timeout is not None:
        # botocore waits 60 s a try and retries, and s3fs retries botocore's timeouts five
        # times more: a bucket that stops answering held a download for many minutes. One
        # bounded wait, tried twice, then the request's 503.
        config.setdefault("connect_timeout", timeout)
        config.setdefault("read_timeout", timeout)
        config.setdefault("retries", {"total_max_attempts": 2, "mode": "standard"})
    return options


def part_size(size: int) -> int:
    """The part size for a multipart upload of ``size`` bytes to S3: ``PART``, or more where
    S3's limit of 10,000 parts would not hold the object."""
    return max(PART, math.ceil(size / _S3_MAX_PARTS))


def list_blobs(fs: Any, root: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every blob under ``root`` (a file named by its SHA-256) with what the listing says of
    it (``size``, a date), from one listing: on object storage a call per thousand objects,
    where asking about each blob would be a round trip each; none when ``root`` is absent."""
    for path, info in fs.find(root, detail=True).items():
        name = path.rsplit("/", 1)[-1]
        if len(name) == 64 and info.get("type", "file") == "file":
            yield name, info


class BlobStore:
    def __init__(
        self, url: str, *, tmp_dir: str | Path, durable: bool = True, timeout: float | None = None
    ) -> None:
        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url, **_s3_options(url, timeout))
        self.root = root.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.s3 = "s3" in protocols  # presigned URLs, multipart puts, ranged reads
        if self.s3 and timeout is not None:
            self.fs.retries = 1  # botocore's tries only (see _s3_options)
        self.tmp_dir = Path(tmp_dir)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.durable = durable
        if self.local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_hub(cls, settings: HubSettings, *, bounded: bool = True) -> BlobStore:
        """The blob store ``settings`` name, its temporary folder in the data folder.

        ``bounded``: requests wait at most ``storage_timeout_seconds``, as serving needs; not
        for a restore, whose server-side copy of a large blob is one long request.
        """
        tmp = Path(settings.data_dir).absolute() / "tmp"
        timeout = settings.storage_timeout_seconds if bounded else None
        return cls(settings.resolved_storage_url(), tmp_dir=tmp, timeout=timeout)

    # -- naming ---------------------------------------------------------------------------
    def key(self, sha256: str) -> str:
        return f"{self.root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def local_path(self, sha256: str) -> Path | None:
        return Path(self.key(sha256)) if self.local else None

    def exists(self, sha256: str) -> bool:
        return bool(self.fs.exists(self.key(sha256)))

    def size(self, sha256: str) -> int:
        return int(self.fs.size(self.key(sha256)))

    def open(self, sha256: str) -> IO[bytes]:
        if self.s3:
            # Read as a download goes, CHUNK ahead, not s3fs's default 50 MiB blocks.
            return self.fs.open(self.key(sha256), "rb", block_size=CHUNK, cache_type="readahead")
        return self.fs.open(self.key(sha256), "rb")

    def presigned_url(self, sha256: str, *, expires: int) -> str | None:
        """A URL the storage itself serves the blob at (Range included) for ``expires``
        seconds, or None when it has none (a local folder).

        >>> store.presigned_url(sha, expires=300)      # doctest: +SKIP
        'https://bucket.s3.amazonaws.com/prefix/ab/cd/abcd...?X-Amz-Expires=300&...'
        """
        if not self.s3:
            return None
        return str(self.fs.sign(self.key(sha256), expiration=expires))

    def check(self) -> None:
        """Write and remove a probe object, so that a bucket that does not exist or
        credentials that do not work show at start-up; raises what the file system raises
        (FileNotFoundError, PermissionError, ...)."""
        if self.local:
            return
        probe = f"{self.root}/.probe-{uuid.uuid4().hex}"
        self.fs.pipe_file(probe, b"")
        self.fs.rm_file(probe)

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    def iter_all(self) -> Iterator[str]:
        for path in self.fs.find(self.root):
            name = path.rsplit("/", 1)[-1]
            if len(name) == 64:
                yield name

    def sizes(self) -> dict[str, int]:
        """The size of every stored blob, from one listing (:func:`list_blobs`)."""
        return {sha: int(info.get("size") or 0) for sha, info in list_blobs(self.fs, self.root)}

    # -- writing --------------------------------------------------------------------------
    def new_sink(
        self, *, git_size: int | None = None, limit: int | None = None, hashed: bool = True
    ) -> _Sink:
        return _Sink(self.tmp_dir, git_size=git_size, limit=limit, hashed=hashed)

    def publish(
        self, sink: _Sink, *, expected_sha256: str | None = None, expected_size: int | None = None
    ) -> BlobInfo:
        """Verify a finished sink and move it into place; on mismatch nothing is kept."""
        try:
            sink.finish(durable=self.durable and self.local)  # a bucket keeps its own copy durable
            assert sink.sha is not None, "publish needs a hashed sink"
            sha = sink.sha.hexdigest()
            if expected_size is not None and sink.size != expected_size:
                raise IntegrityError(
                    f"Size mismatch: declared {expected_size} bytes, received {sink.size}.",
                    code="SizeMismatch",
                )
            if expected_sha256 is not None and sha != expected_sha256:
                raise IntegrityError(
                    f"Hash mismatch: declared sha256 {expected_sha256}, received content hashes to {sha}.",
                    code="HashMismatch",
                )
            info = BlobInfo(sha, sink.size, sink.git.hexdigest() if sink.git else None)
            self._move_into_place(sink.path, sha)
            return info
        finally:
            sink.discard()

    def _move_into_place(self, tmp: Path, sha256: str) -> None:
        key = self.key(sha256)
        if self.local:
            Path(key).parent.mkdir(parents=True, exist_ok=True)
            if not os.path.exists(key):
                os.replace(tmp, key)  # atomic: readers see nothing or the whole blob
            return
        if self.fs.exists(key):
            return
        try:
            if self.s3:
                part = part_size(tmp.stat().st_size)
                self.fs.put_file(str(tmp), key, chunksize=part, max_concurrency=PUT_CONCURRENCY)
            else:
                self.fs.put_file(str(tmp), key)
        except Exception as exc:
            # A bucket's 500 ("InternalError: please retry") or a multipart upload it lost
            # comes back from s3fs as a bare OSError or FileNotFoundError: the store failed,
            # not the request, and a PUT either completes or leaves no object.
            raise ServiceUnavailable(
                f"The blob store did not take the file ({type(exc).__name__}: {exc}); nothing "
                "was stored. Retry shortly.",
                code="StorageUnavailable",
            ) from exc

    def ingest_bytes(self, data: bytes, *, expected_sha256: str | None = None, git: bool = True) -> BlobInfo:
        sink = self.new_sink(git_size=len(data) if git else None)
        try:
            sink.write(data)
        except BaseException:
            sink.discard()
            raise
        return self.publish(sink, expected_sha256=expected_sha256)

    def ingest_file(
        self,
        path: Path,
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
        git: bool = False,
    ) -> BlobInfo:
        size = path.stat().st_size
        sink = self.new_sink(git_size=size if git else None)
        try:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    sink.write(chunk)
        except BaseException:
            sink.discard()
            raise
        return self.publish(sink, expected_sha256=expected_sha256, expected_size=expected_size)

    def adopt_file(
        self,
        path: Path,
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
        key: str | None = None,
    ) -> BlobInfo:
        """Hash a finished temporary file in ``tmp_dir`` and move it into place, consuming it.

        One read pass and a rename instead of :meth:`ingest_file`'s copy: for a 1 GiB
        multipart upload that is 1 GiB less to write and fsync. With ``key`` (64 hex digits)
        the file is kept under that name unread: for content the caller has verified by a hash
        of its own, such as a xorb by its Xet hash (``BlobInfo.sha256`` is then that key).
        """
        try:
            size = path.stat().st_size
            if expected_size is not None and size != expected_size:
                raise IntegrityError(
                    f"Size mismatch: declared {expected_size} bytes, received {size}.", code="SizeMismatch"
                )
            sha = hashlib.sha256()
            with open(path, "rb") as f:
                while key is None and (chunk := f.read(CHUNK)):
                    sha.update(chunk)
                if self.durable and self.local:
                    os.fsync(f.fileno())
            digest = key or sha.hexdigest()
            if expected_sha256 is not None and digest != expected_sha256:
                raise IntegrityError(
                    f"Hash mismatch: declared sha256 {expected_sha256}, received content hashes to {digest}.",
                    code="HashMismatch",
                )
            self._move_into_place(path, digest)
            return BlobInfo(digest, size, None)
        finally:
            path.unlink(missing_ok=True)

    async def ingest_stream(
        self,
        chunks: AsyncIterator[bytes],
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
        git: bool = False,
        limit: int | None = None,
    ) -> BlobInfo:
        """Stream an async body into the store; hashing and disk writes run in a worker thread."""
        if expected_size is not None and limit is not None and expected_size > limit:
            raise PayloadTooLarge(f"Declared size {expected_size} exceeds the {limit} bytes allowed.")
        cap = expected_size if expected_size is not None else limit
        sink = self.new_sink(git_size=expected_size if git else None, limit=cap)
        try:
            await _fill(sink, chunks)
        except PayloadTooLarge:
            sink.discard()
            if expected_size is None:
                raise
            # the cap was the declared size: the client sent more than it announced
            raise IntegrityError(
                f"Size mismatch: declared {expected_size} bytes, received more.", code="SizeMismatch"
            ) from None
        except BaseException:
            sink.discard()
            raise
        return await anyio.to_thread.run_sync(
            lambda: self.publish(sink, expected_sha256=expected_sha256, expected_size=expected_size)
        )

    async def spool_stream(self, chunks: AsyncIterator[bytes], *, limit: int) -> Path:
        """Stream an async body to a temporary file in ``tmp_dir`` and return its path, for a
        caller that checks the bytes before it keeps them (:meth:`adopt_file`) or removes it.

        PayloadTooLarge past ``limit`` bytes; nothing is left behind on any error.
        """
        sink = self.new_sink(limit=limit, hashed=False)  # its checker hashes what it keeps
        try:
            await _fill(sink, chunks)
            sink.finish(durable=False)  # adopt_file syncs what is kept
        except BaseException:
            sink.discard()
            raise
        return sink.path

    def cleanup_tmp(self, *, older_than: float = 6 * 3600) -> int:
        """Remove temporary files a crash left behind; returns how many were removed.

        Only files older than ``older_than`` seconds go: other hub processes sharing this
        data folder may be writing the younger ones right now.
        """
        import time

        cutoff = time.time() - older_than
        n = 0
        stale_multipart = time.time() - max(older_than, 24 * 3600)  # signed URLs live 24 h
        for p in [*self.tmp_dir.glob("upload-*"), *self.tmp_dir.glob("multipart-*")]:
            try:
                if p.stat().st_mtime >= (stale_multipart if p.name.startswith("multipart-") else cutoff):
                    continue
                if p.is_dir():
                    for part in p.iterdir():
                        part.unlink()
                    p.rmdir()
                else:
                    p.unlink()
                n += 1
            except FileNotFoundError:
                continue
        if not self.local:
            n += self._cleanup_parts(stale_multipart)
        return n

    def _cleanup_parts(self, cutoff: float) -> int:
        """Part objects of multipart uploads that were never completed (their URLs expired)."""
        found = self.fs.find(f"{self.root}/{MULTIPART_DIR}", detail=True)
        stale = [
            path
            for path, info in found.items()
            if hasattr(info.get("LastModified"), "timestamp") and info["LastModified"].timestamp() < cutoff
        ]
        if stale:
            self.fs.rm(stale)
        return len(stale)
