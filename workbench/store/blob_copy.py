"""Copying many blobs from one file system to another (a backup, a restore): a few at a time,
and server-side where both are one S3 endpoint used as one identity.

A server-side copy (S3's ``CopyObject``, or ``UploadPartCopy`` past 5 GiB, through s3fs's
``cp_file``) moves no byte through this process. It is one request, signed with the
destination's credentials, that reads the source object and writes the destination: it is
only sure to be allowed when the keys that read the source and the keys that write the
destination are the very same keys on the very same endpoint (:func:`same_s3_identity`). Where
a copy is refused all the same (a bucket policy that denies copies, a requester-pays bucket),
the blobs are streamed instead. Any other file systems, or other keys: streamed (a ranged
GET, a multipart PUT), a destination object or local file never visible half written.

>>> copy_blobs(store.blobs.fs, folder.fs, [BlobCopy(src, dst, size)], total=10)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import chain
from typing import Any

import fsspec.asyn
from fsspec.implementations.local import LocalFileSystem

from workbench.errors import ServiceUnavailable
from workbench.store.blobs import part_size
from workbench.store.fsck import progress_bar

log = logging.getLogger(__name__)

# Blobs copied at once. A copy mostly waits on the storage (one CopyObject, or a GET feeding a
# multipart PUT), so one at a time leaves the endpoint idle between requests; a few keep it
# busy. More would hold more memory for streamed copies (a part and a read chunk each) and pass
# botocore's default of 10 connections per S3 client, where requests queue for a connection.
CONCURRENCY = 8
# A streamed copy reads this much at a time (one ranged GET on object storage).
COPY_CHUNK = 8 * 1024 * 1024
# The caller's heartbeat runs at least this often while copies run (a large blob takes long).
TICK_SECONDS = 10.0


@dataclass(frozen=True)
class BlobCopy:
    """One blob to copy: its path on the source and on the destination file system."""

    src: str
    dst: str
    size: int


def _is_s3(fs: Any) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "s3" in protocols


def _identity(fs: Any) -> tuple[Any, ...] | None:
    """The endpoint and the resolved keys an S3 file system signs its requests with; None for
    anything else, or for anonymous access."""
    if not _is_s3(fs) or getattr(fs, "anon", False):
        return None
    client = fs.s3  # connects: the keys come from the arguments, the environment or a profile
    # botocore's own accessor (private); without it, or without keys, copies are streamed.
    accessor = getattr(client, "_get_credentials", None)
    credentials = accessor() if accessor is not None else None
    if credentials is None:
        return None
    frozen = fsspec.asyn.sync(fs.loop, credentials.get_frozen_credentials)
    return (client.meta.endpoint_url, frozen.access_key, frozen.secret_key, frozen.token)


def same_s3_identity(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are S3 file systems on the same endpoint with the same keys
    (and session token), so that a copy between their buckets can run server-side.

    Same keys mean same principal: it reads ``a``'s objects and writes ``b``'s when streaming,
    and a server-side copy asks nothing more. Merely the same endpoint is not enough (other keys
    may not read the source), nor the same bucket names on other endpoints.

    >>> same_s3_identity(store.blobs.fs, fsspec.core.url_to_fs("s3://backups")[0])  # doctest: +SKIP
    True
    """
    ours = _identity(a)
    return ours is not None and ours == _identity(b)


def _stream(src_fs: Any, job: BlobCopy, dst_fs: Any) -> None:
    """Copy one file through this process; the destination is whole or absent (a local file
    is renamed into place; an object store makes an object visible only once complete)."""
    local = isinstance(dst_fs, LocalFileSystem)
    target = f"{job.dst}.partial" if local else job.dst
    if local:
        dst_fs.makedirs(job.dst.rsplit("/", 1)[0], exist_ok=True)
    try:
        if local and isinstance(src_fs, LocalFileSystem):
            # file to file: the kernel copies (copy_file_range or sendfile), no byte through here
            shutil.copyfile(job.src, target)
        else:
            # Bounded buffers (a read chunk, a part), not s3fs's 50 MiB blocks: CONCURRENCY at once.
            with (
                src_fs.open(job.src, "rb", block_size=COPY_CHUNK, cache_type="none") as fin,
                dst_fs.open(target, "wb", block_size=part_size(job.size)) as fout,
            ):
                shutil.copyfileobj(fin, fout, COPY_CHUNK)
        if local:
            dst_fs.mv(target, job.dst)
    except BaseException:
        if local:
            try:
                dst_fs.rm_file(target)
            except FileNotFoundError:
                pass
        raise


class _Copier:
    """Copies one blob at a time per thread: server-side while the storage allows it."""

    def __init__(self, src_fs: Any, dst_fs: Any) -> None:
        self.src_fs = src_fs
        self.dst_fs = dst_fs
        self.server_side = same_s3_identity(src_fs, dst_fs)
        self._lock = threading.Lock()

    def copy(self, job: BlobCopy) -> None:
        if self.server_side:
            try:
                # The destination's file system writes, with its settings (encryption, ...).
                self.dst_fs.cp_file(job.src, job.dst)
                return
            except PermissionError as exc:
                self._stop_server_side(exc)
        _stream(self.src_fs, job, self.dst_fs)

    def _stop_server_side(self, exc: PermissionError) -> None:
        with self._lock:
            if self.server_side:
                log.warning("server-side copies refused (%s); streaming the blobs instead", exc)
                self.server_side = False


def _run(
    copier: _Copier, copies: Sequence[BlobCopy], tick: Callable[[], None], stopped: str
) -> Iterator[BlobCopy]:
    """Copy CONCURRENCY blobs at a time, yielding each once it is complete; ``tick`` runs in
    this thread between completions. The first failure stops the rest: copies not started are
    dropped, those running are awaited, then ``BlobCopyFailed`` is raised."""
    todo = iter(copies)
    running: dict[Future[None], BlobCopy] = {}
    with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="wb-blob-copy") as pool:
        try:
            while True:
                while len(running) < CONCURRENCY and (job := next(todo, None)) is not None:
                    running[pool.submit(copier.copy, job)] = job
                if not running:
                    return
                done, _ = wait(running, timeout=TICK_SECONDS, return_when=FIRST_COMPLETED)
                tick()
                for future in done:
                    job = running.pop(future)
                    try:
                        future.result()
                    except Exception as exc:
                        raise ServiceUnavailable(
                            f"Copying {job.src} to {job.dst} failed ({type(exc).__name__}: {exc}). {stopped}",
                            code="BlobCopyFailed",
                        ) from exc
                    yield job
        except BaseException:
            for future in running:
                future.cancel()
            raise


def copy_blobs(
    src_fs: Any,
    dst_fs: Any,
    copies: Sequence[BlobCopy],
    *,
    total: int,
    progress: bool = False,
    tick: Callable[[], None] = lambda: None,
    stopped: str = "",
) -> None:
    """Copy ``copies`` from ``src_fs`` to ``dst_fs``, several at a time, server-side where
    :func:`same_s3_identity` allows; returns once every copy is complete.

    The progress bar counts ``total`` blobs, those not in ``copies`` (already there) at once.
    ``tick`` runs in the calling thread at least every ``TICK_SECONDS`` (a lock's heartbeat).
    A failed copy raises ``BlobCopyFailed``, naming the blob and the cause and followed by
    ``stopped`` (what the caller leaves undone), once the copies under way have ended.
    """
    copier = _Copier(src_fs, dst_fs)
    log.info("copying %d blobs, %s", len(copies), "server-side" if copier.server_side else "streamed")
    finished = chain((None for _ in range(total - len(copies))), _run(copier, copies, tick, stopped))
    for _ in progress_bar(finished, progress, "blobs", total=total):
        pass
