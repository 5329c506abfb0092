"""SIGKILL the hub mid-upload and mid-commit; after a restart every branch is a complete commit.

DESIGN.md, "Commits are atomic": blobs are verified and renamed into place before one database
transaction writes the commit and moves the branch, so a crash at any point leaves each branch
at a complete commit, and a commit acknowledged with 200 survives.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.hf_api import RepoFile

from tests.support.hub import HubProcess
from workbench.store.trees import git_blob_oid

MiB = 1024 * 1024


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def restart() -> Iterator[Callable[[HubProcess], HubProcess]]:
    """Start a new hub process on the data folder (and database) of a killed one."""
    started: list[HubProcess] = []

    def again(h: HubProcess) -> HubProcess:
        new = HubProcess(h.root, database_url=h.database_url, env=h.extra_env)
        started.append(new)
        return new.start()

    yield again
    for h in started:
        h.stop()


def auth(h: HubProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {h.token}"}


def ndjson(summary: str, files: dict[str, bytes] = {}, lfs: dict[str, bytes] = {}) -> bytes:  # noqa: B006
    lines = [{"key": "header", "value": {"summary": summary}}]
    lines += [
        {"key": "file", "value": {"path": p, "encoding": "base64", "content": base64.b64encode(d).decode()}}
        for p, d in files.items()
    ]
    lines += [
        {
            "key": "lfsFile",
            "value": {"path": p, "algo": "sha256", "size": len(d), "oid": hashlib.sha256(d).hexdigest()},
        }
        for p, d in lfs.items()
    ]
    return "\n".join(json.dumps(x) for x in lines).encode()


def commit(h: HubProcess, repo_id: str, body: bytes, client: httpx.Client | None = None) -> str:
    post = client.post if client is not None else httpx.post
    r = post(
        f"{h.url}/api/models/{repo_id}/commit/main",
        content=body,
        headers={**auth(h), "Content-Type": "application/x-ndjson"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["commitOid"])


def lfs_batch(h: HubProcess, repo_id: str, data: bytes, *, multipart: bool = False) -> dict:
    r = httpx.post(
        f"{h.url}/{repo_id}.git/info/lfs/objects/batch",
        headers=auth(h),
        json={
            "operation": "upload",
            "transfers": ["basic", "multipart"] if multipart else ["basic"],
            "objects": [{"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}],
        },
    )
    r.raise_for_status()
    return dict(r.json()["objects"][0])


def lfs_upload(h: HubProcess, repo_id: str, data: bytes, *, multipart: bool = False) -> None:
    """The whole git-LFS upload of ``data``, as the HF clients do it."""
    obj = lfs_batch(h, repo_id, data, multipart=multipart)
    if "actions" not in obj:
        return
    upload = obj["actions"]["upload"]
    header = upload.get("header") or {}
    if "chunk_size" in header:
        size = int(header["chunk_size"])
        parts = []
        for n in range(1, len(header)):
            r = httpx.put(header[str(n)], content=data[(n - 1) * size : n * size])
            r.raise_for_status()
            parts.append({"partNumber": n, "etag": r.headers["etag"]})
        httpx.post(upload["href"], json={"oid": obj["oid"], "parts": parts}).raise_for_status()
    else:
        httpx.put(upload["href"], content=data).raise_for_status()
    httpx.post(
        obj["actions"]["verify"]["href"], headers=auth(h), json={"oid": obj["oid"], "size": obj["size"]}
    ).raise_for_status()


class Stalled:
    """A request whose body is sent from a generator that stops halfway until the hub dies."""

    def __init__(
        self, send: Callable[[Iterator[bytes]], httpx.Response], chunks: Iterator[bytes], stall_after: int
    ) -> None:
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None
        self.response: httpx.Response | None = None
        self.sent = 0

        def body() -> Iterator[bytes]:
            for chunk in chunks:
                if self.sent >= stall_after and not self.stalled.is_set():
                    self.stalled.set()
                    self.release.wait(60)
                yield chunk
                self.sent += len(chunk)
                time.sleep(0.001)  # slowly

        def run() -> None:
            try:
                self.response = send(body())
            except httpx.HTTPError as exc:
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def finish(self) -> None:
        self.release.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def pieces(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def tmp_files(h: HubProcess, pattern: str) -> list[Path]:
    return [p for p in (h.data / "tmp").glob(pattern) if p.is_file() and p.stat().st_size > 0]


def blob_file(h: HubProcess, data: bytes) -> Path:
    sha = hashlib.sha256(data).hexdigest()
    return h.data / "blobs" / sha[:2] / sha[2:4] / sha


def check_hub(h: HubProcess) -> dict[str, dict[str, bytes]]:
    """Every branch head of every repo is a complete commit whose files all download intact.

    Returns the files of ``main`` of each repo; ``workbench hub fsck`` must pass too.
    """
    api = HfApi(endpoint=h.url, token=h.token)
    mains: dict[str, dict[str, bytes]] = {}
    with httpx.Client(headers=auth(h), follow_redirects=True, timeout=60) as client:
        for model in api.list_models(author="admin"):
            for branch in api.list_repo_refs(model.id).branches:
                files: dict[str, bytes] = {}
                for entry in api.list_repo_tree(model.id, revision=branch.target_commit, recursive=True):
                    if not isinstance(entry, RepoFile):
                        continue
                    r = client.get(f"{h.url}/{model.id}/resolve/{branch.target_commit}/{entry.path}")
                    assert r.status_code == 200, (model.id, branch.name, entry.path, r.text)
                    data = r.content
                    assert len(data) == entry.size
                    if entry.lfs is not None:
                        assert hashlib.sha256(data).hexdigest() == entry.lfs.sha256
                    else:
                        assert git_blob_oid(data) == entry.blob_id
                    files[entry.path] = data
                if branch.name == "main":
                    mains[model.id] = files
    r = h.cli("hub", "fsck", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return mains


def commit_ids(h: HubProcess, repo_id: str) -> list[str]:
    return [c.commit_id for c in HfApi(endpoint=h.url, token=h.token).list_repo_commits(repo_id)]


# -- (a) a large inline commit, killed mid-body -----------------------------------------------


def test_kill_during_large_inline_commit(hub_factory, restart) -> None:  # type: ignore[no-untyped-def]
    h = hub_factory()
    api = HfApi(endpoint=h.url, token=h.token)
    rid = "admin/inline"
    api.create_repo(rid)
    before = commit(h, rid, ndjson("small", {"small.txt": b"acknowledged before the crash\n"}))

    big = bytes(range(256)) * (50 * MiB // 256)
    encoded = base64.b64encode(big)
    body = (
        (
            json.dumps({"key": "header", "value": {"summary": "big"}})
            + "\n"
            + '{"key":"file","value":{"content":"'
        ).encode()
        + encoded
        + b'","path":"big.bin","encoding":"base64"}}\n'
    )
    with httpx.Client(timeout=60) as client:
        upload = Stalled(
            lambda chunks: client.post(
                f"{h.url}/api/models/{rid}/commit/main",
                content=chunks,
                headers={**auth(h), "Content-Type": "application/x-ndjson"},
            ),
            pieces(body),
            stall_after=len(body) // 2,
        )
        upload.stalled.wait(30)
        # the hub streams the content to a temporary file once the line outgrows memory
        wait_for(lambda: bool(tmp_files(h, "upload-*")))
        h.kill()
        upload.finish()
    assert upload.response is None and upload.error is not None

    h2 = restart(h)
    mains = check_hub(h2)
    # the half-written temporary file is harmless: a note for fsck, never a blob
    report = json.loads(h2.cli("hub", "fsck", "--json").stdout)
    leftovers = {n["subject"] for n in report["notes"] if n["kind"] == "temp_file"}
    assert leftovers == {str(p) for p in (h2.data / "tmp").glob("upload-*")}
    assert set(mains[rid]) == {".gitattributes", "small.txt"}  # the killed commit is absent
    assert commit_ids(h2, rid)[0] == before
    assert not blob_file(h2, big).exists()
    # the same upload succeeds after the restart
    commit(h2, rid, body)
    assert check_hub(h2)[rid]["big.bin"] == big


# -- (b) LFS uploads, killed mid-PUT -----------------------------------------------------------


def test_kill_during_lfs_uploads(hub_factory, restart) -> None:  # type: ignore[no-untyped-def]
    h = hub_factory(env={"WORKBENCH_MULTIPART_CHUNK_BYTES": str(MiB)})
    api = HfApi(endpoint=h.url, token=h.token)
    rid = "admin/lfs"
    api.create_repo(rid)
    done = bytes(range(256)) * (3 * MiB // 256) + b"done"
    lfs_upload(h, rid, done, multipart=True)
    before = commit(h, rid, ndjson("done", lfs={"done.bin": done}))

    basic = hashlib.sha256(b"basic").digest() * (10 * MiB // 32)
    parts = hashlib.sha256(b"parts").digest() * (3 * MiB // 32) + b"tail"
    obj = lfs_batch(h, rid, basic)
    put_basic = Stalled(
        lambda chunks: httpx.put(obj["actions"]["upload"]["href"], content=chunks, timeout=60),
        pieces(basic),
        stall_after=6 * MiB,
    )
    mobj = lfs_batch(h, rid, parts, multipart=True)
    header = mobj["actions"]["upload"]["header"]
    assert int(header["chunk_size"]) == MiB and "4" in header
    httpx.put(header["1"], content=parts[:MiB]).raise_for_status()
    put_part = Stalled(
        lambda chunks: httpx.put(header["2"], content=chunks, timeout=60),
        pieces(parts[MiB : 2 * MiB], 64 * 1024),
        stall_after=MiB // 2,
    )
    put_basic.stalled.wait(30)
    put_part.stalled.wait(30)
    wait_for(lambda: bool(tmp_files(h, "upload-*")))  # the basic PUT is being written
    time.sleep(0.2)
    h.kill()
    put_basic.finish()
    put_part.finish()
    assert put_basic.response is None and put_part.response is None

    h2 = restart(h)
    for data in (basic, parts):
        assert not blob_file(h2, data).exists()  # nothing half-written is ever in the store
        assert "actions" in lfs_batch(h2, rid, data, multipart=True)  # the hub asks for it again
        r = httpx.post(
            f"{h2.url}/api/lfs/verify",
            headers=auth(h2),
            json={"oid": hashlib.sha256(data).hexdigest(), "size": len(data)},
        )
        assert r.status_code == 404
    mains = check_hub(h2)
    assert mains[rid]["done.bin"] == done
    assert commit_ids(h2, rid)[0] == before
    r = httpx.post(
        f"{h2.url}/api/models/{rid}/commit/main",
        content=ndjson("too early", lfs={"basic.bin": basic}),
        headers=auth(h2),
    )
    assert r.status_code == 400  # an object that was never fully uploaded cannot be committed

    # uploading again after the restart works, over whatever the crash left behind
    lfs_upload(h2, rid, basic)
    lfs_upload(h2, rid, parts, multipart=True)
    commit(h2, rid, ndjson("after restart", lfs={"basic.bin": basic, "parts.bin": parts}))
    mains = check_hub(h2)
    assert (mains[rid]["basic.bin"], mains[rid]["parts.bin"]) == (basic, parts)


# -- (c) many small commits, killed in the middle ------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_kill_during_commit_loop(
    backend: str,
    hub_factory,
    restart,  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    h = hub_factory(database_url=url)
    api = HfApi(endpoint=h.url, token=h.token)
    rid = "admin/loop"
    api.create_repo(rid)
    acked: list[tuple[int, str]] = []
    attempted: list[int] = []
    stop = threading.Event()
    failure: list[BaseException] = []

    def loop() -> None:
        with httpx.Client(timeout=30) as client:
            i = 0
            while not stop.is_set():
                attempted.append(i)
                body = ndjson(
                    f"commit {i}", {f"f/{i:05d}.txt": f"file {i}\n".encode(), "counter.txt": str(i).encode()}
                )
                try:
                    acked.append((i, commit(h, rid, body, client)))
                except httpx.HTTPError as exc:
                    failure.append(exc)
                    return
                i += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    wait_for(lambda: len(acked) >= 30)
    h.kill()
    stop.set()
    thread.join(30)
    assert failure, "the kill should have interrupted a commit"

    h2 = restart(h)
    files = check_hub(h2)[rid]
    last = int(files["counter.txt"])
    # all acknowledged commits are there; the one in flight is wholly there or wholly absent
    assert acked[-1][0] <= last <= attempted[-1]
    assert {p for p in files if p.startswith("f/")} == {f"f/{i:05d}.txt" for i in range(last + 1)}
    assert all(files[f"f/{i:05d}.txt"] == f"file {i}\n".encode() for i in range(last + 1))
    ids = commit_ids(h2, rid)
    assert len(ids) == last + 2  # plus the initial commit
    assert {oid for _, oid in acked} <= set(ids)
    # and the hub takes new commits on top
    commit(h2, rid, ndjson("after restart", {"after.txt": b"after"}))
    assert check_hub(h2)[rid]["after.txt"] == b"after"
