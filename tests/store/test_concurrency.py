"""Twenty clients commit to one branch at the same moment, on SQLite and on PostgreSQL.

Without ``parent_commit`` every commit lands (the loser of a race is re-applied on the new
head); with the same ``parent_commit`` exactly one lands and the others get 412, losing nothing.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.hub import HubProcess

N = 20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest) -> HubProcess:
    """The session hub (SQLite), or a hub on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return request.getfixturevalue("hub")  # type: ignore[no-any-return]
    url = request.getfixturevalue("postgres_url")
    return request.getfixturevalue("hub_factory")(database_url=url)  # type: ignore[no-any-return]


def race(h: HubProcess, repo_id: str, *, parent_commit: str | None) -> list[tuple[int, str | int]]:
    """Upload N distinct files at once; (i, commit id) for 200, (i, status) otherwise."""
    barrier = threading.Barrier(N)

    def one(i: int) -> tuple[int, str | int]:
        api = HfApi(endpoint=h.url, token=h.token)
        barrier.wait(30)
        try:
            info = api.upload_file(
                path_or_fileobj=f"file {i}\n".encode(),
                path_in_repo=f"racers/{i:02d}.txt",
                repo_id=repo_id,
                commit_message=f"racer {i}",
                parent_commit=parent_commit,
            )
        except HfHubHTTPError as exc:
            assert exc.response is not None
            return i, exc.response.status_code
        return i, info.oid

    with ThreadPoolExecutor(N) as pool:
        return list(pool.map(one, range(N)))


def check(h: HubProcess, repo_id: str, results: list[tuple[int, str | int]]) -> list[int]:
    """Every answer is 200 or 412 (stale parent) and every acknowledged commit is in history and tree."""
    api = HfApi(endpoint=h.url, token=h.token)
    landed = [i for i, r in results if isinstance(r, str)]
    assert all(r == 412 for _, r in results if not isinstance(r, str)), results
    commits = {c.commit_id: c.title for c in api.list_repo_commits(repo_id)}
    files = set(api.list_repo_files(repo_id))
    for i, oid in results:
        if isinstance(oid, str):
            assert commits.get(oid) == f"racer {i}"
            assert f"racers/{i:02d}.txt" in files
    racers = {f for f in files if f.startswith("racers/")}
    assert racers == {f"racers/{i:02d}.txt" for i in landed}
    assert sorted(t for t in commits.values() if t.startswith("racer ")) == sorted(
        f"racer {i}" for i in landed
    )
    r = h.cli("hub", "fsck", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return landed


def test_concurrent_commits_all_land(target: HubProcess) -> None:
    api = HfApi(endpoint=target.url, token=target.token)
    rid = f"admin/race-{secrets.token_hex(3)}"
    api.create_repo(rid)
    results = race(target, rid, parent_commit=None)
    assert check(target, rid, results) == list(range(N)), results
    history = api.list_repo_commits(rid)
    assert len(history) == N + 1  # one linear chain on top of the initial commit


def test_concurrent_commits_with_same_parent(target: HubProcess) -> None:
    api = HfApi(endpoint=target.url, token=target.token)
    rid = f"admin/race-parent-{secrets.token_hex(3)}"
    api.create_repo(rid)
    head = api.list_repo_commits(rid)[0].commit_id
    results = race(target, rid, parent_commit=head)
    landed = check(target, rid, results)
    assert len(landed) == 1, results
    assert sum(1 for _, r in results if r == 412) == N - 1
    history = api.list_repo_commits(rid)
    assert [c.commit_id for c in history][1] == head and len(history) == 2


def test_same_new_content_in_many_repos_at_once(target: HubProcess) -> None:
    """Identical new blobs and trees written by concurrent transactions are stored once."""
    api = HfApi(endpoint=target.url, token=target.token)
    tag = secrets.token_hex(3)
    rids = [f"admin/same-{tag}-{i}" for i in range(N)]
    for rid in rids:
        api.create_repo(rid)
    barrier = threading.Barrier(N)

    def one(rid: str, body: bytes) -> int:
        barrier.wait(30)
        r = httpx.post(
            f"{target.url}/api/models/{rid}/commit/main",
            content=body,
            timeout=60,
            headers={"Authorization": f"Bearer {target.token}"},
        )
        return r.status_code

    rounds = 3  # the race is timing-dependent: give it several chances
    for n in range(rounds):
        content = f"the same new bytes {tag} {n}\n".encode()
        body = "\n".join(
            json.dumps(x)
            for x in [
                {"key": "header", "value": {"summary": "same"}},
                {
                    "key": "file",
                    "value": {
                        "path": f"same{n}.txt",
                        "encoding": "base64",
                        "content": base64.b64encode(content).decode(),
                    },
                },
            ]
        ).encode()
        with ThreadPoolExecutor(N) as pool:
            assert list(pool.map(one, rids, [body] * N)) == [200] * N
    for rid in rids:
        assert set(api.list_repo_files(rid)) == {".gitattributes", *(f"same{n}.txt" for n in range(rounds))}
    r = target.cli("hub", "fsck", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
