"""Garbage collection of the blob store, against a real hub serving while GC runs.

Unreferenced blobs older than the grace period go, younger ones and everything a commit of an
existing repo names stay; a deleted repo's unique LFS blob and Xet objects are freed while
content another repo holds is kept; a GC racing uploads of the same content loses no
acknowledged commit; one GC at a time; after every run ``fsck`` is clean.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.store.test_fsck import blob_path, upload_lfs
from tests.support.hub import HubProcess
from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store.fsck import fsck
from workbench.store.gc import LOCK_KEY, GcLock, GcRunning, collect
from workbench.store.store import Store

OLD = time.time() - 2 * 3600
# huggingface_hub sends a BytesIO (the git-LFS path; Xet takes no buffers) with httpx's
# deprecated ``data=``: its own warning, not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw:DeprecationWarning")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub_and_store(request: pytest.FixtureRequest, hub_factory) -> Iterator[tuple[HubProcess, Store]]:  # type: ignore[no-untyped-def]
    """A hub of its own (nothing else in it) on SQLite or a fresh PostgreSQL database, and the
    store of its data folder and database, opened here as ``workbench hub gc`` opens it."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    h = hub_factory(env={"WORKBENCH_BUILTIN_METRICS": "false"}, database_url=url)
    store = Store.open(HubSettings(data_dir=h.data, database_url=url, write_user_config=False))
    yield h, store
    store.close()


def _api(h: HubProcess):  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    return HfApi(endpoint=h.url, token=h.token)


def _repo_with(h: HubProcess, repo_id: str, data: bytes, path: str = "w.bin"):  # type: ignore[no-untyped-def]
    """A new repo holding ``data`` as an LFS file (a buffer goes by git-LFS, not Xet); its commit."""
    api = _api(h)
    api.create_repo(repo_id)
    return api.upload_file(path_or_fileobj=io.BytesIO(data), path_in_repo=path, repo_id=repo_id)


def _age(path: Path) -> None:
    os.utime(path, (OLD, OLD))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _assert_clean(store: Store) -> None:
    report = fsck(store)
    assert report.ok, report.problems


def _download(h: HubProcess, repo_id: str, path: str, revision: str = "main") -> bytes:
    r = httpx.get(
        f"{h.url}/{repo_id}/resolve/{revision}/{path}",
        headers={"Authorization": f"Bearer {h.token}"},
        follow_redirects=True,
    )
    r.raise_for_status()
    return r.content


def test_old_orphans_go_young_ones_and_referenced_blobs_stay(hub_and_store) -> None:  # type: ignore[no-untyped-def]
    h, store = hub_and_store
    api = _api(h)
    kept = os.urandom(50_000)
    _repo_with(h, "admin/kept", kept)
    old_orphan, young_orphan = os.urandom(40_000), os.urandom(40_000)
    upload_lfs(h, "admin/kept", old_orphan)  # uploaded, never committed
    upload_lfs(h, "admin/kept", young_orphan)
    for path in (blob_path(h, old_orphan), blob_path(h, kept)):
        _age(path)

    dry = collect(store, grace=3600, dry_run=True)
    assert (dry.blobs_freed, dry.bytes_freed) == (1, len(old_orphan))
    assert blob_path(h, old_orphan).exists()  # a dry run deletes nothing
    with store.read() as s:
        assert s.get(m.Blob, _sha(old_orphan)) is not None

    report = collect(store, grace=3600, settle=0)
    assert (report.blobs_freed, report.bytes_freed, report.young_blobs) == (1, len(old_orphan), 1)
    assert dry.longest_hold_s == 0 < report.longest_hold_s  # only a real run holds commits back
    assert not blob_path(h, old_orphan).exists()
    assert blob_path(h, young_orphan).exists() and blob_path(h, kept).exists()
    with store.read() as s:
        assert s.get(m.Blob, _sha(old_orphan)) is None
        assert s.get(m.Blob, _sha(young_orphan)) is not None
    assert _download(h, "admin/kept", "w.bin") == kept
    _assert_clean(store)
    # The freed content can be uploaded and committed again.
    api.upload_file(path_or_fileobj=io.BytesIO(old_orphan), path_in_repo="again.bin", repo_id="admin/kept")
    assert _download(h, "admin/kept", "again.bin") == old_orphan
    assert collect(store, grace=0).blobs_freed == 1  # the young orphan, with no grace
    _assert_clean(store)


def test_history_keeps_an_overwritten_file(hub_and_store) -> None:  # type: ignore[no-untyped-def]
    h, store = hub_and_store
    api = _api(h)
    first, second = os.urandom(30_000), os.urandom(30_000)
    old = _repo_with(h, "admin/history", first)
    api.upload_file(path_or_fileobj=io.BytesIO(second), path_in_repo="w.bin", repo_id="admin/history")
    api.create_branch("admin/history", branch="side", revision=old.oid)
    api.delete_branch("admin/history", branch="side")  # no ref reaches the first commit now
    collect(store, grace=0)
    assert blob_path(h, first).exists()  # every commit of an existing repo is live
    assert _download(h, "admin/history", "w.bin", old.oid) == first
    assert _download(h, "admin/history", "w.bin") == second
    _assert_clean(store)


def test_squashed_history_frees_the_overwritten_file(hub_and_store) -> None:  # type: ignore[no-untyped-def]
    h, store = hub_and_store
    api = _api(h)
    first, second = os.urandom(30_000), os.urandom(30_000)
    old = _repo_with(h, "admin/squashed", first)
    api.upload_file(path_or_fileobj=io.BytesIO(second), path_in_repo="w.bin", repo_id="admin/squashed")
    api.super_squash_history("admin/squashed")
    (head,) = api.list_repo_commits("admin/squashed")
    assert head.commit_id != old.oid
    with store.read() as s:  # the dropped commits are gone, not only unreachable
        assert s.get(m.Commit, old.oid) is None
    report = collect(store, grace=0)
    assert report.blobs_freed == 1 and report.bytes_freed == len(first)
    assert not blob_path(h, first).exists()
    assert _download(h, "admin/squashed", "w.bin") == second
    _assert_clean(store)


def test_deleting_a_repo_frees_its_unique_blobs_and_xet_objects(hub_and_store) -> None:  # type: ignore[no-untyped-def]
    h, store = hub_and_store
    api = _api(h)
    shared, unique = os.urandom(60_000), os.urandom(60_000)
    xet_data = os.urandom(1_500_000)
    for name in ("admin/doomed", "admin/survivor"):
        _repo_with(h, name, shared, "shared.bin")
    api.upload_file(path_or_fileobj=io.BytesIO(unique), path_in_repo="unique.bin", repo_id="admin/doomed")
    api.upload_file(path_or_fileobj=xet_data, path_in_repo="x.safetensors", repo_id="admin/doomed")  # Xet
    (entry,) = api.get_paths_info("admin/doomed", ["x.safetensors"])
    assert entry.xet_hash
    with store.read() as s:
        xorbs = {x.hash: x.blob_sha256 for x in s.scalars(select(m.XetXorb))}
        shards = [x.blob_sha256 for x in s.scalars(select(m.XetShard))]
        assert s.get(m.XetFile, entry.xet_hash) is not None and xorbs and shards

    nothing = collect(store, grace=0)  # all of it is referenced
    assert (nothing.blobs_freed, nothing.xet_files_freed, nothing.xorbs_freed) == (0, 0, 0)

    api.delete_repo("admin/doomed")
    kept = collect(store, grace=0)  # xorbs stay for the uploader's hf_xet cache (21 days)
    assert (kept.xet_files_freed, kept.xorbs_freed, kept.shards_freed) == (1, 0, 0)
    assert all(store.blobs.exists(sha) for sha in xorbs.values())
    report = collect(store, grace=0, xet_grace=0)
    assert not blob_path(h, unique).exists()
    assert blob_path(h, shared).exists()
    assert (report.xet_files_freed, report.xorbs_freed, report.shards_freed) == (0, len(xorbs), len(shards))
    assert kept.blobs_freed + report.blobs_freed == 1 + len(xorbs) + len(shards)
    with store.read() as s:
        assert s.get(m.XetFile, entry.xet_hash) is None
        assert s.scalar(select(m.XetXorb.hash)) is None and s.scalar(select(m.XetShard.blob_sha256)) is None
    for sha in [*xorbs.values(), *shards]:
        assert not store.blobs.exists(sha)
    assert _download(h, "admin/survivor", "shared.bin") == shared
    _assert_clean(store)


def test_young_xet_uploads_are_kept(hub_and_store) -> None:  # type: ignore[no-untyped-def]
    """Xorbs and a shard uploaded but not committed yet are kept within the grace period."""
    from huggingface_hub import CommitOperationAdd

    h, store = hub_and_store
    api = _api(h)
    api.create_repo("admin/pending")
    op = CommitOperationAdd(path_in_repo="x.safetensors", path_or_fileobj=os.urandom(800_000))
    api.preupload_lfs_files("admin/pending", additions=[op])  # through Xet; no commit follows
    with store.read() as s:
        assert s.scalar(select(m.XetFile.hash)) is not None
    report = collect(store, grace=3600)
    assert (report.xet_files_freed, report.xorbs_freed, report.shards_freed) == (0, 0, 0)
    report = collect(store, grace=0, xet_grace=0)
    assert report.xet_files_freed == 1 and report.xorbs_freed >= 1 and report.shards_freed == 1
    _assert_clean(store)


def test_the_uploader_can_upload_freed_xet_content_again(hub_and_store) -> None:  # type: ignore[no-untyped-def]
    """hf_xet deduplicates against the shards of its past uploads without asking the hub: with
    the default Xet grace the xorbs of a deleted repo stay, so the same content uploads again."""
    h, store = hub_and_store
    api = _api(h)
    data = os.urandom(1_200_000)
    for repo_id in ("admin/first", "admin/second"):
        api.create_repo(repo_id)
        api.upload_file(path_or_fileobj=data, path_in_repo="x.safetensors", repo_id=repo_id)
        api.delete_repo(repo_id)
        assert collect(store, grace=0).xet_files_freed == 1
    api.create_repo("admin/third")
    api.upload_file(path_or_fileobj=data, path_in_repo="x.safetensors", repo_id="admin/third")
    assert _download(h, "admin/third", "x.safetensors") == data
    _assert_clean(store)


def test_second_gc_is_refused_and_a_stale_lock_taken_over(hub_and_store) -> None:  # type: ignore[no-untyped-def]
    _h, store = hub_and_store
    lock = GcLock(store)
    lock.acquire()
    with pytest.raises(GcRunning, match="Another GC is running since"):
        collect(store, grace=0)
    lock.release()
    collect(store, grace=0)  # released: the next run goes ahead
    with store.write() as s:  # a GC that died two hours ago
        stale = {
            "token": "x",
            "pid": 1,
            "host": "gone",
            "since": "2026-01-01T00:00:00Z",
            "heartbeat": "2026-01-01T00:00:00",
        }
        s.add(m.KeyValue(key=LOCK_KEY, value=json.dumps(stale)))
    collect(store, grace=0)
    with store.read() as s:
        assert s.get(m.KeyValue, LOCK_KEY) is None


def test_a_run_that_died_mid_sweep_is_undone(hub_and_store) -> None:  # type: ignore[no-untyped-def]
    """Blobs left in the trash by a crash go back before the next run decides again."""
    h, store = hub_and_store
    data = os.urandom(20_000)
    _repo_with(h, "admin/crash", data)
    src = blob_path(h, data)
    trash = Path(store.blobs.root) / "gc-trash" / f"{_sha(data)}.gc"
    trash.parent.mkdir(parents=True)
    os.replace(src, trash)
    assert not fsck(store).ok
    collect(store, grace=0)
    assert src.exists() and not trash.exists()
    assert _download(h, "admin/crash", "w.bin") == data
    _assert_clean(store)


def test_gc_racing_uploads_of_the_same_content_loses_nothing(hub_and_store) -> None:  # type: ignore[no-untyped-def]
    """GC without grace runs in a loop while a client uploads the same LFS and inline content to
    new repos and deletes the previous ones (so the content keeps dying and being "already
    there"). Every acknowledged commit's files stay byte-identical through later GC runs."""
    from huggingface_hub.errors import HfHubHTTPError

    h, store = hub_and_store
    api = _api(h)
    lfs, text = os.urandom(200_000), b"same small text file\n" * 20
    stop = threading.Event()
    runs: list[int] = []
    freed: list[int] = []
    errors: list[BaseException] = []

    def gc_loop() -> None:
        try:
            while not stop.is_set():
                report = collect(store, grace=0, settle=0.2)
                runs.append(1)
                freed.append(report.blobs_freed)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    def wait_runs(n: int) -> None:
        target = len(runs) + n
        deadline = time.monotonic() + 60
        while len(runs) < target and not errors and time.monotonic() < deadline:
            time.sleep(0.02)

    thread = threading.Thread(target=gc_loop)
    thread.start()
    acknowledged, refused = [], 0
    try:
        previous = None
        for i in range(10):
            repo_id = f"admin/race-{i}"
            api.create_repo(repo_id)
            if previous is not None:
                api.delete_repo(previous)  # the content is dead now, but still stored for a while
                if i % 2:  # swept (the second run began after the delete): upload it anew
                    wait_runs(2)  # else "already there"
            for _attempt in range(5):
                try:
                    info = api.create_commit(
                        repo_id,
                        operations=[
                            _add(io.BytesIO(lfs), "w.bin"),
                            _add(io.BytesIO(text), "notes.txt"),
                        ],
                        commit_message=f"upload {i}",
                    )
                except (HfHubHTTPError, RuntimeError) as exc:
                    # Without grace, GC may take the content between the upload (or the "already
                    # there") and the commit: a clean 400/404 that says to upload again.
                    cause = exc if isinstance(exc, HfHubHTTPError) else exc.__cause__
                    assert isinstance(cause, HfHubHTTPError) and cause.response is not None, exc
                    assert cause.response.status_code in (400, 404), exc
                    refused += 1
                    continue
                acknowledged.append((repo_id, info.oid))
                break
            wait_runs(2)  # GC ran after the commit was acknowledged
            assert _download(h, repo_id, "w.bin", info.oid) == lfs
            assert _download(h, repo_id, "notes.txt", info.oid) == text
            previous = repo_id
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert len(acknowledged) == 10 and len(runs) >= 10
    assert sum(freed) > 0  # the race was real: the content was swept between uploads
    last_repo, last_oid = acknowledged[-1]
    assert _download(h, last_repo, "w.bin", last_oid) == lfs
    _assert_clean(store)


def _add(fileobj: io.BytesIO, path: str):  # type: ignore[no-untyped-def]
    from huggingface_hub import CommitOperationAdd

    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=fileobj)
