"""``workbench hub serve --workers N``: N uvicorn worker processes that serve one hub.

A real ``workbench hub serve --workers 3`` on a fresh data folder: the once-only start-up
(migrations, admin, metric spaces, signing key) runs before the workers start, every worker
answers, a git-LFS upload whose steps land on different workers is read back through another
one, and SIGTERM to the parent stops every process it started.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.hub import HubProcess, free_port

WORKERS = 3
PID_HEADER = "X-Workbench-Pid"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[HubProcess]:
    """``workbench hub serve --workers 3`` as a subprocess, stopped (SIGTERM) at the end."""
    hub = HubProcess(tmp_path, port=free_port())
    hub.root.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "workbench", "hub", "serve", "--workers", str(WORKERS)]
    cmd += ["--port", str(hub.port), "--data", str(hub.data)]
    with open(hub.log_path, "ab") as log:
        hub.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=hub.env())
    try:
        _wait_for_workers(hub)
        hub.token = json.loads((hub.config_home / "workbench" / "config.json").read_text())["token"]
        yield hub
    finally:
        hub.stop()


def _workers(hub: HubProcess) -> set[int]:
    """The uvicorn worker processes among the serve command's children (multiprocessing spawn)."""
    assert hub.proc is not None
    return {
        child.pid
        for child in psutil.Process(hub.proc.pid).children()
        if any("spawn_main" in part for part in child.cmdline())
    }


def _pid(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    return int(response.headers[PID_HEADER])


def _wait_for_workers(hub: HubProcess, timeout: float = 120) -> None:
    """Until the hub answers and as many worker processes as asked for exist."""
    assert hub.proc is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.proc.poll() is not None:
            raise RuntimeError(f"hub exited with {hub.proc.returncode}:\n{hub.log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{hub.url}/api/health", timeout=2).status_code == 200 and (
                len(_workers(hub)) >= WORKERS
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"hub did not start {WORKERS} workers:\n{hub.log_path.read_text()[-3000:]}")


def _clients_by_worker(hub: HubProcess, pids: set[int], timeout: float = 120) -> dict[int, httpx.Client]:
    """A keep-alive client per worker that answered before ``timeout`` (a client's one
    connection stays on one process; the kernel hands each new connection to some worker)."""
    clients: dict[int, httpx.Client] = {}
    headers = {"Authorization": f"Bearer {hub.token}"}
    deadline = time.monotonic() + timeout
    while set(clients) != pids and time.monotonic() < deadline:
        client = httpx.Client(
            base_url=hub.url, headers=headers, timeout=30, limits=httpx.Limits(max_connections=1)
        )
        pid = _pid(client.get("/api/health"))
        if pid in clients:
            client.close()
        else:
            clients[pid] = client
    return clients


def test_serve_workers_share_one_hub(served: HubProcess) -> None:
    hub = served
    workers = _workers(hub)
    assert len(workers) == WORKERS

    clients = _clients_by_worker(hub, workers)
    try:
        # every worker answers requests, and nothing else does
        assert set(clients) == workers
        (a, via_a), (b, via_b) = list(clients.items())[:2]

        # a git-LFS upload: the batch on one worker, the signed PUT and the read on another
        repo = "admin/across-workers"
        assert _pid(via_a.post("/api/repos/create", json={"name": repo})) == a
        data = b"bytes that cross worker processes\n" * 1000
        oid = hashlib.sha256(data).hexdigest()
        objects = [{"oid": oid, "size": len(data)}]
        batch = via_a.post(
            f"/{repo}.git/info/lfs/objects/batch",
            json={"operation": "upload", "transfers": ["basic"], "objects": objects},
        )
        assert _pid(batch) == a
        actions = batch.json()["objects"][0]["actions"]
        assert _pid(via_b.put(actions["upload"]["href"], content=data)) == b  # signed by a, checked by b
        verify = via_b.post(actions["verify"]["href"], json={"oid": oid, "size": len(data)})
        assert _pid(verify) == b
        lines = [
            {"key": "header", "value": {"summary": "across workers"}},
            {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "size": len(data), "oid": oid}},
        ]
        commit = via_a.post(
            f"/api/models/{repo}/commit/main",
            content="\n".join(json.dumps(line) for line in lines),
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert _pid(commit) == a
        read = via_b.get(f"/{repo}/resolve/main/w.bin")
        assert _pid(read) == b
        assert read.content == data
        assert read.headers["X-Repo-Commit"] == commit.json()["commitOid"]
        info = via_b.get(f"/api/models/{repo}")
        assert _pid(info) == b and info.json()["sha"] == commit.json()["commitOid"]
    finally:
        for client in clients.values():
            client.close()

    # SIGTERM to the parent stops every process it started: workers and the viewer's jobs child
    assert hub.proc is not None
    started = psutil.Process(hub.proc.pid).children(recursive=True)
    assert len(started) > WORKERS  # the workers, the jobs child, multiprocessing's tracker
    hub.stop()
    assert hub.proc.returncode == 0, hub.log_path.read_text()[-3000:]
    _gone, alive = psutil.wait_procs(started, timeout=30)
    assert alive == []
