"""Downloads for :class:`~workbench.client.HubClient`: files of one commit, checked.

Resolve the revision to one commit, stream each file's raw body to a temporary name, check
size (and SHA-256 for LFS), rename. Files that came to the hub through Xet (a ``xetHash``
in the listing) are rebuilt by ``hf_xet`` from the hub's CAS instead, as ``huggingface_hub``
does, when :func:`xet_transfer.enabled` and the hub gives a Xet read token; their SHA-256 is
checked once they are written. From a plain-http hub the body is read with
``http.client`` into reused buffers and hashed in a second thread; through ``httpx`` (https,
proxies, redirects) writes and hashing run in worker threads. Either way receiving overlaps
hashing. With ``defer_check`` the SHA-256 is checked later, by :func:`check_deferred`, and
until then a marker beside the file says so (:func:`unchecked`).

>>> download.download(client, "me/tiny", None, repo_type="model", revision="main",
...                   local_dir=Path("tiny"))                            # doctest: +SKIP
[PosixPath('/.../tiny/config.json'), ...]
"""

from __future__ import annotations

import hashlib
import http.client
import os
import queue
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar
from urllib.parse import quote

import httpx

from workbench.client import xet_transfer
from workbench.client.http import ERROR_BODY_BYTES, TRANSFER_TIMEOUT, error_from_response
from workbench.client.progress import progress_bar
from workbench.errors import IntegrityError, InvalidRequest, WorkbenchError

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# Received pieces (what each recv returned, up to http.RECV_BYTES) go to the worker threads
# in batches of this many bytes; each worker runs at most QUEUE_DEPTH batches behind the
# network. (Why this size: bench/README.md, "Client transport".)
RECEIVE_BATCH = 1024 * 1024
QUEUE_DEPTH = 8
IOV_MAX = 1024
T = TypeVar("T")


def _target(root: Path, path: str) -> Path:
    """Where ``path`` lands under ``root``; refuse anything that would escape it."""
    parts = path.split("/") if isinstance(path, str) else [""]
    if (
        not path
        or path.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or (os.name == "nt" and ("\\" in path or ":" in path))
    ):
        raise InvalidRequest(f"Refusing to write {path!r}: it would land outside {root}.", code="UnsafePath")
    return root.joinpath(*parts)


def download(
    client: HubClient,
    repo_id: str,
    filenames: Sequence[str] | None,
    *,
    repo_type: str,
    revision: str,
    local_dir: Path,
    defer_check: bool = False,
) -> list[Path]:
    """Download files of one commit into ``local_dir``; every LFS file's SHA-256 is checked
    while it is received, or, with ``defer_check``, afterwards by :func:`check_deferred`
    (until then it is :func:`unchecked`)."""
    stats = client.last_transfer_stats = {"files": 0, "bytes_downloaded": 0, "xet_files": 0}
    # A branch or tag is pinned to one commit for all the files; a commit id already is one
    # (an unknown commit is the first file's RevisionNotFound).
    sha = (
        revision
        if _COMMIT.match(revision)
        else client.revision_sha(repo_id, type=repo_type, revision=revision)
    )
    total = None
    entries: dict[str, dict[str, Any]] = {}
    if filenames is None:
        entries = {e["path"]: e for e in client.list_files(repo_id, type=repo_type, revision=sha)}
        filenames = list(entries)
        total = sum(int(e.get("size") or 0) for e in entries.values())
    root = local_dir.absolute()
    targets = [(name, _target(root, name)) for name in filenames]
    xet = xet_transfer.download_plan(client, repo_id, repo_type, sha, filenames, entries)
    out = []
    with progress_bar(client.progress, total, "Downloading", force=True) as bar:
        if xet is not None:
            tok, xet_entries = xet
            if total is None:
                bar.total = sum(int(e["size"]) for e in xet_entries.values())
            _fetch_xet(tok, xet_entries, dict(targets), bar, defer_check=defer_check)
            stats["xet_files"] = len(xet_entries)
        for name, target in targets:
            if xet is not None and name in xet[1]:
                got = int(xet[1][name]["size"])
            else:
                url = client.web_path(repo_id, repo_type, "resolve", sha, quote(name, safe="/"))
                got = _fetch(
                    client, url, name, target, bar, grow_total=total is None, defer_check=defer_check
                )
            out.append(target)
            stats["files"] += 1
            stats["bytes_downloaded"] += got
    return out


def _fetch_xet(
    tok: xet_transfer.XetToken,
    entries: dict[str, dict[str, Any]],
    targets: dict[str, Path],
    bar: Any,
    *,
    defer_check: bool,
) -> None:
    """Rebuild Xet files with ``hf_xet`` into temporary names next to their targets, check
    each one's size and SHA-256 (or, with ``defer_check``, mark it for :func:`check_deferred`),
    rename them."""
    items: dict[str, xet_transfer.XetDownload] = {}
    try:
        for name, e in entries.items():
            target = targets[name]
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".incomplete")
            os.close(fd)
            items[name] = xet_transfer.XetDownload(e["xetHash"], int(e["size"]), Path(tmp))
        xet_transfer.download(tok, list(items.values()), on_progress=lambda done, _sent: bar.update(done))
        wants = {name: ((e.get("lfs") or {}).get("oid") or "").lower() for name, e in entries.items()}
        for name, item in items.items():
            got = item.dest.stat().st_size
            if got != item.size:
                raise IntegrityError(f"{name}: rebuilt {got} bytes, the hub announced {item.size}.")
            if not defer_check and _HEX64.match(wants[name]):
                _check_sha256(name, _file_sha256(item.dest), wants[name])
        for name, item in items.items():
            target = targets[name]
            deferred = defer_check and _HEX64.match(wants[name])
            if deferred:  # written before the file is in place, as in _fetch
                _marker(target).write_text(wants[name], encoding="ascii")
            os.replace(item.dest, target)
            if not deferred:
                _marker(target).unlink(missing_ok=True)
    except BaseException:
        for item in items.values():
            discard(item.dest)
        raise


class _Worker(Generic[T]):
    """Calls ``fn`` on each item put, in a thread, at most ``depth`` items behind.

    An error in ``fn`` is raised by the next :meth:`put` or by :meth:`close`; after one, the
    thread drains the queue without calling ``fn``, so a producer never blocks on it.
    ``after``, when given, is called on every item once ``fn`` is done with it (or skipped
    it), so that items that must be handed back (buffers) always are.
    """

    def __init__(
        self,
        fn: Callable[[T], object],
        name: str,
        depth: int = QUEUE_DEPTH,
        after: Callable[[T], object] | None = None,
    ) -> None:
        self._fn = fn
        self._after = after
        self._queue: queue.Queue[T | None] = queue.Queue(depth)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self._fn(item)
                except BaseException as exc:  # handed to the producer
                    self.error = exc
            if self._after is not None:
                self._after(item)

    def put(self, item: T) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(item)

    def close(self, *, check: bool = True) -> None:
        """Wait until every item put is done; then raise the first error, if any (unless
        ``check`` is false: the producer is already raising one of its own)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if check and self.error is not None:
            raise self.error


def _write_all(fd: int, pieces: Sequence[bytes | memoryview]) -> None:
    """Write ``pieces`` at the file's position with one ``writev`` (the usual case)."""
    total = sum(map(len, pieces))
    done = os.writev(fd, pieces) if len(pieces) <= IOV_MAX else 0
    if done < total:
        rest = memoryview(b"".join(pieces))[done:]
        while rest:
            rest = rest[os.write(fd, rest) :]


def _marker(target: Path) -> Path:
    """Next to a file received with ``defer_check``: the SHA-256 it must have. While it is
    there the file does not count as downloaded (a crash before the check leaves it)."""
    return target.with_name(f".{target.name}.unchecked")


def unchecked(target: Path) -> bool:
    """Whether ``target`` was received with ``defer_check`` and not checked since."""
    return _marker(target).exists()


def check_deferred(target: Path, *, remove: bool = True) -> None:
    """Hash a file received with ``defer_check`` and compare it with the hub's SHA-256: on a
    match the marker goes; else :class:`IntegrityError` is raised, once the file and its
    marker are gone (``remove``; else the caller calls :func:`discard` when nothing reads the
    file any more). A no-op for a file checked when it was received."""
    marker = _marker(target)
    try:
        want = marker.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return
    try:
        _check_sha256(target.name, _file_sha256(target), want)
    except IntegrityError:
        if remove:
            discard(target)
        raise
    marker.unlink()


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _check_sha256(name: str, got: str, want: str) -> None:
    if got != want:
        raise IntegrityError(f"{name}: SHA-256 {got} does not match the hub's {want}.")


def discard(target: Path) -> None:
    """Remove a downloaded file and its marker."""
    target.unlink(missing_ok=True)
    _marker(target).unlink(missing_ok=True)


def _fetch(
    client: HubClient,
    url: str,
    name: str,
    target: Path,
    bar: Any,
    *,
    grow_total: bool,
    defer_check: bool = False,
) -> int:
    """Stream one file to a temporary name next to ``target``, check it, rename it.

    From a plain-http hub the file comes through :func:`_fetch_direct`; otherwise (https, a
    proxy, a redirect, an encoded body) through ``httpx``, in :func:`_fetch_httpx`. With
    ``defer_check`` an LFS file is not hashed as it comes: its SHA-256 is written to its
    marker before it is renamed into place, for :func:`check_deferred`.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".incomplete")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb", buffering=0) as out:
            direct = (
                client.direct_downloads
                and client.url.startswith("http://")
                and not url.startswith(("http://", "https://"))
            )
            hashing = not defer_check
            done = _fetch_direct(client, url, out.fileno(), bar, grow_total, hashing) if direct else None
            if done is None:
                done = _fetch_httpx(client, url, out.fileno(), bar, grow_total, hashing)
        got, want = done
        if want.size is not None and got != want.size:
            raise IntegrityError(f"{name}: received {got} bytes, the hub announced {want.size}.")
        if want.sha256 is not None:
            _check_sha256(name, want.sha256.hexdigest(), want.linked)
        deferred = defer_check and _HEX64.match(want.linked)
        if deferred:  # written before the file is in place: a crash leaves it marked
            _marker(target).write_text(want.linked, encoding="ascii")
        os.replace(tmp, target)
        if not deferred:
            _marker(target).unlink(missing_ok=True)  # from a deferred check that never ran
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return got


class _Expected(NamedTuple):
    """What the response headers promise: the size, and the SHA-256 to check (with the hash
    object that receives the body) when the hub names one (``X-Linked-Etag`` of an LFS file);
    whether the body is encoded (compressed)."""

    size: int | None
    linked: str
    sha256: Any
    encoded: bool


def _expected(headers: Any, bar: Any, grow_total: bool, hashing: bool = True) -> _Expected:
    linked = headers.get("X-Linked-Etag", "").removeprefix("W/").strip('"')
    encoded = headers.get("Content-Encoding", "identity") != "identity"
    size = headers.get("X-Linked-Size") or (None if encoded else headers.get("Content-Length"))
    expected = int(size) if size and size.isdigit() else None
    if grow_total and expected is not None:
        bar.total = (bar.total or 0) + expected
        bar.refresh()
    return _Expected(
        expected, linked, hashlib.sha256() if hashing and _HEX64.match(linked) else None, encoded
    )


def _fetch_httpx(
    client: HubClient, url: str, fd: int, bar: Any, grow_total: bool, hashing: bool = True
) -> tuple[int, _Expected]:
    """Receive through ``httpx`` in the calling thread; a writer thread writes each batch of
    received pieces and a hasher thread hashes it, so receiving, writing and hashing
    overlap."""
    with client.stream(
        "GET", url, timeout=TRANSFER_TIMEOUT, follow_redirects=True, headers={"Accept-Encoding": "identity"}
    ) as resp:
        want = _expected(resp.headers, bar, grow_total, hashing)
        got = _receive(resp.iter_bytes() if want.encoded else resp.iter_raw(), fd, want.sha256, bar)
    return got, want


def _fetch_direct(
    client: HubClient, url: str, fd: int, bar: Any, grow_total: bool, hashing: bool = True
) -> tuple[int, _Expected] | None:
    """GET a file of a plain-http hub with ``http.client`` and receive it into reused buffers
    (:func:`_receive_into`); ``None``, with nothing written, when the answer is one for
    ``httpx`` to follow (a redirect, an encoded body).

    ``httpx`` hands its body over as new ``bytes`` per read, copied again by h11 and joined
    again for the hasher; ``readinto`` fills a buffer straight from the socket (figures:
    bench/README.md, "Client transport").
    """
    conn, resp, full = client.direct_get(url, TRANSFER_TIMEOUT)

    def failed(exc: BaseException) -> WorkbenchError:
        return client.connection_error("timeout" if isinstance(exc, TimeoutError) else "request", exc, url)

    try:
        if 300 <= resp.status < 400 or resp.getheader("Content-Encoding", "identity") != "identity":
            return None
        if resp.status >= 400:
            try:
                body = resp.read(ERROR_BODY_BYTES)
            except (OSError, http.client.HTTPException) as exc:
                raise failed(exc) from exc
            raise error_from_response(
                httpx.Response(
                    resp.status, headers=resp.getheaders(), content=body, request=httpx.Request("GET", full)
                )
            )
        want = _expected(resp.headers, bar, grow_total, hashing)

        def read(buf: memoryview) -> int:
            try:
                return resp.readinto(buf)
            except (OSError, http.client.HTTPException) as exc:
                raise failed(exc) from exc

        return _receive_into(read, fd, want.sha256, bar, want.size), want
    finally:
        resp.close()  # it holds the socket when the hub closes the connection
        conn.close()


def _receive_into(read: Callable[[memoryview], int], fd: int, sha256: Any, bar: Any, size: int | None) -> int:
    """Read into buffers until ``read`` returns 0; write each buffer here and, when hashing,
    hand it to a hasher thread, which hands it back. At most QUEUE_DEPTH + 1 buffers of
    RECEIVE_BATCH bytes (fewer and smaller for small files)."""
    length = min(RECEIVE_BATCH, size) if size else RECEIVE_BATCH
    free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
    made = 0

    def take() -> memoryview:
        nonlocal made
        if made <= QUEUE_DEPTH and free.empty():
            made += 1
            return memoryview(bytearray(length))
        return free.get()

    hasher: _Worker[tuple[memoryview, int]] | None = None
    if sha256 is not None:
        update = sha256.update
        hasher = _Worker(
            lambda item: update(item[0][: item[1]]),
            "workbench-download-sha256",
            after=lambda item: free.put(item[0]),
        )
    got = 0
    try:
        while n := read(buf := take()):
            _write_all(fd, [buf[:n]])
            got += n
            bar.update(n)
            if hasher is not None:
                hasher.put((buf, n))
            else:
                free.put(buf)
    except BaseException:
        if hasher is not None:
            hasher.close(check=False)
        raise
    if hasher is not None:
        hasher.close()
    return got


def _receive(pieces: Iterable[bytes], fd: int, sha256: Any, bar: Any) -> int:
    """Hand ``pieces`` in batches of about RECEIVE_BATCH bytes to the writer (and hasher)."""
    workers: list[_Worker[list[bytes]]] = [
        _Worker(lambda batch: _write_all(fd, batch), "workbench-download-write")
    ]
    if sha256 is not None:
        update = sha256.update
        # One update per batch, not per 64 KiB piece: the thread takes the GIL back after
        # every update, and those handoffs cost more CPU than joining the batch first.
        workers.append(_Worker(lambda batch: update(b"".join(batch)), "workbench-download-sha256"))
    got = 0
    try:
        batch: list[bytes] = []
        size = 0
        for piece in pieces:
            batch.append(piece)
            size += len(piece)
            if size >= RECEIVE_BATCH:
                for w in workers:
                    w.put(batch)
                got += size
                bar.update(size)
                batch, size = [], 0
        if batch:
            for w in workers:
                w.put(batch)
            got += size
            bar.update(size)
    finally:
        errors = []
        for w in workers:
            try:
                w.close()
            except BaseException as exc:
                errors.append(exc)
    if errors:
        raise errors[0]
    return got
