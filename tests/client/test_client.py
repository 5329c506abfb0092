"""HubClient on a real hub over real HTTP: repos, uploads (inline, LFS, multipart), downloads."""

from __future__ import annotations

import os
import secrets
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.hub import HubProcess, free_port
from workbench.client import HubClient, download
from workbench.client.http import RECV_BYTES, LazyTLS
from workbench.errors import (
    Conflict,
    EntryNotFound,
    HubTimeout,
    HubUnreachable,
    InvalidRequest,
    RepoNotFound,
    RevisionNotFound,
    WorkbenchError,
)

MiB = 1024 * 1024


def _unique(prefix: str) -> str:
    return f"admin/{prefix}-{secrets.token_hex(3)}"


def _user_files(files: list[dict]) -> dict[str, dict]:  # type: ignore[type-arg]
    """Files by path, without the .gitattributes every new repo starts with."""
    return {f["path"]: f for f in files if f["path"] != ".gitattributes"}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def client(hub: HubProcess) -> Iterator[HubClient]:
    with HubClient(hub.url, hub.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small files, a 20 MiB file, and folders an upload must skip."""
    root = tmp_path_factory.mktemp("big-folder")
    (root / "sub").mkdir()
    (root / ".git").mkdir()
    (root / "__pycache__").mkdir()
    (root / "README.md").write_text("# Tiny\n")
    (root / "config.json").write_text('{"hidden": 8}\n')
    (root / "sub" / "notes.txt").write_text("nested\n")
    (root / "empty.txt").write_bytes(b"")
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "__pycache__" / "x.pyc").write_bytes(b"\x00junk")
    (root / "big.dat").write_bytes(os.urandom(20 * MiB))
    return root


@pytest.fixture(scope="module")
def uploaded(client: HubClient, big_folder: Path) -> tuple[str, str]:
    """(repo id, first commit) of a repo holding ``big_folder``."""
    rid = _unique("client-big")
    client.create_repo(rid)
    result = client.upload(rid, [big_folder], message="Add the folder")
    assert client.last_transfer_stats["bytes_uploaded"] >= 20 * MiB
    return rid, result["commitOid"]


def test_whoami_and_repo_lifecycle(client: HubClient) -> None:
    assert client.whoami()["name"] == "admin"
    rid = _unique("life")
    url = client.create_repo(rid, type="dataset", private=True)
    assert url == f"{client.url}/datasets/{rid}"
    with pytest.raises(Conflict):
        client.create_repo(rid, type="dataset")
    assert client.create_repo(rid, type="dataset", exist_ok=True) == url
    info = client.repo_info(rid, type="dataset")
    assert info["id"] == rid and info["private"] is True and len(info["sha"]) == 40
    listed = client.list_repos(type="dataset", search=rid.split("/")[1])
    assert [r["id"] for r in listed] == [rid]
    assert client.list_repos(type="dataset", author="admin", limit=1)[0]["id"]
    assert client.list_repos(type="model", search=rid.split("/")[1]) == []
    client.delete_repo(rid, type="dataset")
    with pytest.raises(RepoNotFound):
        client.repo_info(rid, type="dataset")
    with pytest.raises(RepoNotFound):
        client.delete_repo(rid, type="dataset")
    client.delete_repo(rid, type="dataset", missing_ok=True)


def test_errors_are_typed(client: HubClient, repo_id: str, tmp_path: Path) -> None:
    with pytest.raises(RepoNotFound) as exc:
        client.repo_info("admin/does-not-exist-here")
    assert isinstance(exc.value, LookupError) and exc.value.code == "RepoNotFound"
    assert "does-not-exist-here" in exc.value.message
    with pytest.raises(RevisionNotFound):
        client.repo_info(repo_id, revision="no-such-branch")
    with pytest.raises(EntryNotFound):
        client.download_file(repo_id, "missing.txt", local_dir=tmp_path)
    with pytest.raises(RevisionNotFound):  # a commit id is not looked up first: the file says
        client.download_file(repo_id, "README.md", revision="0" * 40, local_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidRequest) as bad:
        client.create_repo("admin/bad..name")
    assert bad.value.code == "InvalidRepoName"
    with pytest.raises(InvalidRequest):
        client.repo_info("no-namespace")
    with pytest.raises(InvalidRequest):
        client.repo_info(repo_id, type="kernel")


def test_unreachable_hub_says_how_to_start_it() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for call in (lambda c: c.whoami(), lambda c: c.repo_info("a/b")):  # httpx, http.client
        with HubClient(url, "x") as c, pytest.raises(HubUnreachable) as exc:
            call(c)
        assert isinstance(exc.value, ConnectionError) and isinstance(exc.value, WorkbenchError)
        assert exc.value.code == "HubUnreachable"  # the code stays, for the wire and the lab
        assert url in exc.value.message and "workbench hub serve" in exc.value.message


def test_a_hub_that_does_not_answer_is_a_timeout() -> None:
    """A port that accepts connections and never answers: HubTimeout, a TimeoutError."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with HubClient(url, "x") as c, pytest.raises(HubTimeout) as exc:
            c.request("GET", "/api/whoami-v2", timeout=0.2)
    assert isinstance(exc.value, TimeoutError) and isinstance(exc.value, WorkbenchError)
    assert exc.value.code == "HubTimeout" and url in exc.value.message


def _tls_server(tmp_path: Path) -> tuple[int, threading.Thread]:
    """A one-connection HTTPS server with a self-signed certificate (made by ``openssl``)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
            except (ssl.SSLError, OSError):
                pass  # the client refused the certificate: what the test expects

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


def test_plain_http_hub_never_builds_a_tls_context_and_https_still_verifies(
    client: HubClient, tmp_path: Path
) -> None:
    transport = client._http._transport
    assert isinstance(transport, LazyTLS)
    client.whoami()
    assert transport._inner is None  # the hub is plain http: no CA bundle was loaded
    port, thread = _tls_server(tmp_path)
    with pytest.raises(WorkbenchError) as exc:
        client.request("GET", f"https://127.0.0.1:{port}/api/whoami-v2")
    assert "CERTIFICATE_VERIFY_FAILED" in exc.value.message  # verification is on for https
    assert transport._inner is not None
    thread.join(timeout=10)


def test_downloads_read_up_to_a_mebibyte_per_call_and_arrive_whole(
    client: HubClient, uploaded: tuple[str, str], big_folder: Path, tmp_path: Path
) -> None:
    rid, first = uploaded
    url = client.web_path(rid, "model", "resolve", first, "big.dat")
    with client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as resp:
        sizes = [len(piece) for piece in resp.iter_raw()]
    assert sum(sizes) == 20 * MiB
    # httpcore alone asks for 64 KiB per read; over loopback a read returns what has arrived
    assert max(sizes) > 64 * 1024 and max(sizes) <= RECV_BYTES
    local = client.download_file(rid, "big.dat", revision=first, local_dir=tmp_path)
    assert local.read_bytes() == (big_folder / "big.dat").read_bytes()


def test_url_and_token_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.config import UserConfig

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("WORKBENCH_HUB_URL", raising=False)
    monkeypatch.delenv("WORKBENCH_TOKEN", raising=False)
    with HubClient() as c:
        assert (c.url, c.token) == ("http://127.0.0.1:8765", None)
    UserConfig.load().save("http://config-host:1/", "from-config")
    with HubClient() as c:
        assert (c.url, c.token) == ("http://config-host:1", "from-config")
    monkeypatch.setenv("WORKBENCH_HUB_URL", "http://env-host:2")
    monkeypatch.setenv("WORKBENCH_TOKEN", "from-env")
    with HubClient() as c:
        assert (c.url, c.token) == ("http://env-host:2", "from-env")
    with HubClient("http://arg-host:3/", "from-arg") as c:
        assert (c.url, c.token) == ("http://arg-host:3", "from-arg")


def test_folder_upload_uses_lfs_for_the_big_file(
    client: HubClient,
    api,
    big_folder: Path,  # type: ignore[no-untyped-def]
    uploaded: tuple[str, str],
    tmp_path: Path,
) -> None:
    rid, first = uploaded
    files = _user_files(client.list_files(rid, revision=first))
    assert set(files) == {"README.md", "config.json", "sub/notes.txt", "empty.txt", "big.dat"}
    assert "lfs" in files["big.dat"] and files["big.dat"]["size"] == 20 * MiB
    assert "lfs" not in files["config.json"]
    local = api.hf_hub_download(rid, "big.dat", revision=first, local_dir=tmp_path / "hf")
    assert Path(local).read_bytes() == (big_folder / "big.dat").read_bytes()
    assert any(c["id"] == first and c["title"] == "Add the folder" for c in client.log(rid))


def test_identical_upload_transfers_nothing(
    client: HubClient, big_folder: Path, uploaded: tuple[str, str]
) -> None:
    rid, _ = uploaded
    head = client.repo_info(rid)["sha"]
    result = client.upload(rid, [big_folder])
    assert result["commitOid"] == head and result.get("noop") is True
    assert client.last_transfer_stats["bytes_uploaded"] == 0
    assert client.last_transfer_stats["files_skipped"] == 5
    assert client.repo_info(rid)["sha"] == head


def test_same_content_under_another_path_is_deduplicated(
    client: HubClient, big_folder: Path, uploaded: tuple[str, str]
) -> None:
    rid, _ = uploaded
    head = client.repo_info(rid)["sha"]
    result = client.upload(rid, {"copies/big-again.dat": big_folder / "big.dat"})
    assert result["commitOid"] != head
    assert client.last_transfer_stats["bytes_uploaded"] == 0
    assert client.last_transfer_stats["lfs_deduplicated"] == 1
    files = {f["path"]: f for f in client.list_files(rid)}
    assert files["copies/big-again.dat"]["lfs"]["oid"] == files["big.dat"]["lfs"]["oid"]


def test_download_everything_at_a_revision(
    client: HubClient, big_folder: Path, uploaded: tuple[str, str], tmp_path: Path
) -> None:
    rid, first = uploaded
    paths = client.download(rid, revision=first, local_dir=tmp_path / "out")
    expected = {k: v for k, v in _tree(big_folder).items() if not k.startswith((".git/", "__pycache__/"))}
    expected[".gitattributes"] = (tmp_path / "out" / ".gitattributes").read_bytes()
    assert {p.relative_to(tmp_path / "out").as_posix() for p in paths} == set(expected)
    assert _tree(tmp_path / "out") == expected
    assert client.last_transfer_stats["bytes_downloaded"] == sum(map(len, expected.values()))
    one = client.download_file(rid, "sub/notes.txt", revision=first, local_dir=tmp_path / "one")
    assert one == tmp_path / "one" / "sub" / "notes.txt" and one.read_text() == "nested\n"


def test_download_refuses_paths_outside_local_dir(client: HubClient, repo_id: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest) as exc:
        client.download(repo_id, ["../escape.txt"], local_dir=tmp_path / "d")
    assert exc.value.code == "UnsafePath"
    assert not (tmp_path / "escape.txt").exists()


def test_mapping_uploads_a_folder_under_a_prefix(client: HubClient, repo_id: str, tmp_path: Path) -> None:
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f.txt").write_text("f")
    (tmp_path / "g.txt").write_text("g")
    client.upload(
        repo_id,
        {"data/v1": tmp_path / "d", "renamed.txt": tmp_path / "g.txt", "inline.bin": b"\x00\x01"},
        message="Mapping",
    )
    files = _user_files(client.list_files(repo_id))
    assert set(files) == {"data/v1/e/f.txt", "renamed.txt", "inline.bin"}
    with pytest.raises(InvalidRequest):
        client.upload(repo_id, {"../up.txt": b"x"})
    with pytest.raises(FileNotFoundError):
        client.upload(repo_id, [tmp_path / "missing"])


def test_stale_parent_commit_is_a_conflict(client: HubClient, repo_id: str) -> None:
    old = client.repo_info(repo_id)["sha"]
    client.upload(repo_id, {"a.txt": b"one"})
    with pytest.raises(Conflict):
        client.upload(repo_id, {"a.txt": b"two"}, parent_commit=old)
    new = client.repo_info(repo_id)["sha"]
    assert client.upload(repo_id, {"a.txt": b"two"}, parent_commit=new)["commitOid"] != new


def test_delete_files_and_folders(client: HubClient, repo_id: str) -> None:
    client.upload(
        repo_id, {"keep.txt": b"k", "drop.txt": b"d", "folder/x.txt": b"x", "folder/deep/y.txt": b"y"}
    )
    client.delete_files(repo_id, ["drop.txt", "folder/"], message="Clean up")
    assert list(_user_files(client.list_files(repo_id))) == ["keep.txt"]
    assert client.log(repo_id)[0]["title"] == "Clean up"
    with pytest.raises(EntryNotFound):
        client.delete_files(repo_id, ["drop.txt"])


def test_branches_and_tags(client: HubClient, repo_id: str, tmp_path: Path) -> None:
    client.upload(repo_id, {"a.txt": b"main"})
    client.create_branch(repo_id, "feat/x")
    client.upload(repo_id, {"a.txt": b"feature"}, revision="feat/x")
    client.create_tag(repo_id, "v1.0", revision="feat/x", message="First")
    refs = client.list_refs(repo_id)
    assert {b["name"] for b in refs["branches"]} == {"main", "feat/x"}
    assert [t["name"] for t in refs["tags"]] == ["v1.0"]
    assert refs["tags"][0]["targetCommit"] == client.repo_info(repo_id, revision="feat/x")["sha"]
    main = client.download_file(repo_id, "a.txt", local_dir=tmp_path / "main")
    tagged = client.download_file(repo_id, "a.txt", revision="v1.0", local_dir=tmp_path / "tag")
    assert (main.read_bytes(), tagged.read_bytes()) == (b"main", b"feature")
    client.create_branch(repo_id, "from-tag", revision="v1.0")
    assert client.repo_info(repo_id, revision="from-tag")["sha"] == refs["tags"][0]["targetCommit"]
    with pytest.raises(Conflict):
        client.create_branch(repo_id, "feat/x")


def test_compare_two_commits(client: HubClient, repo_id: str) -> None:
    base = client.upload(repo_id, {"same.txt": b"s", "changed.txt": b"1", "gone.txt": b"g"})
    client.delete_files(repo_id, ["gone.txt"])
    head = client.upload(repo_id, {"changed.txt": b"2", "new.txt": b"n"})
    diff = client.compare(repo_id, base["commitOid"], head["commitOid"])
    assert {f["path"]: f["status"] for f in diff["files"]} == {
        "changed.txt": "modified",
        "gone.txt": "removed",
        "new.txt": "added",
    }


def test_unicode_and_spaces_round_trip(
    client: HubClient,
    api,
    repo_id: str,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    names = {
        "dir with space/ü#1?x.txt": "ü".encode() * 3,
        "naïve file.md": b"caf\xc3\xa9",
        "%41 percent.txt": b"literal",
    }
    client.upload(repo_id, dict(names))
    assert {f["path"] for f in client.list_files(repo_id)} >= set(names)
    got = client.download(repo_id, list(names), local_dir=tmp_path)
    assert {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in got} == names
    assert (
        Path(api.hf_hub_download(repo_id, "dir with space/ü#1?x.txt", local_dir=tmp_path / "hf")).read_bytes()
        == "ü".encode() * 3
    )


def test_multipart_upload_and_paginated_listings(hub_factory, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")  # git-LFS multipart; Xet has no parts
    extra = hub_factory(
        env={
            "WORKBENCH_MULTIPART_CHUNK_BYTES": str(5 * MiB),
            "WORKBENCH_LIST_PAGE_SIZE": "2",
            "WORKBENCH_TREE_PAGE_SIZE": "2",
        }
    )
    data = os.urandom(12 * MiB + 123)
    with HubClient(extra.url, extra.token, progress=False) as c:
        for n in range(3):
            c.create_repo(f"admin/paged-{n}")
        assert len(c.list_repos()) == 3 and len(c.list_repos(limit=3)) == 3
        c.upload("admin/paged-0", {"big.bin": data, "a.txt": b"a", "b/c.txt": b"c", "b/d.txt": b"d"})
        assert c.last_transfer_stats["bytes_uploaded"] == len(data) + 3
        assert c.last_transfer_stats["lfs_parts"] == 3
        files = _user_files(c.list_files("admin/paged-0"))
        assert set(files) == {"big.bin", "a.txt", "b/c.txt", "b/d.txt"}
        assert files["big.bin"]["lfs"]["size"] == len(data)
        out = c.download_file("admin/paged-0", "big.bin", local_dir=tmp_path)
        assert out.read_bytes() == data


def test_upload_hashes_each_file_only_as_needed(
    client: HubClient, repo_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.client.local_files import LocalFile

    calls: list[tuple[str, bool, bool]] = []
    real_hash = LocalFile.hash

    def spy(
        self: LocalFile,
        on_chunk=None,
        *,
        sha256: bool = True,  # type: ignore[no-untyped-def]
        git: bool = True,
    ) -> None:
        calls.append((self.path, sha256, git))
        real_hash(self, on_chunk, sha256=sha256, git=git)

    monkeypatch.setattr(LocalFile, "hash", spy)
    # Over git-LFS the client hashes a new large file itself (through Xet, hf_xet does).
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    files = {"notes.txt": b"plain text", "w.bin": b"\x00weights" * 1000}
    client.upload(repo_id, files)
    # New regular file: inline content carries no hash; LFS file: SHA-256 only.
    assert calls == [("w.bin", True, False)]
    calls.clear()
    result = client.upload(repo_id, files)
    # Unchanged: the regular file needs its git SHA-1 to match the blob at its path.
    assert sorted(calls) == [("notes.txt", False, True), ("w.bin", True, False)]
    assert result.get("noop") is True
    assert client.last_transfer_stats["files_skipped"] == 2
    assert client.last_transfer_stats["bytes_uploaded"] == 0
    calls.clear()
    client.upload(repo_id, {"notes.txt": b"changed text"})
    assert calls == [("notes.txt", False, True)]
    assert client.last_transfer_stats["bytes_uploaded"] == len(b"changed text")


def test_a_file_that_grows_or_shrinks_while_sent_is_refused(tmp_path: Path) -> None:
    from workbench.client.local_files import LocalFile
    from workbench.errors import IntegrityError

    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    assert b"".join(LocalFile("f.bin", path, 10).chunks(chunk_size=4)) == b"0123456789"
    assert b"".join(LocalFile("f.bin", path, 10).chunks(2, 3)) == b"234"
    with pytest.raises(IntegrityError, match="grew"):
        list(LocalFile("f.bin", path, 8).chunks())
    assert b"".join(LocalFile("f.bin", path, 12).chunks(0, 8)) == b"01234567"
    with pytest.raises(IntegrityError, match="shrank"):
        list(LocalFile("f.bin", path, 12).chunks())


def _mock_client(body: Iterator[bytes] | bytes, headers: dict[str, str]) -> HubClient:
    """A HubClient whose hub (an ``httpx.MockTransport``) serves one commit and, for any file,
    ``body`` with ``headers``: downloads go through the ``httpx`` path."""
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        if "/revision/" in request.url.path:
            return httpx.Response(200, json={"sha": "a" * 40})
        if "/paths-info/" in request.url.path:  # no Xet hashes: plain downloads
            return httpx.Response(200, json=[])
        return httpx.Response(200, headers=headers, content=body)

    c = HubClient("http://hub.invalid", "t", progress=False)
    c._http = httpx.Client(transport=httpx.MockTransport(handler))
    c.direct_downloads = False
    return c


Answer = tuple[int, dict[str, str], list[bytes]]


@contextmanager
def _raw_hub(answer: Callable[[str], Answer]) -> Iterator[tuple[HubClient, list[str]]]:
    """A plain-http server on loopback that answers the commit lookup and, for any other GET,
    ``answer(path)``: status, headers (sent as given, so they may lie) and body pieces; the
    connection closes after each answer. Yields a client of it and the paths asked for."""
    import http.server
    import json

    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            asked.append(self.path)
            if "/revision/" in self.path:
                status, headers, body = 200, {}, [json.dumps({"sha": "a" * 40}).encode()]
            else:
                status, headers, body = answer(self.path)
            self.send_response(status)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(sum(map(len, body))))
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Connection", "close")
            self.end_headers()
            for piece in body:
                self.wfile.write(piece)
            self.close_connection = True

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with HubClient(f"http://127.0.0.1:{server.server_address[1]}", "t", progress=False) as c:
            assert c.direct_downloads
            yield c, asked
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _serving(kind: str, pieces: list[bytes], headers: dict[str, str]) -> Iterator[HubClient]:
    """A client whose hub serves ``pieces`` with ``headers`` for any file, downloaded through
    ``httpx`` (a mock transport) or the direct path (a real server)."""
    if kind == "httpx":
        with _mock_client(iter(pieces), headers) as c:
            yield c
    else:
        with _raw_hub(lambda path: (200, headers, pieces)) as (c, _):
            yield c


def _no_download_threads() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("workbench-download")]


@pytest.mark.parametrize("kind", ["httpx", "direct"])
def test_download_checks_size_and_sha256_and_leaves_nothing_behind(kind: str, tmp_path: Path) -> None:
    import hashlib

    from workbench.errors import IntegrityError

    pieces = [os.urandom(64 * 1024 + n) for n in range(40)]  # several receive batches
    data = b"".join(pieces)
    good = {"X-Linked-Etag": f'"{hashlib.sha256(data).hexdigest()}"', "X-Linked-Size": str(len(data))}
    with _serving(kind, pieces, good) as c:
        path = c.download_file("a/b", "d/x.bin", local_dir=tmp_path / "ok")
    assert path.read_bytes() == data and c.last_transfer_stats["bytes_downloaded"] == len(data)

    bad_sha = {**good, "X-Linked-Etag": f'"{"0" * 64}"'}
    short = {**good, "X-Linked-Size": str(len(data) + 1)}
    cases = [(bad_sha, "SHA-256"), (short, "bytes")]
    if kind == "direct":  # the server announces more than it sends, then hangs up
        cases.append(({"Content-Length": str(len(data) + 10)}, "bytes"))
    for headers, message in cases:
        with _serving(kind, pieces, headers) as c, pytest.raises(IntegrityError, match=message):
            c.download_file("a/b", "d/x.bin", local_dir=tmp_path / "bad")
        assert list((tmp_path / "bad" / "d").iterdir()) == []
    assert _no_download_threads()


@pytest.mark.parametrize("kind", ["httpx", "direct"])
def test_a_deferred_check_marks_the_file_until_it_is_hashed(kind: str, tmp_path: Path) -> None:
    """``defer_check``: received unhashed, marked with the SHA-256 it must have; the check
    keeps a good file and removes a bad one; a normal download clears a stale marker."""
    import hashlib

    from workbench.client.download import check_deferred, unchecked
    from workbench.errors import IntegrityError

    pieces = [os.urandom(64 * 1024 + n) for n in range(40)]
    data = b"".join(pieces)
    good = {"X-Linked-Etag": f'"{hashlib.sha256(data).hexdigest()}"', "X-Linked-Size": str(len(data))}
    with _serving(kind, pieces, good) as c:
        [path] = c.download("a/b", ["d/x.bin"], local_dir=tmp_path / "ok", defer_check=True)
    assert path.read_bytes() == data and unchecked(path)
    check_deferred(path)
    assert not unchecked(path) and path.read_bytes() == data
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.bin"]
    check_deferred(path)  # checked already: nothing to do

    bad = {**good, "X-Linked-Etag": f'"{"0" * 64}"'}
    with _serving(kind, pieces, bad) as c:
        [path] = c.download("a/b", ["d/x.bin"], local_dir=tmp_path / "bad", defer_check=True)
    assert unchecked(path)
    with pytest.raises(IntegrityError, match="SHA-256"):
        check_deferred(path)
    assert list(path.parent.iterdir()) == []  # the file and its marker are gone

    with _serving(kind, pieces, good) as c:  # a deferred check that never ran (a crash)...
        [path] = c.download("a/b", ["d/x.bin"], local_dir=tmp_path / "crash", defer_check=True)
    assert unchecked(path)
    with _serving(kind, pieces, good) as c:  # ... then the file downloaded and checked inline
        c.download("a/b", ["d/x.bin"], local_dir=tmp_path / "crash")
    assert not unchecked(path) and path.read_bytes() == data
    assert _no_download_threads()


@pytest.mark.parametrize("kind", ["httpx", "direct"])
def test_download_write_errors_surface_and_leave_nothing_behind(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import hashlib

    calls = []

    def full(fd: int, pieces: list[bytes]) -> None:
        calls.append(fd)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        download.os.writev(fd, pieces)

    monkeypatch.setattr(download, "_write_all", full)
    pieces = [os.urandom(256 * 1024) for _ in range(64)]  # more batches than the queue holds
    headers = {
        "X-Linked-Size": str(256 * 1024 * 64),
        "X-Linked-Etag": f'"{hashlib.sha256(b"".join(pieces)).hexdigest()}"',
    }
    with _serving(kind, pieces, headers) as c, pytest.raises(OSError) as exc:
        c.download_file("a/b", "x.bin", local_dir=tmp_path)
    assert exc.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
    assert _no_download_threads()


def test_direct_download_errors_are_typed_and_redirects_fall_back(tmp_path: Path) -> None:
    import json

    data = os.urandom(3 * MiB + 5)

    def answer(path: str) -> Answer:
        if path.endswith("/moved.bin"):
            return 302, {"Location": path.replace("moved.bin", "here.bin")}, []
        if path.endswith("/here.bin"):
            return 200, {}, [data]
        body = json.dumps({"error": "Entry not found: gone.bin"}).encode()
        return 404, {"X-Error-Code": "EntryNotFound", "Content-Type": "application/json"}, [body]

    with _raw_hub(answer) as (c, asked):
        local = c.download_file("a/b", "moved.bin", local_dir=tmp_path)
        assert local.read_bytes() == data  # httpx followed the redirect the direct path left
        assert [p.rsplit("/", 1)[-1] for p in asked if "/resolve/" in p] == [
            "moved.bin",
            "moved.bin",
            "here.bin",
        ]
        with pytest.raises(EntryNotFound, match=r"gone\.bin") as exc:
            c.download_file("a/b", "gone.bin", local_dir=tmp_path)
        assert exc.value.status == 404
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moved.bin"]

    with (
        HubClient(f"http://127.0.0.1:{free_port()}", "t", progress=False) as c,
        pytest.raises(WorkbenchError) as exc,
    ):
        c.download_file("a/b", "x.bin", revision="a" * 40, local_dir=tmp_path)
    assert isinstance(exc.value, HubUnreachable)


def test_downloads_from_a_real_hub_take_the_direct_path(
    client: HubClient,
    uploaded: tuple[str, str],
    big_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the httpx path was taken")

    monkeypatch.setattr(download, "_fetch_httpx", refuse)
    rid, first = uploaded
    paths = client.download(rid, ["big.dat", "config.json", "empty.txt"], revision=first, local_dir=tmp_path)
    assert [p.read_bytes() for p in paths] == [
        (big_folder / name).read_bytes() for name in ("big.dat", "config.json", "empty.txt")
    ]
    with pytest.raises(EntryNotFound):
        client.download_file(rid, "nope.txt", revision=first, local_dir=tmp_path)
    secret = _unique("client-private")
    client.create_repo(secret, private=True)
    sha = client.upload(secret, {"s.dat": big_folder / "big.dat"})["commitOid"]
    with HubClient(client.url, "unused", progress=False) as anon:
        anon.token = None
        with pytest.raises(RepoNotFound):
            anon.download_file(secret, "s.dat", revision=sha, local_dir=tmp_path / "anon")
    assert not (tmp_path / "anon").exists() or not list((tmp_path / "anon").iterdir())
    assert _no_download_threads()
