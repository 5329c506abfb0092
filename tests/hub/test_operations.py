"""What an operator watches: request ids, JSON logs, /metrics (also across --workers), /health
and /ready, and a clear, retryable 503 while the database is down, with no restart after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.faults import Load
from tests.support.hub import HubProcess, free_port
from tests.support.postgres import PostgresServer, create_database
from tests.support.s3 import S3Server
from tests.xet.cas_client import auth, create_repo, lfs_upload
from workbench.client import HubClient


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(f"{url}/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _requests(samples: dict[Any, float], route: str, method: str = "GET", status: str = "2xx") -> float:
    key = ("workbench_requests_total", (("method", method), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


@pytest.fixture(scope="module")
def json_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    proc = HubProcess(tmp_path_factory.mktemp("ops-hub"), env={"WORKBENCH_LOG_FORMAT": "json"}).start()
    yield proc
    proc.stop()


def test_request_ids_reach_the_response_and_the_json_log(json_hub: HubProcess) -> None:
    r = httpx.get(f"{json_hub.url}/api/models", headers={"X-Request-Id": "trace-42.a"})
    assert r.status_code == 200 and r.headers["X-Request-Id"] == "trace-42.a"
    made = httpx.get(f"{json_hub.url}/api/models").headers["X-Request-Id"]
    assert len(made) == 32
    # A header that could forge log lines is replaced, not echoed.
    forged = httpx.get(f"{json_hub.url}/api/models", headers={"X-Request-Id": "x" * 200})
    assert forged.headers["X-Request-Id"] != "x" * 200
    missing = httpx.get(f"{json_hub.url}/api/models/nobody/nothing", headers={"X-Request-Id": "trace-43"})
    assert missing.status_code == 404 and missing.headers["X-Request-Id"] == "trace-43"
    time.sleep(0.3)
    lines = [json.loads(line) for line in json_hub.log_path.read_text().splitlines() if line.startswith("{")]
    by_id = {line["request_id"]: line for line in lines if line.get("logger") == "workbench.access"}
    assert by_id["trace-42.a"]["status"] == 200 and by_id["trace-42.a"]["route"] == "/api/{repo_type}"
    assert by_id["trace-43"]["status"] == 404 and by_id["trace-43"]["method"] == "GET"
    assert made in by_id and {"time", "level", "pid", "duration_ms"} <= set(by_id[made])


def test_metrics_count_requests_by_route_and_report_the_store(json_hub: HubProcess) -> None:
    before = _samples(json_hub.url)
    route = "/api/{repo_type}/{namespace}/{name}"
    for _ in range(3):
        httpx.get(f"{json_hub.url}/api/models/nobody/nothing")
    repo_id = create_repo(json_hub, "metered")
    httpx.get(f"{json_hub.url}/api/models/{repo_id}", headers=auth(json_hub.token))
    after = _samples(json_hub.url)
    assert _requests(after, route, status="4xx") - _requests(before, route, status="4xx") == 3
    assert _requests(after, route) - _requests(before, route) == 1
    count = ("workbench_request_seconds_count", (("method", "GET"), ("route", route)))
    assert after[count] - before.get(count, 0) == 4
    assert ("workbench_uploads_in_flight", ()) in after
    assert any(name == "workbench_db_pool_checked_out" for name, _ in after)
    assert httpx.get(f"{json_hub.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{json_hub.url}/ready").json() == {"status": "ready"}


def test_metrics_add_up_across_workers(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    env = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    env.pop("WORKBENCH_DATA", None)
    cmd = [sys.executable, "-m", "workbench", "hub", "serve", "--port", str(port), "--data", str(data)]
    out = subprocess.DEVNULL
    proc = subprocess.Popen([*cmd, "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        pids = set()
        n = 0
        with httpx.Client() as client:
            while len(pids) < 2 or n < 20:  # new connections land on either worker
                r = client.get(f"{url}/api/models/nobody/nothing", headers={"Connection": "close"})
                pids.add(r.headers["X-Workbench-Pid"])
                n += 1
                assert n < 400, "one worker answered every request"
        total = _requests(_samples(url), "/api/{repo_type}/{namespace}/{name}", status="4xx")
        assert total == n  # whichever worker answered /metrics counted both
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.postgres
def test_database_down_is_a_retryable_503_and_the_hub_recovers(tmp_path: Path) -> None:
    """PostgreSQL restarts while commits and reads run: every answer meanwhile is a quick 503
    with Retry-After, the hub reconnects by itself, every acknowledged commit is there after,
    nothing refused became visible, and fsck is clean."""
    server = PostgresServer()  # its own: this test stops it
    server.start()
    hub = HubProcess(tmp_path / "hub", database_url=create_database(server, "t_ops_down")).start()
    try:
        assert httpx.get(f"{hub.url}/api/models").status_code == 200
        repo_id = create_repo(hub, "during-restart")
        with Load(hub, repo_id, reads_must_succeed=False).running() as load:
            load.wait_for(commits=3)
            server.pause()
            try:
                r = httpx.get(f"{hub.url}/api/models", timeout=30)  # an answer, not a hang
                assert (r.status_code, r.headers["X-Error-Code"]) == (503, "DatabaseUnavailable"), r.text
                assert int(r.headers["Retry-After"]) > 0
                ready = httpx.get(f"{hub.url}/ready", timeout=30)
                assert ready.status_code == 503 and ready.headers["X-Error-Code"] == "DatabaseUnavailable"
                assert httpx.get(f"{hub.url}/health").status_code == 200  # alive, not ready
                refused = len(load.refused)
                deadline = time.monotonic() + 60
                while len(load.refused) < refused + 2:  # the load meets the outage too
                    assert time.monotonic() < deadline, (load.refused, load.errors)
                    time.sleep(0.1)
            finally:
                server.resume()
            done = len(load.commits)
            load.wait_for(commits=done + 3)  # commits go through again: no hub restart
        assert set(load.refused) == {(503, "DatabaseUnavailable")}, load.refused
        assert set(load.failed_reads) <= {(503, "DatabaseUnavailable")}, load.failed_reads
        load.check_after(hub)
        # HubClient waits as Retry-After asks and sends the request again: the database
        # coming back meanwhile, the caller sees an answer, not the outage.
        server.pause()
        with HubClient(hub.url, hub.token, progress=False) as client:
            threading.Timer(2.0, server.resume).start()
            assert client.create_repo("admin/after-outage").endswith("/admin/after-outage")
            assert client.repo_info("admin/after-outage")["private"] is False
        assert httpx.get(f"{hub.url}/ready").status_code == 200
        log = hub.log_path.read_text()
        assert "Traceback" not in log, log[log.find("Traceback") - 300 :][:4000]
    finally:
        hub.stop()
        server.stop()


@pytest.mark.s3
def test_storage_down_under_load_is_a_retryable_503_and_loses_nothing(tmp_path: Path) -> None:
    """The S3 endpoint stops (a stopped process: connections open, nothing answers, the worst
    case for a client) while commits and reads run, and starts again: every answer meanwhile
    is a quick 503 with Retry-After, reads that need no storage go on, nothing refused becomes
    visible, every acknowledged commit is there afterwards, and the hub needed no restart."""
    server = S3Server().start()  # its own: this test stops it
    try:
        bucket = server.create_bucket("wb-ops-down")
        timeout = 2.0
        env = bucket.hub_env() | {"WORKBENCH_STORAGE_TIMEOUT_SECONDS": str(timeout)}
        hub = HubProcess(tmp_path / "hub", env=env).start()
        try:
            repo_id = create_repo(hub, "stored")
            lfs_upload(hub, repo_id, {"w.bin": os.urandom(300_000)}, tmp_path)
            url = f"{hub.url}/{repo_id}/resolve/main/w.bin"
            assert httpx.get(url, headers=auth(hub.token)).status_code == 200
            with Load(hub, repo_id).running() as load:
                load.wait_for(commits=3)
                assert server.proc is not None
                os.kill(server.proc.pid, signal.SIGSTOP)
                try:
                    started = time.monotonic()
                    r = httpx.get(url, headers=auth(hub.token), timeout=60)
                    assert r.status_code == 503 and r.headers["X-Error-Code"] == "StorageUnavailable", r.text
                    # two bounded tries of the storage, not botocore's and s3fs's minutes
                    assert int(r.headers["Retry-After"]) > 0 and time.monotonic() - started < 8 * timeout
                    ready = httpx.get(f"{hub.url}/ready", timeout=60)
                    assert ready.status_code == 503 and ready.headers["X-Error-Code"] == "StorageUnavailable"
                    assert httpx.get(f"{hub.url}/health").status_code == 200
                    refused, reads = len(load.refused), load.reads
                    deadline = time.monotonic() + 60
                    while len(load.refused) < refused + 2 or load.reads < reads + 2:
                        assert time.monotonic() < deadline, (load.refused, load.reads, load.errors)
                        time.sleep(0.1)
                finally:
                    os.kill(server.proc.pid, signal.SIGCONT)
                done = len(load.commits)
                load.wait_for(commits=done + 3)  # commits go through again, no restart
            assert load.refused and set(load.refused) == {(503, "StorageUnavailable")}, load.refused
            load.check_after(hub)  # acknowledged commits there, refused ones not, fsck clean
            assert httpx.get(url, headers=auth(hub.token)).status_code == 200
            assert httpx.get(f"{hub.url}/ready").status_code == 200
        finally:
            hub.stop()
    finally:
        server.stop()
