"""The conversion queue: it survives ``kill -9``, and hub processes sharing it never run a job twice.

Each test starts its own hubs on one data folder (SQLite, then PostgreSQL). Workers are
switched off with ``WORKBENCH_VIEWER_WORKERS=0`` where jobs must wait in the queue, and the
lease is short so that a dead worker's job is taken over within seconds.
"""

from __future__ import annotations

import io
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, update

from tests.support.hub import HubProcess, free_port
from tests.viewer.test_viewer import wait_converted, wait_indexed
from workbench.client import HubClient
from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store.store import Store, utcnow

QUIET = {"WORKBENCH_VIEWER_WORKERS": "0", "WORKBENCH_VIEWER_LEASE_SECONDS": "2"}
BUSY = {"WORKBENCH_VIEWER_WORKERS": "2", "WORKBENCH_VIEWER_LEASE_SECONDS": "2"}


def jobs(hub: HubProcess, kind: str = "parquet") -> list[m.Job]:
    store = Store.open(HubSettings(data_dir=hub.data, database_url=hub.database_url, write_user_config=False))
    try:
        with store.read() as s:
            return list(s.scalars(select(m.Job).where(m.Job.kind == kind).order_by(m.Job.id)))
    finally:
        store.close()


def conversions(client: HubClient, repo: str) -> list[dict[str, Any]]:
    return client.log(repo, type="dataset", revision="refs/convert/parquet")


def make_datasets(client: HubClient, n: int, *, rows: int = 50) -> dict[str, str]:
    """``n`` CSV datasets with train and test splits; returns {repo: commit}."""
    out = {}
    for i in range(n):
        repo = f"admin/queue-{i}-{secrets.token_hex(3)}"
        client.create_repo(repo, type="dataset")
        df = pd.DataFrame({"x": np.arange(rows) * (i + 1), "t": [f"row {j}" for j in range(rows)]})
        files = {
            "train.csv": df.to_csv(index=False).encode(),
            "test.csv": df.iloc[:5].to_csv(index=False).encode(),
        }
        out[repo] = client.upload(repo, files, type="dataset")["commitOid"]
    return out


def test_jobs_survive_kill_9(tmp_path: Path) -> None:
    first = HubProcess(tmp_path / "hub", env=QUIET).start()
    client = HubClient(first.url, first.token, progress=False)
    try:
        commits = make_datasets(client, 2)
    finally:
        client.close()
    first.kill()  # two jobs pending, nobody working on them
    (waiting, crashed) = list(commits)
    queued = jobs(first)
    assert [j.status for j in queued] == ["pending", "pending"]
    # as a worker that died (kill -9) in the middle of a conversion leaves its job
    store = Store.open(HubSettings(data_dir=first.data, write_user_config=False))
    try:
        with store.write() as s:
            s.execute(
                update(m.Job)
                .where(m.Job.commit == commits[crashed])
                .values(
                    status="running",
                    attempts=1,
                    worker="dead-host:1:0:000000",
                    lease_until=utcnow() + timedelta(seconds=2),
                )
            )
    finally:
        store.close()

    second = HubProcess(tmp_path / "hub", env={**QUIET, "WORKBENCH_VIEWER_WORKERS": "1"})
    second.start()
    client = HubClient(second.url, second.token, progress=False)
    try:
        for repo, commit in commits.items():
            assert wait_converted(second, repo, commit=commit)["status"] == "done"
            assert len(conversions(client, repo)) == 1
            page = client.request(
                "GET", client.api_path(repo, "dataset", "viewer", "rows"), params={"split": "train"}
            ).json()
            assert page["num_rows_total"] == 50
        done = {j.commit: j for j in jobs(second)}
        assert done[commits[waiting]].attempts == 1
        assert done[commits[crashed]].attempts == 2  # taken over once its lease expired
        assert {j.status for j in done.values()} == {"done"}
    finally:
        client.close()
        second.stop()


def test_kill_9_during_a_conversion(tmp_path: Path) -> None:
    """A real crash mid-conversion: the restarted hub converts the commit exactly once."""
    hub = HubProcess(tmp_path / "hub", env={**BUSY, "WORKBENCH_VIEWER_WORKERS": "1"}).start()
    client = HubClient(hub.url, hub.token, progress=False)
    repo = f"admin/crash-{secrets.token_hex(3)}"
    rng = np.random.default_rng(0)
    n = 400_000
    df = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.integers(0, 10**9, n), "c": rng.choice(["x", "y", "z"], n)}
    )
    buf = io.BytesIO()
    df.to_csv(buf, index=False)
    try:
        client.create_repo(repo, type="dataset")
        commit = client.upload(repo, {"train.csv": buf.getvalue()}, type="dataset")["commitOid"]
        seen_running = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = httpx.get(f"{hub.url}/api/datasets/{repo}/viewer/status").json()
            if status["status"] == "running":
                seen_running = True
                break
            if status["status"] == "done":
                break
            time.sleep(0.01)
    finally:
        client.close()
    hub.kill()
    hub.start()
    client = HubClient(hub.url, hub.token, progress=False)
    try:
        assert wait_converted(hub, repo, commit=commit)["status"] == "done"
        assert len(conversions(client, repo)) == 1
        job = next(j for j in jobs(hub) if j.commit == commit)
        assert job.attempts == (2 if seen_running else 1)
        page = client.request(
            "GET",
            client.api_path(repo, "dataset", "viewer", "rows"),
            params={"split": "train", "offset": n - 1},
        ).json()
        assert page["num_rows_total"] == n
        assert page["rows"][0]["row"]["b"] == int(df.b.iloc[-1])
    finally:
        client.close()
        hub.stop()


def _two_hubs_share_the_queue(root: Path, database_url: str | None) -> None:
    maker = HubProcess(root, database_url=database_url, env=QUIET).start()
    client = HubClient(maker.url, maker.token, progress=False)
    try:
        commits = make_datasets(client, 6)
    finally:
        client.close()
        maker.stop()
    hubs = [HubProcess(root, port=free_port(), database_url=database_url, env=BUSY) for _ in range(2)]
    try:
        for h in hubs:
            h.start()
        for i, (repo, commit) in enumerate(commits.items()):
            status = wait_converted(hubs[i % 2], repo, commit=commit)
            assert status["status"] == "done", status
        client = HubClient(hubs[0].url, hubs[0].token, progress=False)
        try:
            for repo in commits:
                assert len(conversions(client, repo)) == 1, repo
        finally:
            client.close()
        done = jobs(hubs[0])
        assert [(j.status, j.attempts) for j in done] == [("done", 1)] * 6
        assert len({j.result for j in done}) == 6
        deadline = time.monotonic() + 60  # then each conversion's statistics, once each
        while {j.status for j in jobs(hubs[0], "statistics")} != {"done"}:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        stats = jobs(hubs[0], "statistics")
        assert sorted(j.commit for j in stats) == sorted(j.result for j in done)
        assert {j.attempts for j in stats} == {1}
        pids = {j.worker.split(":")[1] for j in done if j.worker}
        assert pids <= {str(h.proc.pid) for h in hubs if h.proc}
    finally:
        for h in hubs:
            h.stop()


def test_two_hubs_never_convert_a_commit_twice(tmp_path: Path) -> None:
    _two_hubs_share_the_queue(tmp_path / "hub", None)


@pytest.mark.postgres
def test_two_hubs_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    _two_hubs_share_the_queue(tmp_path / "hub", postgres_url)


@pytest.mark.postgres
def test_conversion_and_queries_on_postgresql(hub_factory: Any, postgres_url: str) -> None:
    hub = hub_factory(database_url=postgres_url)
    client = HubClient(hub.url, hub.token, progress=False)
    try:
        ((repo, commit),) = make_datasets(client, 1, rows=300).items()
        assert wait_converted(hub, repo, commit=commit)["status"] == "done"
        base = f"{hub.url}/api/datasets/{repo}/viewer"
        headers = {"Authorization": f"Bearer {hub.token}"}
        splits = httpx.get(f"{base}/splits", headers=headers).json()["splits"]
        assert [(s["split"], s["num_rows"]) for s in splits] == [("train", 300), ("test", 5)]
        rows = httpx.get(f"{base}/rows", params={"split": "train", "offset": 290}, headers=headers).json()
        assert [r["row"]["x"] for r in rows["rows"]] == list(range(290, 300))
        wait_indexed(hub, repo)  # the full-text index job runs on PostgreSQL's queue too
        found = httpx.get(
            f"{base}/search", params={"split": "train", "query": "row 29"}, headers=headers
        ).json()
        assert found["ranked"] is True  # words, the last a prefix: 29 and 290..299, not 129
        assert sorted(r["row"]["x"] for r in found["rows"]) == [29, *range(290, 300)]
        filtered = httpx.get(
            f"{base}/filter",
            params={"split": "train", "where": "x >= 295", "orderby": "x desc"},
            headers=headers,
        ).json()
        assert [r["row"]["x"] for r in filtered["rows"]] == [299, 298, 297, 296, 295]
        bad = httpx.get(f"{base}/filter", params={"split": "train", "where": "x = 1; drop"}, headers=headers)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidFilter"
        stats = httpx.get(f"{base}/statistics", params={"split": "train"}, headers=headers).json()
        x = stats["statistics"][0]["column_statistics"]
        assert (x["min"], x["max"], x["mean"]) == (0, 299, pytest.approx(149.5))
        again = httpx.get(f"{base}/statistics", params={"split": "train"}, headers=headers).json()
        assert again == stats
    finally:
        client.close()


def test_datasets_older_than_the_viewer_are_converted_at_start(tmp_path: Path) -> None:
    first = HubProcess(tmp_path / "hub", env=QUIET).start()
    client = HubClient(first.url, first.token, progress=False)
    try:
        ((repo, commit),) = make_datasets(client, 1).items()
        client.create_repo(f"admin/empty-{secrets.token_hex(3)}", type="dataset")
    finally:
        client.close()
        first.stop()
    store = Store.open(HubSettings(data_dir=first.data, write_user_config=False))
    try:
        with store.write() as s:  # as if the repo had been made before migration 0003
            s.query(m.Job).delete()
    finally:
        store.close()
    second = HubProcess(tmp_path / "hub", env={**QUIET, "WORKBENCH_VIEWER_WORKERS": "1"}).start()
    try:
        assert wait_converted(second, repo, commit=commit)["status"] == "done"
        assert [j.commit for j in jobs(second)] == [commit]  # not the empty repo's first commit
    finally:
        second.stop()


def _job_children(pid: int) -> list[Any]:
    import psutil

    return [p for p in psutil.Process(pid).children() if "workbench.viewer.jobs" in " ".join(p.cmdline())]


@pytest.mark.parametrize("ending", ["stop", "kill"])
def test_jobs_run_in_a_child_process_that_ends_with_the_hub(tmp_path: Path, ending: str) -> None:
    """Conversions run in a child process (not holding the hub's GIL), named for the hub's pid
    in the jobs table; the child goes when the hub stops, and when it is killed (-9)."""
    import psutil

    hub = HubProcess(tmp_path / "hub", env=BUSY).start()
    try:
        assert hub.proc is not None
        (child,) = _job_children(hub.proc.pid)
        client = HubClient(hub.url, hub.token, progress=False)
        try:
            commits = make_datasets(client, 1)
        finally:
            client.close()
        ((repo, commit),) = commits.items()
        assert wait_converted(hub, repo, commit=commit)["status"] == "done"
        (job,) = [j for j in jobs(hub) if j.commit == commit]
        assert job.worker is not None and job.worker.split(":")[1] == str(hub.proc.pid)
        assert child.is_running() and child.pid != hub.proc.pid
        hub.stop() if ending == "stop" else hub.kill()
        _, alive = psutil.wait_procs([child], timeout=15)
        assert not alive, f"the job process outlived the hub ({ending})"
    finally:
        hub.stop()
