"""The team deployment of docs/deploy.md, end to end: three ``workbench hub serve`` processes,
each with its own data folder, on one PostgreSQL database and one S3 bucket (moto), behind
nginx configured from the page's own ``nginx`` block (tests/support/nginx.py).

The stock ``huggingface_hub`` client talks to nginx only; nginx sends requests round-robin,
so one upload's batch call, parts, completion and commit land on different processes.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.support.cluster import TeamHub
from tests.support.postgres import PostgresServer, create_database
from tests.support.s3 import S3Server
from workbench.store import models as m

pytest_plugins = ["tests.support.s3_fixtures"]
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.s3,
    pytest.mark.slow,
    # huggingface_hub's git-LFS upload hands httpx the part bytes as `data=`; not ours to fix
    pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"),
]

MiB = 1024 * 1024
CHUNK = 5 * MiB  # WORKBENCH_MULTIPART_CHUNK_BYTES: a 16 MiB file goes up in 4 parts
PAGE = 3  # WORKBENCH_TREE_PAGE_SIZE: tree listings page, with Link headers


@pytest.fixture(scope="module")
def team(
    postgres_server: PostgresServer, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TeamHub]:
    database_url = create_database(postgres_server, f"team_{uuid.uuid4().hex[:12]}")
    bucket = s3_server.create_bucket(f"wb-team-{uuid.uuid4().hex[:12]}")
    env = {"WORKBENCH_MULTIPART_CHUNK_BYTES": str(CHUNK), "WORKBENCH_TREE_PAGE_SIZE": str(PAGE)}
    hub = TeamHub(tmp_path_factory.mktemp("team"), database_url=database_url, bucket=bucket, env=env)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def _upload(
    api: HfApi, repo_id: str, name: str, data: bytes, *, xet: bool, monkeypatch: pytest.MonkeyPatch, **kw: Any
) -> str:
    with monkeypatch.context() as mp:
        mp.setattr(constants, "HF_HUB_DISABLE_XET", not xet)  # read at each upload
        info = api.upload_file(path_or_fileobj=data, path_in_repo=name, repo_id=repo_id, **kw)
    return str(info.oid)


def _proxied(team: TeamHub, pattern: str) -> list[tuple[str, str]]:
    """(upstream address, request id) of each request in nginx's log whose request line matches."""
    lines = team.proxy.access_log.read_text().splitlines()
    rows = [re.search(r'"([^"]*)" (\d+) \d+ \S+ (\S+) (\w+)$', line) for line in lines]
    return [(r.group(3), r.group(4)) for r in rows if r and re.search(pattern, r.group(1))]


def _logged(team: TeamHub, pattern: str, request_id: str) -> bool:
    """Whether nginx logged a request matching ``pattern`` with ``request_id`` (waiting a few
    seconds for the line of a request just answered)."""
    deadline = time.monotonic() + 5
    while request_id not in {i for _, i in _proxied(team, pattern)}:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _jobs(database_url: str, repo_id: str) -> list[m.Job]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as s:
            namespace, name = repo_id.split("/")
            repo = s.scalar(select(m.Repo.id).where(m.Repo.namespace == namespace, m.Repo.name == name))
            return list(s.scalars(select(m.Job).where(m.Job.repo_id == repo)))
    finally:
        engine.dispose()


def test_three_processes_serve_one_hub_through_nginx(
    team: TeamHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = HfApi(endpoint=team.url, token=team.token)
    auth = {"Authorization": f"Bearer {team.token}"}
    repo_id = "admin/shared"
    created = api.create_repo(repo_id)
    assert str(created).startswith(f"{team.url}/")  # from the Host nginx passes on

    # Any request may land on any process: nginx hands them round-robin to all three.
    answered = [httpx.get(f"{team.url}/api/models/{repo_id}", headers=auth) for _ in range(6)]
    assert {r.status_code for r in answered} == {200}
    assert {int(r.headers["x-workbench-pid"]) for r in answered} == team.pids()

    # git-LFS multipart: 4 parts of one file, the completion and the commit on several processes.
    lfs = os.urandom(3 * CHUNK + MiB)
    with monkeypatch.context() as mp:
        mp.setattr(constants, "HF_HUB_DISABLE_XET", True)
        info = api.upload_file(path_or_fileobj=lfs, path_in_repo="weights.bin", repo_id=repo_id)
    assert info.commit_url.startswith(f"{team.url}/")
    commit = info.oid
    parts = _proxied(team, r"^PUT /api/lfs/part/")
    assert len(parts) == 4 and len({upstream for upstream, _ in parts}) >= 2
    assert _proxied(team, r"^POST /api/lfs/complete/")
    # Xet (hf_xet, the default) through nginx: xorbs and the shard reach the bucket the same way.
    xet = os.urandom(3 * MiB)
    _upload(api, repo_id, "model.safetensors", xet, xet=True, monkeypatch=monkeypatch)
    assert _proxied(team, r"^POST /v1/xorbs/") and _proxied(team, r"^POST /v1/shards")
    entries = {e.path: e for e in api.get_paths_info(repo_id, ["weights.bin", "model.safetensors"])}
    assert entries["weights.bin"].lfs and entries["model.safetensors"].xet_hash
    assert commit in {c.commit_id for c in api.list_repo_commits(repo_id)}

    # Downloads through other processes: whole files with and without Xet, and ranges.
    for i, (name, data) in enumerate([("weights.bin", lfs), ("model.safetensors", xet)]):
        path = hf_hub_download(
            repo_id, name, endpoint=team.url, token=team.token, cache_dir=tmp_path / f"c{i}"
        )
        assert hashlib.sha256(Path(path).read_bytes()).digest() == hashlib.sha256(data).digest()
        r = httpx.get(f"{team.url}/{repo_id}/resolve/main/{name}", headers={**auth, "Range": "bytes=10-19"})
        assert (r.status_code, r.content) == (206, data[10:20])

    # A branch with a slash (the path goes through undecoded) and a paged tree listing whose
    # Link headers name nginx, followed by the client across processes.
    api.create_branch(repo_id, branch="feat/x")
    for i in range(PAGE + 1):
        _upload(
            api,
            repo_id,
            f"notes/{i}.txt",
            b"note %d\n" % i,
            xet=False,
            monkeypatch=monkeypatch,
            revision="feat/x",
        )
    r = httpx.get(f"{team.url}/api/models/{repo_id}/tree/feat%2Fx/notes", headers=auth)
    assert r.status_code == 200 and r.links["next"]["url"].startswith(f"{team.url}/")
    listed = api.list_repo_tree(repo_id, path_in_repo="notes", revision="feat/x")
    assert sorted(e.path for e in listed) == [f"notes/{i}.txt" for i in range(PAGE + 1)]

    # Request ids: the one nginx logged is the one the response and the hub's log carry.
    r = httpx.get(f"{team.url}/api/models/{repo_id}/revision/main", headers=auth)
    rid = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid) and _logged(team, r"/revision/main", rid)
    assert sum(rid in h.log_path.read_text() for h in team.hubs) == 1

    # Discussions and search: each process sees what the others wrote.
    discussion = api.create_discussion(repo_id, title="Which checkpoint is final?")
    for i in range(3):
        api.comment_discussion(repo_id, discussion.num, f"comment {i}")
    seen = [api.get_discussion_details(repo_id, discussion.num) for _ in range(3)]
    assert {tuple(e.content for e in d.events if e.type == "comment")[-3:] for d in seen} == {
        ("comment 0", "comment 1", "comment 2")
    }
    for _ in range(3):
        assert [x.id for x in api.list_models(search="shared")] == [repo_id]

    # A dataset commit is converted for the viewer exactly once, by one of the three.
    dataset = "admin/table"
    api.create_repo(dataset, repo_type="dataset")
    rows = "".join(f"{i},row {i}\n" for i in range(50))
    info = api.upload_file(
        path_or_fileobj=f"x,t\n{rows}".encode(),
        path_in_repo="train.csv",
        repo_id=dataset,
        repo_type="dataset",
    )
    deadline = time.monotonic() + 60
    while (status := httpx.get(f"{team.url}/api/datasets/{dataset}/viewer/status", headers=auth).json())[
        "status"
    ] not in ("done", "failed"):
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["status"] == "done" and status["commit"] == info.oid
    jobs = [j for j in _jobs(team.env["WORKBENCH_DATABASE_URL"], dataset) if j.kind == "parquet"]
    assert [(j.commit, j.status, j.attempts) for j in jobs] == [(info.oid, "done", 1)]
    assert len(api.list_repo_commits(dataset, repo_type="dataset", revision="refs/convert/parquet")) == 1
    page = httpx.get(
        f"{team.url}/api/datasets/{dataset}/viewer/rows",
        params={"split": "train", "offset": 49},
        headers=auth,
    )
    assert page.json()["num_rows_total"] == 50

    assert "consistent" in team.cli("hub", "fsck")


def _commits(api: HfApi, repo_id: str, stop: threading.Event, acked: list[str], errors: list[str]) -> None:
    i = 0
    while not stop.is_set():
        try:
            info = api.upload_file(
                path_or_fileobj=b"step %d\n" % i, path_in_repo=f"log/{i}.txt", repo_id=repo_id
            )
        except HfHubHTTPError as exc:  # the request that ran on the killed process; try again
            errors.append(f"commit {i}: {exc}")
            continue
        acked.append(str(info.oid))
        i += 1


def _lfs_uploads(
    api: HfApi, repo_id: str, stop: threading.Event, acked: list[str], errors: list[str]
) -> None:
    i = 0
    data = os.urandom(2 * CHUNK + MiB)
    while not stop.is_set():
        try:
            info = api.upload_file(path_or_fileobj=data, path_in_repo=f"big/{i}.bin", repo_id=repo_id)
        except HfHubHTTPError as exc:  # a re-run of the upload
            errors.append(f"upload {i}: {exc}")
            continue
        acked.append(str(info.oid))
        i += 1
        data = os.urandom(len(data))


def test_a_process_killed_during_uploads_loses_no_acknowledged_commit(
    team: TeamHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # git-LFS multipart, parts in flight
    api = HfApi(endpoint=team.url, token=team.token)
    repo_id = "admin/busy"
    api.create_repo(repo_id)
    stop = threading.Event()
    commits: list[str] = []
    uploads: list[str] = []
    errors: list[str] = []
    workers = [
        threading.Thread(target=_commits, args=(api, repo_id, stop, commits, errors)),
        threading.Thread(target=_lfs_uploads, args=(api, repo_id, stop, uploads, errors)),
    ]
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 60
        while len(commits) < 3 or len(uploads) < 1:
            assert time.monotonic() < deadline and all(w.is_alive() for w in workers), errors
            time.sleep(0.05)
        victim = team.hubs[-1]
        victim_pid = victim.proc.pid if victim.proc else 0
        victim.kill()  # SIGKILL: no cleanup, as in a crash
        before = (len(commits), len(uploads))
        while len(commits) < before[0] + 5 or len(uploads) < before[1] + 2:
            assert time.monotonic() < deadline and all(w.is_alive() for w in workers), errors
            time.sleep(0.05)
    finally:
        stop.set()
        for w in workers:
            w.join(60)

    # The two others answer everything now, reads included.
    auth = {"Authorization": f"Bearer {team.token}"}
    answered = [httpx.get(f"{team.url}/api/models/{repo_id}", headers=auth) for _ in range(6)]
    assert {r.status_code for r in answered} == {200}
    pids = {int(r.headers["x-workbench-pid"]) for r in answered}
    assert victim_pid not in pids and len(pids) == 2

    # Every acknowledged commit is in the history, with its file.
    history = {c.commit_id for c in api.list_repo_commits(repo_id)}
    assert set(commits + uploads) <= history
    files = set(api.list_repo_files(repo_id))
    assert {f"log/{i}.txt" for i in range(len(commits))} | {
        f"big/{i}.bin" for i in range(len(uploads))
    } <= files
    assert "consistent" in team.cli("hub", "fsck")
