"""GC of a blob store on a real S3 endpoint (moto's server, tests/support/s3.py).

The dead blobs of a deleted repo go, the live repo's stay, fsck is clean after, and the sweep
uses the listing's dates and bulk deletes: no DELETE request per blob, and no HEAD to date one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.s3 import S3Bucket
from workbench.config import HubSettings
from workbench.store.fsck import fsck
from workbench.store.gc import collect
from workbench.store.store import Store

pytest_plugins = ["tests.support.s3_fixtures"]
pytestmark = pytest.mark.s3

FILES = 30


@pytest.fixture
def store(s3_env: S3Bucket, tmp_path: Path) -> Iterator[Store]:
    url = s3_env.storage_url
    store = Store.open(HubSettings(data_dir=tmp_path / "data", storage_url=url, write_user_config=False))
    yield store
    store.close()


def _seed(store: Store) -> tuple[set[str], set[str]]:
    """Two repos of FILES LFS files each, one then deleted: (live, dead) blob hashes."""
    from workbench.store.accounts import create_user, principal_for
    from workbench.store.commits import AddFile, create_commit
    from workbench.store.repos import RepoKey, create_repo, delete_repo

    with store.write() as s:
        p = principal_for(s, create_user(s, "admin", admin=True), "write")
        for name in ("live", "gone"):
            create_repo(store, s, p, "model", "admin", name)
    held: dict[str, set[str]] = {}
    for name in ("live", "gone"):
        blobs = [store.blobs.ingest_bytes(f"{name} {i}".encode() * 100, git=False) for i in range(FILES)]
        ops = [AddFile(f"f{i}.bin", b, lfs=True) for i, b in enumerate(blobs)]
        create_commit(store, p, ("model", "admin", name), "main", ops, summary="files")
        held[name] = {b.sha256 for b in blobs}
    with store.write() as s:
        delete_repo(store, s, p, RepoKey("model", "admin", "gone"))
    return held["live"], held["gone"]


def count_s3_calls(store: Store, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The S3 API calls the store makes from now on, by method (until ``monkeypatch.undo``)."""
    calls: Counter[str] = Counter()
    fs: Any = store.blobs.fs
    call_s3 = fs._call_s3

    async def counted(method: str, *args: Any, **kwargs: Any) -> Any:
        calls[method] += 1
        return await call_s3(method, *args, **kwargs)

    monkeypatch.setattr(fs, "_call_s3", counted)
    return calls


def test_gc_on_s3_frees_the_dead_blobs_with_bulk_calls(
    store: Store, s3_env: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, dead = _seed(store)
    calls = count_s3_calls(store, monkeypatch)
    report = collect(store, grace=0, settle=0)
    assert report.blobs_freed == len(dead) and report.live_blobs > len(live)  # and .gitattributes
    stored = {key.rsplit("/", 1)[-1] for key in s3_env.keys()}
    assert live <= stored and not dead & stored and not any(k.endswith(".gc") for k in stored)
    # none to date the blobs (the listing has the dates); s3fs's copy asks each one's size
    assert calls["head_object"] <= len(dead) + 1
    assert calls["delete_object"] == 0
    assert calls["delete_objects"] == 2  # the originals after their copy, then the trash
    assert calls["copy_object"] == len(dead)
    monkeypatch.undo()
    assert fsck(store, verify_hashes=False).ok


def test_fsck_on_s3_lists_the_bucket_instead_of_asking_per_blob(
    store: Store, s3_env: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without hash checks fsck learns every blob's presence and size from one listing, and
    still finds a blob that went missing and one whose size changed."""
    live, dead = _seed(store)
    calls = count_s3_calls(store, monkeypatch)
    report = fsck(store, verify_hashes=False)
    assert report.ok, report.problems
    assert calls["head_object"] == 0 and calls["list_objects_v2"] <= 2, calls
    assert dead <= {n.subject for n in report.notes if n.kind == "orphan_blob"}
    monkeypatch.undo()

    gone, changed = sorted(live)[:2]
    fs: Any = store.blobs.fs
    fs.rm_file(store.blobs.key(gone))
    fs.pipe_file(store.blobs.key(changed), b"shorter")
    found = {(p.kind, p.subject) for p in fsck(store, verify_hashes=False).problems}
    assert ("missing_blob", gone) in found and ("blob_size_mismatch", changed) in found, found


def test_gc_on_s3_holds_commits_back_one_small_batch_at_a_time(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each hold of the writers moves at most ``OBJECT_BATCH`` blobs aside on object storage
    (copies over the network), so a large sweep never stops commits for long; the trash is
    still emptied in bulk."""
    from workbench.store import gc

    _live, dead = _seed(store)
    monkeypatch.setattr(gc, "OBJECT_BATCH", 10)
    calls = count_s3_calls(store, monkeypatch)
    report = collect(store, grace=0, settle=0)
    assert report.blobs_freed == len(dead)
    # one DeleteObjects per batch of originals (30 dead: 3), one for the trash
    assert calls["delete_objects"] == len(dead) // 10 + 1, calls
