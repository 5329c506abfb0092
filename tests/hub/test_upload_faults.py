"""Faults around uploads, each under a bounded load of small commits and reads on a real hub
process: the disk under the upload spool folder fills up, and a client trickles its body.

After each fault every acknowledged commit is in the history and ``workbench hub fsck`` is
clean. The full disk is a tmpfs mounted on the hub's data folder (its ``tmp/``, where every
upload is spooled, lives on the same filesystem as the blobs, which are renamed from there);
mounting needs root, so that test is skipped elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import HfHubHTTPError

from tests.support.faults import Load
from tests.support.hub import HubProcess

pytestmark = [
    # huggingface_hub's git-LFS upload hands httpx the bytes as `data=`; not ours to fix
    pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"),
]

MiB = 1024 * 1024


def _spooled(hub: HubProcess) -> list[str]:
    return sorted(p.name for p in (hub.data / "tmp").glob("upload-*"))


def _blob(hub: HubProcess, sha: str) -> Path:
    return hub.data / "blobs" / sha[:2] / sha[2:4] / sha


# -- the spool folder's disk is full ---------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs for the hub's data folder."""
    data = tmp_path / "hub" / "data"
    data.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(data)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"mount refused: {mounted.stderr.decode().strip()}")
    try:
        yield data
    finally:
        if subprocess.run(["umount", str(data)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(data)], check=False)


def _fill(data: Path, *, leave: int) -> Path:
    """A file taking all the free space of ``data``'s filesystem but ``leave`` bytes."""
    st = os.statvfs(data)
    filler = data / "filler"
    with open(filler, "wb") as f:
        f.truncate(0)
        remaining = st.f_bavail * st.f_frsize - leave
        block = b"\0" * MiB
        while remaining > 0:
            remaining -= f.write(block[: min(len(block), remaining)])
    return filler


def test_a_full_spool_disk_answers_507_keeps_nothing_and_the_hub_goes_on(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # git-LFS: one PUT, spooled
    env = {"WORKBENCH_BUILTIN_METRICS": "false"}
    hub = HubProcess(small_disk.parent, env=env).start()
    try:
        api = HfApi(endpoint=hub.url, token=hub.token)
        repo_id = "admin/full-disk"
        api.create_repo(repo_id)
        big = os.urandom(8 * MiB)
        sha = hashlib.sha256(big).hexdigest()
        with Load(hub, repo_id).running() as load:
            load.wait_for(commits=3)
            filler = _fill(small_disk, leave=2 * MiB)
            with pytest.raises(RuntimeError) as refused:  # huggingface_hub wraps LFS errors
                api.upload_file(path_or_fileobj=big, path_in_repo="weights.bin", repo_id=repo_id)
            assert isinstance(refused.value.__cause__, HfHubHTTPError), refused.value
            r = refused.value.__cause__.response
            assert r.status_code == 507, r.text
            assert r.headers["x-error-code"] == "InsufficientStorage"
            assert "temporary storage is full" in r.headers["x-error-message"]
            # nothing partial: no spool file, no blob, no commit
            assert _spooled(hub) == []
            assert not _blob(hub, sha).exists()
            assert "weights.bin" not in api.list_repo_files(repo_id)
            reads = load.reads
            load.wait_for(commits=0, reads=reads + 3)  # reads go on while the disk is full

            filler.unlink()
            done = len(load.commits)
            load.wait_for(commits=done + 3)  # and commits once space is freed
            info = api.upload_file(path_or_fileobj=big, path_in_repo="weights.bin", repo_id=repo_id)
            assert info.oid
        # a commit refused meanwhile was refused cleanly, never a 500
        assert {code for _, code in load.refused} <= {"InsufficientStorage"}, load.refused
        assert {status for status, _ in load.refused} <= {507}
        assert _blob(hub, sha).read_bytes() == big
        assert _spooled(hub) == []
        load.check_after(hub)
    finally:
        hub.stop()


# -- a client trickles its body --------------------------------------------------------------
def _lfs_upload_url(hub: HubProcess, repo_id: str, oid: str, size: int) -> httpx.URL:
    r = httpx.post(
        f"{hub.url}/{repo_id}.git/info/lfs/objects/batch",
        headers={"Authorization": f"Bearer {hub.token}", "Accept": "application/vnd.git-lfs+json"},
        json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]},
    )
    r.raise_for_status()
    return httpx.URL(r.json()["objects"][0]["actions"]["upload"]["href"])


class SlowClient:
    """A raw HTTP request whose body goes out ``step`` bytes every ``every`` seconds (none at
    all with ``step=0``) until the hub answers; ``response()`` is what the hub answered."""

    def __init__(
        self, url: httpx.URL, method: str, *, length: int, step: int, every: float = 0.2, token: str = ""
    ) -> None:
        self.sock = socket.create_connection((url.host, url.port or 80), timeout=60)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = (
            f"{method} {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n{auth}"
            f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n"
        )
        self.sock.sendall(head.encode())
        self.step, self.every, self.sent = step, every, 0
        self.answered = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.answered.is_set() and self.step:
            try:
                self.sock.sendall(b"x" * self.step)
            except OSError:  # the hub answered and closed the connection
                return
            self.sent += self.step
            time.sleep(self.every)

    def response(self) -> tuple[int, dict[str, str], str]:
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data) < _framed_length(data):
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            self.answered.set()
            self.thread.join(10)
            self.sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        return int(lines[0].split()[1]), headers, body.decode()


def _framed_length(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return len(head) + 4 + int(value)
    return len(data)


def test_a_trickling_body_starves_nobody_and_the_timeout_ends_it(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "hub", env={"WORKBENCH_REQUEST_BODY_TIMEOUT_SECONDS": "2"}).start()
    try:
        api = HfApi(endpoint=hub.url, token=hub.token)
        repo_id = "admin/slow"
        api.create_repo(repo_id)
        size = MiB
        oid = hashlib.sha256(b"y" * size).hexdigest()
        url = _lfs_upload_url(hub, repo_id, oid, size)
        commit_url = httpx.URL(f"{hub.url}/api/models/{repo_id}/commit/main")
        with Load(hub, repo_id).running() as load:
            load.wait_for(commits=2)
            trickler = SlowClient(url, "PUT", length=size, step=8)  # 40 bytes a second
            staller = SlowClient(commit_url, "POST", length=4096, step=0, token=hub.token)  # no body
            # Others are answered while the two hold their connections.
            done, reads = len(load.commits), load.reads
            load.wait_for(commits=done + 2, reads=reads + 2)
            auth = {"Authorization": f"Bearer {hub.token}"}
            assert httpx.get(f"{hub.url}/api/health", timeout=60).status_code == 200
            assert httpx.get(f"{hub.url}/api/models/{repo_id}", headers=auth, timeout=60).status_code == 200
            for client in (trickler, staller):
                status, headers, body = client.response()
                assert status == 408, body
                assert headers["x-error-code"] == "RequestBodyTimeout"
                assert "too slowly" in headers["x-error-message"]
            assert 0 < trickler.sent < size
        # nothing partial: no spool file, no blob, no commit beyond the load's
        assert _spooled(hub) == []
        assert not _blob(hub, oid).exists()
        load.check_after(hub)
        assert len(api.list_repo_commits(repo_id)) == len(load.commits) + 1  # + the initial commit
    finally:
        hub.stop()


_XET_UPLOAD = """
import os, sys
from huggingface_hub import HfApi
api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"])
try:
    api.upload_file(path_or_fileobj=sys.argv[2], path_in_repo="xet.bin", repo_id=sys.argv[1])
except Exception as exc:
    print(f"REFUSED {exc}")
    sys.exit(3)
"""


def _xet_upload(hub: HubProcess, repo_id: str, path: Path) -> subprocess.CompletedProcess[str]:
    """The stock client with hf_xet in a process of its own, told to try each request once
    (hf_xet reads its retry settings when it starts)."""
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
        "HF_HOME": str(path.parent / "hf-home"),
        "HF_HUB_DISABLE_XET": "0",
        "HF_XET_CLIENT_RETRY_MAX_ATTEMPTS": "1",
        "HF_XET_CLIENT_RETRY_BASE_DELAY_MS": "50",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
    }
    return subprocess.run(
        [sys.executable, "-c", _XET_UPLOAD, repo_id, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _stored_blobs(hub: HubProcess) -> list[str]:
    return sorted(p.name for p in (hub.data / "blobs").rglob("*") if p.is_file())


def test_a_full_disk_refuses_inline_multipart_xet_and_database_writes_cleanly(
    small_disk: Path, tmp_path: Path
) -> None:
    """Every other way in meets a full disk as the git-LFS PUT does: 507 and nothing kept."""
    env = {"WORKBENCH_BUILTIN_METRICS": "false", "WORKBENCH_MULTIPART_CHUNK_BYTES": str(MiB)}
    hub = HubProcess(small_disk.parent, env=env).start()
    auth = {"Authorization": f"Bearer {hub.token}"}
    try:
        api = HfApi(endpoint=hub.url, token=hub.token)
        repo_id = "admin/full-disk-ways"
        api.create_repo(repo_id)
        discussion = api.create_discussion(repo_id, title="notes").num
        head = api.model_info(repo_id).sha
        stored_before = _stored_blobs(hub)
        xet_file = tmp_path / "xet.bin"
        xet_file.write_bytes(os.urandom(3 * MiB))
        filler = _fill(small_disk, leave=512 * 1024)

        # inline: a 3 MiB file in the NDJSON commit body
        content = base64.b64encode(os.urandom(3 * MiB)).decode()
        lines = [
            {"key": "header", "value": {"summary": "inline"}},
            {"key": "file", "value": {"path": "inline.bin", "encoding": "base64", "content": content}},
        ]
        r = httpx.post(
            f"{hub.url}/api/models/{repo_id}/commit/main",
            content="\n".join(json.dumps(line) for line in lines),
            headers={**auth, "Content-Type": "application/x-ndjson"},
            timeout=60,
        )
        assert (r.status_code, r.headers.get("x-error-code")) == (507, "InsufficientStorage"), r.text

        # git-LFS multipart: parts of 1 MiB, the first already does not fit
        big = os.urandom(3 * MiB)
        oid = hashlib.sha256(big).hexdigest()
        r = httpx.post(
            f"{hub.url}/{repo_id}.git/info/lfs/objects/batch",
            headers={**auth, "Accept": "application/vnd.git-lfs+json"},
            json={
                "operation": "upload",
                "transfers": ["multipart"],
                "objects": [{"oid": oid, "size": len(big)}],
            },
        )
        upload = r.json()["objects"][0]["actions"]["upload"]
        header = upload["header"]
        answers = []
        for n in range(1, 4):
            part = httpx.put(header[str(n)], content=big[(n - 1) * MiB : n * MiB], timeout=60)
            answers.append(part.status_code)
            if part.status_code != 200:
                assert part.headers.get("x-error-code") == "InsufficientStorage", part.text
                break
        assert answers == [507]
        # the part is not counted as received (a retry sends it again); the staging of an
        # upload never completed is swept from tmp/ after a day, as any abandoned one
        assert not (hub.data / "tmp" / f"multipart-{oid}.parts" / "1").exists()

        # Xet: the stock client's xorb upload is refused; no blob is kept (nor was one above)
        done = _xet_upload(hub, repo_id, xet_file)
        assert done.returncode == 3, done.stdout + done.stderr
        assert _stored_blobs(hub) == stored_before

        # the database itself: comments until SQLite needs a page the disk does not have
        filler.unlink()
        filler = _fill(small_disk, leave=0)
        posted, refused = [], []
        for i in range(400):
            r = httpx.post(
                f"{hub.url}/api/models/{repo_id}/discussions/{discussion}/comment",
                headers=auth,
                json={"comment": f"note {i} " + "x" * 16000},
                timeout=60,
            )
            if r.status_code == 507:
                refused.append(r.headers.get("x-error-code"))
                break
            assert r.status_code == 200, (r.status_code, r.text)
            posted.append(i)
        assert refused == ["InsufficientStorage"], "the database never ran out of space"
        assert httpx.get(f"{hub.url}/api/models/{repo_id}", headers=auth).status_code == 200  # reads go on

        # nothing of any refused write is visible, and every write works once space is freed
        filler.unlink()
        assert _spooled(hub) == []
        assert api.model_info(repo_id).sha == head
        api.upload_file(path_or_fileobj=b"after\n", path_in_repo="after.txt", repo_id=repo_id)
        for n in range(1, 4):  # the multipart upload resumes where it was refused
            httpx.put(header[str(n)], content=big[(n - 1) * MiB : n * MiB], timeout=60).raise_for_status()
        httpx.post(upload["href"], json={"oid": oid, "parts": []}, timeout=60).raise_for_status()
        assert _blob(hub, oid).read_bytes() == big
        done = _xet_upload(hub, repo_id, xet_file)
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(_stored_blobs(hub)) > len(stored_before)  # the xorb and the file's blobs
        assert api.list_repo_files(repo_id) == [".gitattributes", "after.txt", "xet.bin"]
        thread = api.get_discussion_details(repo_id, discussion)
        notes = [e.content for e in thread.events if e.type == "comment" and e.content.startswith("note")]
        assert [int(n.split()[1]) for n in notes] == posted
        fsck = hub.cli("hub", "fsck", "--json", check=False)
        assert fsck.returncode == 0 and json.loads(fsck.stdout)["ok"], fsck.stdout
    finally:
        hub.stop()
