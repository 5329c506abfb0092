"""HubClient uploads and downloads through Xet (``hf_xet``), and falls back to git-LFS.

The client talks to the session hub through :class:`Relay`, a TCP relay that records the
request lines passing through it. The hub names its own address as the Xet CAS URL, which
is then the relay's, so ``hf_xet``'s requests are recorded too: which routes a transfer used
is read from there, and what the hub stored from its database and blob folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.hub import HubProcess
from workbench.client import HubClient, download

MiB = 1024 * 1024
_REQUEST_LINE = re.compile(rb"(GET|POST|PUT|HEAD|DELETE|PATCH) (/[^ \r\n]*) HTTP/1\.[01]\r\n")
_AUTHORIZATION = re.compile(rb"\r\nauthorization: *bearer +([^\r\n]*)", re.IGNORECASE)
_TAIL = 4096


class Relay:
    """Relays TCP connections to ``upstream`` and records ``METHOD path`` of each request,
    and the bearer token it carried (in :attr:`tokens`, by request).

    Request lines are found in the byte stream the clients send (bodies included: a
    request line inside random upload bytes is far too unlikely to matter). A GET whose
    path matches ``refuse`` is answered 404 here and never reaches the hub, as from a hub
    that predates that route.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[str] = []
        self.tokens: list[tuple[str, str]] = []  # (request, bearer token or "")
        self.refuse: re.Pattern[str] | None = None
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop accepting, break off the connections still open (hf_xet keeps a pool), and
        wait for every relay thread."""
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self._server.close()
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(10)

    def paths(self, method: str, pattern: str) -> list[str]:
        with self._lock:
            return [
                r.split(" ", 1)[1]
                for r in self.requests
                if r.startswith(method + " ") and re.search(pattern, r)
            ]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.tokens.clear()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.upstream_port))
            pair = _Pair(conn, up, self)
            with self._lock:
                self._open.update((conn, up))
            for target, args in ((self._to_hub, (conn, up)), (self._pipe, (up, conn))):
                t = threading.Thread(target=pair.run, args=(target, *args), daemon=True)
                self._threads.append(t)
                t.start()

    def _closed(self, socks: tuple[socket.socket, ...]) -> None:
        with self._lock:
            self._open.difference_update(socks)

    def _refused(self, data: bytes) -> bool:
        match = _REQUEST_LINE.match(data)
        return bool(
            match and self.refuse and match.group(1) == b"GET" and self.refuse.search(match.group(2).decode())
        )

    def _to_hub(self, src: socket.socket, dst: socket.socket) -> None:
        tail = b""
        try:
            while data := src.recv(1 << 20):
                seen = tail + data
                found = [m for m in _REQUEST_LINE.finditer(seen) if m.end() > len(tail)]
                with self._lock:
                    for m in found:
                        request = f"{m.group(1).decode()} {m.group(2).decode()}"
                        end = seen.find(b"\r\n\r\n", m.end() - 2)
                        head = seen[m.end() - 2 : end if end >= 0 else len(seen)]
                        bearer = _AUTHORIZATION.search(head)
                        self.requests.append(request)
                        self.tokens.append((request, bearer.group(1).decode() if bearer else ""))
                tail = seen[-_TAIL:]
                if self._refused(data):
                    body = b'{"error": "Not Found"}'
                    src.sendall(
                        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    continue
                dst.sendall(data)
        except OSError:
            pass

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 20):
                dst.sendall(data)
        except OSError:
            pass


class _Pair:
    """The two sockets of one relayed connection: each direction, once done, ends the
    other's writes; the last one done closes both."""

    def __init__(self, client: socket.socket, hub: socket.socket, relay: Relay) -> None:
        self.socks = (client, hub)
        self.relay = relay
        self.left = 2
        self.lock = threading.Lock()

    def run(
        self, pump: Callable[[socket.socket, socket.socket], None], src: socket.socket, dst: socket.socket
    ) -> None:
        try:
            pump(src, dst)
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            with self.lock:
                self.left -= 1
                last = self.left == 0
            if last:
                self.relay._closed(self.socks)
                for sock in self.socks:
                    sock.close()


@pytest.fixture(scope="module")
def relay(hub: HubProcess) -> Iterator[Relay]:
    r = Relay(hub.port)
    yield r
    r.close()


@pytest.fixture
def client(hub: HubProcess, relay: Relay) -> Iterator[HubClient]:
    relay.clear()
    relay.refuse = None
    with HubClient(relay.url, hub.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xet-files") / "weights.bin"
    path.write_bytes(os.urandom(3 * MiB + 12345))
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _xet_file(hub: HubProcess, sha256: str) -> tuple[str, int] | None:
    """The hub's Xet registration of a file with this SHA-256: (Xet hash, size)."""
    with closing(sqlite3.connect(hub.data / "hub.sqlite")) as conn:
        row = conn.execute("select hash, size from xet_files where sha256 = ?", (sha256,)).fetchone()
    return (row[0], row[1]) if row else None


def _blob_stored(hub: HubProcess, sha256: str) -> bool:
    """Whether the hub's blob store holds these bytes whole (as git-LFS uploads leave them)."""
    return (hub.data / "blobs" / sha256[:2] / sha256[2:4] / sha256).exists()


def _new_repo(client: HubClient) -> str:
    rid = f"admin/xet-client-{secrets.token_hex(3)}"
    client.create_repo(rid)
    return rid


def test_upload_goes_through_xet_and_reads_back(
    hub: HubProcess, relay: Relay, client: HubClient, weights: Path, tmp_path: Path, api
) -> None:  # type: ignore[no-untyped-def]
    rid = _new_repo(client)
    relay.clear()
    result = client.upload(rid, {"weights.bin": weights, "notes.txt": b"small text\n"})
    sha = result["commitOid"]
    stats = client.last_transfer_stats
    assert stats["xet_files"] == 1 and stats["files_uploaded"] == 2 and stats["lfs_parts"] == 0

    # Through Xet: a write token, xorbs and a shard; no git-LFS batch, no whole blob.
    assert relay.paths("GET", r"/xet-write-token/")
    assert relay.paths("POST", r"^POST /v1/xorbs/") and relay.paths("POST", r"^POST /v1/shards")
    assert not relay.paths("POST", r"/info/lfs/objects/batch")
    want = _sha256(weights)
    registered = _xet_file(hub, want)
    assert registered is not None and registered[1] == weights.stat().st_size
    assert not _blob_stored(hub, want)

    # Listed as an LFS file with its SHA-256 and Xet hash; the small text file went inline.
    files = {f["path"]: f for f in client.list_files(rid, revision=sha)}
    assert files["weights.bin"]["lfs"]["oid"] == want and files["weights.bin"]["xetHash"] == registered[0]
    assert "lfs" not in files["notes.txt"] and not files["notes.txt"].get("xetHash")

    # The stock client reads it back byte for byte (it is in the stock client's Xet path).
    got = api.hf_hub_download(rid, "weights.bin", revision=sha, local_dir=tmp_path / "hf")
    assert Path(got).read_bytes() == weights.read_bytes()

    # HubClient downloads it through Xet too: a read token and a reconstruction.
    relay.clear()
    out = client.download(rid, ["weights.bin", "notes.txt"], revision=sha, local_dir=tmp_path / "wb")
    assert [p.read_bytes() for p in out] == [weights.read_bytes(), b"small text\n"]
    assert client.last_transfer_stats == {
        "files": 2,
        "bytes_downloaded": weights.stat().st_size + len(b"small text\n"),
        "xet_files": 1,
    }
    assert relay.paths("GET", r"/xet-read-token/" + sha)
    assert relay.paths("GET", r"^GET /v1/reconstructions/" + registered[0])
    assert relay.paths("GET", r"/resolve/") == [f"/{rid}/resolve/{sha}/notes.txt"]
    assert not list((tmp_path / "wb").glob(".*"))  # no temporary file or marker left


def test_download_with_deferred_check_and_whole_revision(
    relay: Relay, client: HubClient, weights: Path, tmp_path: Path
) -> None:
    rid = _new_repo(client)
    client.upload(rid, {"w/weights.bin": weights})
    relay.clear()
    out = client.download(rid, local_dir=tmp_path, defer_check=True)
    target = tmp_path / "w" / "weights.bin"
    assert target in out and download.unchecked(target)
    assert client.last_transfer_stats["xet_files"] == 1
    assert relay.paths("GET", r"^GET /v1/reconstructions/")
    assert not relay.paths("POST", r"/paths-info/")  # the listing already named the Xet hash
    download.check_deferred(target)
    assert not download.unchecked(target) and target.read_bytes() == weights.read_bytes()


def test_unchanged_file_is_skipped_and_same_content_is_deduplicated(
    relay: Relay, client: HubClient, weights: Path
) -> None:
    rid = _new_repo(client)
    client.upload(rid, {"weights.bin": weights})
    relay.clear()
    assert client.upload(rid, {"weights.bin": weights}).get("noop") is True
    assert client.last_transfer_stats["files_skipped"] == 1
    assert not relay.paths("GET", r"/xet-write-token/")
    client.upload(rid, {"copy/weights.bin": weights})
    stats = client.last_transfer_stats
    assert stats["xet_files"] == 1 and stats["lfs_deduplicated"] == 1 and stats["bytes_uploaded"] < 64 * 1024
    assert not relay.paths("POST", r"^POST /v1/xorbs/")


def test_hf_hub_disable_xet_uploads_over_git_lfs(
    hub: HubProcess,
    relay: Relay,
    client: HubClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    api,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    path = tmp_path / "lfs.bin"
    path.write_bytes(os.urandom(2 * MiB + 7))
    rid = _new_repo(client)
    relay.clear()
    sha = client.upload(rid, {"lfs.bin": path, "notes.txt": b"text\n"})["commitOid"]
    assert client.last_transfer_stats["xet_files"] == 0
    assert relay.paths("POST", r"/info/lfs/objects/batch")
    assert not relay.paths("GET", r"/xet-write-token/") and not relay.paths("POST", r"^POST /v1/")
    want = _sha256(path)
    assert _blob_stored(hub, want) and _xet_file(hub, want) is None
    files = {f["path"]: f for f in client.list_files(rid, revision=sha)}
    assert files["lfs.bin"]["lfs"]["oid"] == want and not files["lfs.bin"].get("xetHash")
    got = api.hf_hub_download(rid, "lfs.bin", revision=sha, local_dir=tmp_path / "hf")
    assert Path(got).read_bytes() == path.read_bytes()

    # A file that came through Xet is downloaded as plain bytes, rebuilt by the hub.
    monkeypatch.delenv("HF_HUB_DISABLE_XET")
    client.upload(rid, {"xet.bin": path.read_bytes()[::-1]})
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    relay.clear()
    out = client.download_file(rid, "xet.bin", local_dir=tmp_path / "plain")
    assert out.read_bytes() == path.read_bytes()[::-1]
    assert client.last_transfer_stats["xet_files"] == 0
    assert not relay.paths("GET", r"/xet-read-token/") and not relay.paths("GET", r"^GET /v1/")


def test_a_hub_without_xet_token_routes_gets_git_lfs_and_plain_downloads(
    hub: HubProcess, relay: Relay, client: HubClient, weights: Path, tmp_path: Path
) -> None:
    rid = _new_repo(client)
    client.upload(rid, {"xet.bin": weights})  # stored through Xet while the route answers
    relay.refuse = re.compile(r"/xet-(read|write)-token/")
    relay.clear()
    data = os.urandom(MiB + 3)
    client.upload(rid, {"lfs.bin": data})
    assert relay.paths("GET", r"/xet-write-token/")  # asked, answered 404: git-LFS
    assert relay.paths("POST", r"/info/lfs/objects/batch") and not relay.paths("POST", r"^POST /v1/")
    assert client.last_transfer_stats["xet_files"] == 0
    out = client.download(rid, ["xet.bin", "lfs.bin"], local_dir=tmp_path)
    assert [p.read_bytes() for p in out] == [weights.read_bytes(), data]
    assert client.last_transfer_stats["xet_files"] == 0
    assert not relay.paths("GET", r"^GET /v1/reconstructions/")


def test_the_hub_token_goes_to_the_hub_only(
    hub: HubProcess, relay: Relay, client: HubClient, weights: Path, tmp_path: Path
) -> None:
    """hf_xet sends the CAS (``/v1/...``, at the URL the hub named) the Xet token alone; the
    hub token goes to the hub's own routes, the Xet token route among them."""
    rid = _new_repo(client)
    client.upload(rid, {"weights.bin": weights})
    client.download(rid, ["weights.bin"], local_dir=tmp_path)
    with relay._lock:
        seen = list(relay.tokens)
    cas = [(r, t) for r, t in seen if r.split(" ", 1)[1].startswith("/v1/")]
    assert cas and all(t and t != hub.token for r, t in cas if "/xorb-data/" not in r)
    assert hub.token not in {t for _, t in cas}
    assert {r for r, t in seen if t == hub.token} >= {
        r for r in relay.requests if re.search(r"/xet-(read|write)-token/", r)
    }


def test_an_expired_xet_token_is_renewed_from_the_hub_route(
    hub: HubProcess, relay: Relay, client: HubClient, weights: Path, tmp_path: Path
) -> None:
    """A transfer that outlives its Xet token gets a new one from the hub's token route, as
    hf_xet is told; here the seeded token is already expired (and not a token at all)."""
    import dataclasses
    import time

    from workbench.client import xet_transfer

    rid = _new_repo(client)
    sha = client.upload(rid, {"weights.bin": weights})["commitOid"]
    [entry] = [f for f in client.list_files(rid, revision=sha) if f["path"] == "weights.bin"]
    tok = xet_transfer.token(client, rid, "model", "read", sha)
    assert tok is not None and tok.cas_url == relay.url and tok.refresh_url.startswith(relay.url + "/api/")
    stale = dataclasses.replace(tok, access_token="expired", expires=int(time.time()) - 10)
    relay.clear()
    dest = tmp_path / "w.bin"
    done: list[int] = []  # what the progress bars are fed: bytes written, as they are
    xet_transfer.download(
        stale,
        [xet_transfer.XetDownload(entry["xetHash"], entry["size"], dest)],
        on_progress=lambda written, _received: done.append(written),
    )
    assert dest.read_bytes() == weights.read_bytes() and sum(done) == entry["size"]
    renewed = [(r, t) for r, t in relay.tokens if "/xet-read-token/" in r]
    assert renewed and all(t == hub.token for _, t in renewed)
    assert "expired" not in {t for _, t in relay.tokens}


def test_without_hf_xet_uploads_and_downloads_take_git_lfs_and_plain_http(
    hub: HubProcess, client: HubClient, weights: Path, tmp_path: Path
) -> None:
    """In a process where ``import hf_xet`` fails, the same upload goes over git-LFS and a
    file stored through Xet comes back as plain bytes."""
    import json
    import subprocess
    import sys

    rid = _new_repo(client)
    client.upload(rid, {"xet.bin": weights})
    script = (
        "import json, sys; sys.modules['hf_xet'] = None\n"
        "from workbench.client import HubClient\n"
        "url, token, rid, src, out = sys.argv[1:]\n"
        "with HubClient(url, token, progress=False) as c:\n"
        "    c.upload(rid, {'lfs.bin': open(src, 'rb').read()[::-1]})\n"
        "    up = c.last_transfer_stats\n"
        "    c.download(rid, ['xet.bin', 'lfs.bin'], local_dir=out)\n"
        "    print(json.dumps([up, c.last_transfer_stats]))\n"
    )
    args = [hub.url, hub.token, rid, str(weights), str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    up, down = json.loads(done.stdout.strip().splitlines()[-1])
    assert up["xet_files"] == 0 and up["bytes_uploaded"] == weights.stat().st_size
    assert down["xet_files"] == 0 and down["files"] == 2
    assert (tmp_path / "xet.bin").read_bytes() == weights.read_bytes()
    assert (tmp_path / "lfs.bin").read_bytes() == weights.read_bytes()[::-1]
    assert _blob_stored(hub, hashlib.sha256(weights.read_bytes()[::-1]).hexdigest())
