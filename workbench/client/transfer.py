"""Uploads and downloads for :class:`~workbench.client.HubClient` (HF_PROTOCOL §5, §6).

Upload: ask ``preupload`` which files are LFS (it needs only paths, sizes and 512-byte
samples), then hash each file with the one digest it needs: SHA-256 for LFS files (the LFS
id, also compared with the preupload ``oid``), the git blob SHA-1 for regular files the hub
already holds at that path, nothing for new regular files. Unchanged files are skipped; LFS
objects the hub lacks go through the git-LFS batch API (single PUT or multipart, streamed
from disk), then one NDJSON commit is streamed. Memory stays bounded by a few chunks
whatever the file sizes.

Download: resolve the revision to one commit, stream each file's raw body to a temporary
name, check size (and SHA-256 for LFS), rename. From a plain-http hub the body is read with
``http.client`` into reused buffers and hashed in a second thread; through ``httpx`` (https,
proxies, redirects) writes and hashing run in worker threads. Either way receiving overlaps
hashing.

>>> transfer.upload(client, "me/tiny", ["weights/"], repo_type="model", revision="main",
...                 message=None, description="", parent_commit=None)   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import queue
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from tqdm.auto import tqdm

from workbench.client.local_files import LocalFile, PathsArg, collect_files
from workbench.errors import IntegrityError, InvalidRequest, WorkbenchError, error_class_for

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient

LFS_JSON = "application/vnd.git-lfs+json"
BATCH = 256  # files per preupload call and objects per LFS batch call (the Hub's limits)
B64_CHUNK = 3 * 1024 * 1024  # a multiple of 3: base64 pieces concatenate without padding
BAR_MIN_BYTES = 8 * 1024 * 1024
# No read timeout: a hub may take minutes to hash a large body before it answers.
TRANSFER_TIMEOUT = httpx.Timeout(60.0, connect=10.0, read=None, write=None)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# Downloads: received pieces (what each recv returned, up to hub_client.RECV_BYTES) go to
# the worker threads in batches of this many bytes; each worker runs at most QUEUE_DEPTH
# batches behind the network.
# 1 MiB batches gave the steadiest times here (4 MiB ones: as fast at best, more outliers).
RECEIVE_BATCH = 1024 * 1024
QUEUE_DEPTH = 8
IOV_MAX = 1024
ERROR_BODY_BYTES = 1024 * 1024  # of an error answer, read for its message
T = TypeVar("T")


def _bar(client: HubClient, total: int | None, desc: str, *, force: bool = False) -> Any:
    enabled = client.progress and (force or (total or 0) > BAR_MIN_BYTES)
    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, disable=not enabled, leave=False
    )


def _batches(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def commit_header(summary: str, description: str, parent_commit: str | None) -> dict[str, Any]:
    header: dict[str, Any] = {"summary": summary, "description": description}
    if parent_commit:
        header["parentCommit"] = parent_commit
    return header


# -- upload ---------------------------------------------------------------------------------


def upload(
    client: HubClient,
    repo_id: str,
    paths: PathsArg,
    *,
    repo_type: str,
    revision: str,
    message: str | None,
    description: str,
    parent_commit: str | None,
) -> dict[str, Any]:
    stats = client.last_transfer_stats = dict.fromkeys(
        ("files", "files_skipped", "files_uploaded", "bytes_uploaded", "lfs_deduplicated", "lfs_parts"), 0
    )
    files = collect_files(paths)
    if not files:
        raise InvalidRequest(f"Nothing to upload in {paths!r}.", code="NothingToUpload")
    stats["files"] = len(files)
    for f in files:
        f.read_sample()

    todo = _preupload(client, repo_id, files, repo_type, revision)
    stats["files_skipped"] = len(files) - len(todo)
    rev = quote(revision, safe="")
    if not todo:
        sha = client.revision_sha(repo_id, type=repo_type, revision=revision)
        return {
            "commitOid": sha,
            "commitUrl": f"{client.repo_url(repo_id, type=repo_type)}/commit/{sha}",
            "pullRequestUrl": None,
            "noop": True,
        }

    lfs = {f.sha256: f for f in todo if f.lfs}  # one transfer per content
    plans = _lfs_batch(client, repo_id, list(lfs.values()), repo_type, revision)
    to_send = [(lfs[obj["oid"]], obj) for obj in plans if obj.get("actions", {}).get("upload")]
    stats["lfs_deduplicated"] = len(plans) - len(to_send)
    inline = [f for f in todo if not f.lfs]
    send_total = sum(f.size for f, _ in to_send) + sum(f.size for f in inline)
    with _bar(client, send_total, "Uploading") as bar:

        def sent(n: int) -> None:
            stats["bytes_uploaded"] += n
            bar.update(n)

        for f, obj in to_send:
            stats["lfs_parts"] += _send_lfs(client, f, obj, sent)
        summary = message or _default_message(todo)
        body = _commit_body(commit_header(summary, description, parent_commit), todo, sent)
        result: dict[str, Any] = client.request(
            "POST",
            client.api_path(repo_id, repo_type, "commit", rev),
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
            timeout=TRANSFER_TIMEOUT,
        ).json()
    stats["files_uploaded"] = len(todo)
    return result


def _default_message(files: Sequence[LocalFile]) -> str:
    if len(files) == 1:
        return f"Upload {files[0].path}"
    return f"Upload {len(files)} files"


def _preupload(
    client: HubClient, repo_id: str, files: list[LocalFile], repo_type: str, revision: str
) -> list[LocalFile]:
    """Mark LFS files, hash what must be hashed; return the files not already at their path
    with the same content."""
    url = client.api_path(repo_id, repo_type, "preupload", quote(revision, safe=""))
    answers: dict[str, dict[str, Any]] = {}
    for batch in _batches(files):
        body = {
            "files": [
                {"path": f.path, "size": f.size, "sample": base64.b64encode(f.sample).decode()} for f in batch
            ]
        }
        resp = client.request("POST", url, json=body, headers={"X-Workbench-Lfs": "1"})
        for item in resp.json().get("files", []):
            answers[item.get("path")] = item
    kept: list[tuple[LocalFile, str | None]] = []
    for f in files:
        answer = answers.get(f.path, {})
        if answer.get("shouldIgnore"):
            continue
        f.lfs = answer.get("uploadMode") == "lfs" and f.size > 0
        kept.append((f, answer.get("oid") or None))
    # LFS files always need their SHA-256 (the batch and the commit name them by it); a
    # regular file needs its git SHA-1 only to compare with a blob already at its path.
    need = [f for f, oid in kept if f.lfs or oid]
    with _bar(client, sum(f.size for f in need), "Hashing") as bar:
        for f in need:
            f.hash(on_chunk=bar.update, sha256=f.lfs, git=not f.lfs)
    return [f for f, oid in kept if not oid or oid != (f.sha256 if f.lfs else f.git_oid)]


def _lfs_batch(
    client: HubClient, repo_id: str, files: list[LocalFile], repo_type: str, revision: str
) -> list[dict[str, Any]]:
    url = client.web_path(repo_id, repo_type) + ".git/info/lfs/objects/batch"
    out: list[dict[str, Any]] = []
    for batch in _batches(files):
        body = {
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": [{"oid": f.sha256, "size": f.size} for f in batch],
            "hash_algo": "sha256",
            "ref": {"name": revision},
        }
        resp = client.request(
            "POST",
            url,
            content=json.dumps(body).encode(),
            headers={"Content-Type": LFS_JSON, "Accept": LFS_JSON},
        )
        for obj in resp.json().get("objects", []):
            err = obj.get("error")
            if err:
                status = err.get("code") if isinstance(err.get("code"), int) else 500
                raise error_class_for(None, status)(
                    f"The hub refused LFS object {obj.get('oid')}: {err.get('message')}"
                )
            out.append(obj)
    known = {f.sha256 for f in files}
    if {o.get("oid") for o in out} != known:
        raise WorkbenchError(
            "The LFS batch answer does not list the objects asked for.", code="LfsBatchMismatch"
        )
    return out


def _send_lfs(client: HubClient, f: LocalFile, obj: dict[str, Any], sent: Callable[[int], None]) -> int:
    """PUT one object (whole, or part by part), complete and verify it; return the part count.

    HF_PROTOCOL §6.3: the PUTs and the completion carry no token (the URLs are signed).
    """
    actions = obj["actions"]
    upload_action = actions["upload"]
    header = dict(upload_action.get("header") or {})
    parts: list[dict[str, Any]] = []
    if "chunk_size" in header:
        chunk_size = int(header.pop("chunk_size"))
        count = -(-f.size // chunk_size)
        for n in range(1, count + 1):
            part_url = header.get(str(n))
            if not part_url:
                raise WorkbenchError(
                    f"The multipart plan for {f.path} lacks part {n}.", code="LfsBatchMismatch"
                )
            start = (n - 1) * chunk_size
            length = min(chunk_size, f.size - start)
            resp = client.request(
                "PUT",
                part_url,
                auth=False,
                timeout=TRANSFER_TIMEOUT,
                content=f.chunks(start, length, on_chunk=sent),
                headers={"Content-Length": str(length)},
            )
            etag = resp.headers.get("ETag")
            if not etag:
                raise WorkbenchError(
                    f"Part {n} of {f.path} was stored without an ETag.", code="LfsPartWithoutEtag"
                )
            parts.append({"partNumber": n, "etag": etag})
        client.request(
            "POST",
            upload_action["href"],
            auth=False,
            content=json.dumps({"oid": f.sha256, "parts": parts}).encode(),
            headers={"Content-Type": LFS_JSON, "Accept": LFS_JSON},
        )
    else:
        headers = {k: str(v) for k, v in header.items()}
        headers["Content-Length"] = str(f.size)
        client.request(
            "PUT",
            upload_action["href"],
            auth=False,
            timeout=TRANSFER_TIMEOUT,
            content=f.chunks(on_chunk=sent),
            headers=headers,
        )
    verify = actions.get("verify")
    if verify and verify.get("href"):
        headers = {k: str(v) for k, v in (verify.get("header") or {}).items()}
        headers.update({"Content-Type": LFS_JSON, "Accept": LFS_JSON})
        client.request(
            "POST",
            verify["href"],
            headers=headers,
            content=json.dumps({"oid": f.sha256, "size": f.size}).encode(),
        )
    return len(parts)


def _b64(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Base64 of a stream of pieces, without holding more than one piece."""
    rest = b""
    for piece in pieces:
        data = rest + piece
        cut = len(data) - len(data) % 3
        rest = data[cut:]
        if cut:
            yield base64.b64encode(data[:cut])
    if rest:
        yield base64.b64encode(rest)


def _commit_body(
    header: dict[str, Any], files: list[LocalFile], sent: Callable[[int], None]
) -> Iterator[bytes]:
    """The NDJSON commit (HF_PROTOCOL §6.4), generated as it is sent."""
    yield json.dumps({"key": "header", "value": header}).encode() + b"\n"
    for f in files:
        if f.lfs:
            value = {"path": f.path, "algo": "sha256", "oid": f.sha256, "size": f.size}
            yield json.dumps({"key": "lfsFile", "value": value}).encode() + b"\n"
            continue
        # "content" first: the hub streams a long line's content straight to its blob store.
        yield b'{"key":"file","value":{"content":"'
        yield from _b64(f.chunks(chunk_size=B64_CHUNK, on_chunk=sent))
        yield b'","path":' + json.dumps(f.path).encode() + b',"encoding":"base64"}}\n'


# -- download -------------------------------------------------------------------------------


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
    stats = client.last_transfer_stats = {"files": 0, "bytes_downloaded": 0}
    # A branch or tag is pinned to one commit for all the files; a commit id already is one
    # (an unknown commit is the first file's RevisionNotFound).
    sha = (
        revision
        if _COMMIT.match(revision)
        else client.revision_sha(repo_id, type=repo_type, revision=revision)
    )
    total = None
    if filenames is None:
        entries = client.list_files(repo_id, type=repo_type, revision=sha)
        filenames = [e["path"] for e in entries]
        total = sum(int(e.get("size") or 0) for e in entries)
    root = local_dir.absolute()
    targets = [(name, _target(root, name)) for name in filenames]
    out = []
    with _bar(client, total, "Downloading", force=True) as bar:
        for name, target in targets:
            url = client.web_path(repo_id, repo_type, "resolve", sha, quote(name, safe="/"))
            got = _fetch(client, url, name, target, bar, grow_total=total is None, defer_check=defer_check)
            out.append(target)
            stats["files"] += 1
            stats["bytes_downloaded"] += got
    return out


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
    with open(target, "rb") as f:
        got = hashlib.file_digest(f, "sha256").hexdigest()
    if got != want:
        if remove:
            discard(target)
        raise IntegrityError(f"{target.name}: SHA-256 {got} does not match the hub's {want}.")
    marker.unlink()


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
        if want.sha256 is not None and want.sha256.hexdigest() != want.linked:
            raise IntegrityError(
                f"{name}: SHA-256 {want.sha256.hexdigest()} does not match the hub's {want.linked}."
            )
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
    again for the hasher: for a 62 MB file that was 0.10-0.16 s of client CPU against
    0.06-0.08 s for ``curl`` on the same loopback. ``readinto`` fills a buffer straight from
    the socket.
    """
    conn, resp, full = direct_get(client, url, TRANSFER_TIMEOUT)

    def failed(exc: BaseException) -> WorkbenchError:
        return client.connection_error("timeout" if isinstance(exc, TimeoutError) else "request", exc, url)

    try:
        if 300 <= resp.status < 400 or resp.getheader("Content-Encoding", "identity") != "identity":
            return None
        if resp.status >= 400:
            from workbench.client.hub_client import error_from_response

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


def direct_get(
    client: HubClient, url: str, timeout: httpx.Timeout
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, str]:
    """``GET url`` (identity encoding, the client's token and agent) over a new
    ``http.client`` connection to a plain-http hub: the connection, the response with its
    head read, and the full URL; the caller closes both. Failing to connect or to send
    raises the client's connection error."""
    full, headers = client._prepare(
        url, True, {"Accept-Encoding": "identity", "User-Agent": client.user_agent}
    )
    parts = urlsplit(full)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout.connect)
    stage = "connect"
    try:
        conn.connect()
        stage = "request"
        assert conn.sock is not None
        conn.sock.settimeout(timeout.read)
        conn.request("GET", urlunsplit(("", "", parts.path, parts.query, "")), headers=headers)
        return conn, conn.getresponse(), full
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise client.connection_error(
            "timeout" if stage != "connect" and isinstance(exc, TimeoutError) else stage, exc, url
        ) from exc


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
