"""Backups of a blob store on a real S3 endpoint (moto's server), into S3 and out of it.

On one endpoint with the same keys, blobs are copied server-side (CopyObject), several at a
time, both ways; where the storage refuses copies, or the other side is elsewhere (a local
folder), they are streamed. An incremental backup learns which blobs the folder holds, and the
sizes of the stored ones, from listings: no request per blob that it does not copy. What comes
back passes fsck and holds the same bytes.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.s3 import S3Bucket, S3Server
from workbench.config import HubSettings
from workbench.errors import ServiceUnavailable
from workbench.store.backup import backup, list_snapshots, restore
from workbench.store.blob_copy import CONCURRENCY, same_s3_identity
from workbench.store.fsck import fsck
from workbench.store.store import Store

pytest_plugins = ["tests.support.s3_fixtures"]
pytestmark = pytest.mark.s3

BLOBS = 25


@pytest.fixture
def settings(s3_env: S3Bucket, tmp_path: Path) -> HubSettings:
    return HubSettings(data_dir=tmp_path / "data", storage_url=s3_env.storage_url, write_user_config=False)


@pytest.fixture
def store(settings: HubSettings) -> Iterator[Store]:
    store = Store.open(settings)
    yield store
    store.close()


@dataclass
class S3Calls:
    """The S3 API calls of every s3fs file system in this process: by method, the keys each
    named, and the most copies in flight at once."""

    methods: Counter[str] = field(default_factory=Counter)
    keys: dict[str, list[str]] = field(default_factory=dict)
    copying: int = 0
    most_copying: int = 0

    def clear(self) -> None:
        self.methods.clear()
        self.keys.clear()

    def blob_reads(self) -> list[str]:
        """GETs of blob bytes (not of the index or a snapshot's files)."""
        return [
            k for k in self.keys.get("get_object", []) if "/snapshots/" not in k and "backup.json" not in k
        ]


@pytest.fixture
def s3_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Calls]:
    import s3fs

    calls = S3Calls()
    call_s3 = s3fs.S3FileSystem._call_s3

    async def counted(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        calls.methods[method] += 1
        calls.keys.setdefault(method, []).append(str(kwargs.get("Key", "")))
        copy = method in ("copy_object", "upload_part_copy")
        calls.copying += copy
        calls.most_copying = max(calls.most_copying, calls.copying)
        try:
            return await call_s3(self, method, *args, **kwargs)
        finally:
            calls.copying -= copy

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", counted)
    yield calls


def _seed(store: Store, count: int = BLOBS) -> dict[str, bytes]:
    """``count`` LFS files committed to one repo (so fsck checks them): their bytes by hash."""
    from workbench.store.accounts import create_user, principal_for
    from workbench.store.commits import AddFile, create_commit
    from workbench.store.repos import create_repo

    with store.write() as s:
        p = principal_for(s, create_user(s, "admin", admin=True), "write")
        create_repo(store, s, p, "model", "admin", "kept")
    data = [f"blob {i}".encode() * 50 for i in range(count)]
    infos = [store.blobs.ingest_bytes(d, git=False) for d in data]
    ops = [AddFile(f"f{i}.bin", info, lfs=True) for i, info in enumerate(infos)]
    create_commit(store, p, ("model", "admin", "kept"), "main", ops, summary="files")
    return {info.sha256: d for info, d in zip(infos, data, strict=True)}


def _restore(source: str, tmp_path: Path, storage_url: str) -> HubSettings:
    """Restore ``source`` into a new data folder and ``storage_url``; the restored hub's settings."""
    target = HubSettings(data_dir=tmp_path / "restored", storage_url=storage_url, write_user_config=False)
    restore(source, target)
    return target


def _assert_restored(target: HubSettings, blobs: dict[str, bytes]) -> None:
    """The restored hub passes fsck (hashes checked) and holds the same bytes."""
    restored = Store.open(target)
    try:
        report = fsck(restored)
        assert report.ok, report.to_dict()
        assert {sha: restored.blobs.read(sha) for sha in blobs} == blobs
    finally:
        restored.close()


def test_incremental_backup_on_s3_asks_nothing_per_blob_it_skips(
    store: Store, settings: HubSettings, s3_env: S3Bucket, s3_calls: S3Calls
) -> None:
    for i in range(BLOBS):
        store.blobs.ingest_bytes(f"blob {i}".encode() * 50, git=False)
    dest = f"s3://{s3_env.name}/backups"
    first = backup(store, settings, dest)
    assert first.blobs_copied == BLOBS
    store.blobs.ingest_bytes(b"one more", git=False)
    s3_calls.clear()
    second = backup(store, settings, dest)
    assert (second.blobs, second.blobs_copied) == (BLOBS + 1, 1)
    assert s3_calls.methods["head_object"] < 10, s3_calls  # the index, the snapshot's files, the new blob
    stored = {key.rsplit("/", 1)[-1] for key in s3_env.keys() if key.startswith("backups/blobs/")}
    assert len(stored) == BLOBS + 1


def test_backup_and_restore_on_one_endpoint_copy_server_side(
    store: Store,
    settings: HubSettings,
    s3_env: S3Bucket,
    s3_server: S3Server,
    s3_calls: S3Calls,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blobs = _seed(store)
    s3_calls.clear()
    capsys.readouterr()
    backups = s3_server.create_bucket(f"{s3_env.name}-bk")  # another bucket, the same keys
    dest = f"s3://{backups.name}/hub"
    info = backup(store, settings, dest, progress=True)
    assert info.blobs_copied == info.blobs == len(blobs) + 1  # and .gitattributes
    # Every blob copied by the storage, several at a time; no blob's bytes came through here.
    assert s3_calls.methods["copy_object"] == info.blobs and s3_calls.blob_reads() == []
    assert s3_calls.methods["put_object"] <= 4  # the snapshot's files and the index
    assert 1 < s3_calls.most_copying <= CONCURRENCY
    bar = capsys.readouterr().err  # tqdm's last state: every blob counted once
    assert f"{info.blobs}/{info.blobs}" in bar and f"{info.blobs + 1}/" not in bar
    held = {k.rsplit("/", 1)[-1] for k in backups.keys() if k.startswith("hub/blobs/")}
    assert held >= set(blobs)

    s3_calls.clear()
    target = s3_server.create_bucket(f"{s3_env.name}-to")
    restored = _restore(dest, tmp_path, target.storage_url)
    assert s3_calls.methods["copy_object"] == info.blobs and s3_calls.blob_reads() == []
    _assert_restored(restored, blobs)


def test_copies_refused_by_the_storage_are_streamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import s3fs

    server = S3Server(refuse_copies=True).start()
    try:
        bucket = server.create_bucket("wb-no-copies")
        for name, value in bucket.aws_env().items():
            monkeypatch.setenv(name, value)
        s3fs.S3FileSystem.clear_instance_cache()
        settings = HubSettings(
            data_dir=tmp_path / "data", storage_url=bucket.storage_url, write_user_config=False
        )
        store = Store.open(settings)
        try:
            blobs = _seed(store, 10)
            dest = f"s3://{bucket.name}/backups"
            with caplog.at_level(logging.WARNING, logger="workbench.store.blob_copy"):
                info = backup(store, settings, dest)
            assert info.blobs_copied == info.blobs == len(blobs) + 1
            assert "streaming the blobs instead" in caplog.text
            _assert_restored(_restore(dest, tmp_path, f"s3://{bucket.name}/restored"), blobs)
        finally:
            store.close()
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def test_a_local_backup_of_s3_is_streamed_and_restores_into_s3(
    store: Store,
    settings: HubSettings,
    s3_server: S3Server,
    s3_env: S3Bucket,
    s3_calls: S3Calls,
    tmp_path: Path,
) -> None:
    blobs = _seed(store)
    s3_calls.clear()
    dest = str(tmp_path / "backups")
    info = backup(store, settings, dest)
    assert info.blobs_copied == info.blobs == len(blobs) + 1
    assert s3_calls.methods["copy_object"] == 0 and len(set(s3_calls.blob_reads())) == info.blobs
    assert not list(Path(dest).rglob("*.partial"))
    s3_calls.clear()
    target = s3_server.create_bucket(f"{s3_env.name}-to")
    restored = _restore(dest, tmp_path, target.storage_url)
    assert s3_calls.methods["copy_object"] == 0
    assert len(target.keys()) == info.blobs  # streamed up, each one whole
    _assert_restored(restored, blobs)


def test_a_failed_copy_fails_the_backup_and_records_no_snapshot(
    store: Store, settings: HubSettings, tmp_path: Path
) -> None:
    _seed(store, 5)
    dest = tmp_path / "backups"
    first = backup(store, settings, str(dest))
    # A new blob whose folder in the backup cannot be made: a file stands in its way.
    i = 0
    while (dest / "blobs" / (sha := store.blobs.ingest_bytes(b"new %d" % i, git=False).sha256)[:2]).exists():
        i += 1
    (dest / "blobs" / sha[:2]).write_bytes(b"in the way")
    with pytest.raises(ServiceUnavailable) as failed:
        backup(store, settings, str(dest))
    assert failed.value.code == "BlobCopyFailed" and sha in failed.value.message
    assert "added no snapshot" in failed.value.message
    assert [s["id"] for s in list_snapshots(str(dest))] == [first.id]
    assert [p.name for p in (dest / "snapshots").iterdir()] == [first.id]
    assert json.loads((dest / "backup.json").read_text())["snapshots"][-1]["id"] == first.id


def test_one_identity_means_one_endpoint_and_the_same_keys(store: Store, s3_env: S3Bucket) -> None:
    import fsspec
    import s3fs

    folder_fs, _ = fsspec.core.url_to_fs(f"s3://{s3_env.name}/backups")  # the environment's keys
    assert same_s3_identity(store.blobs.fs, folder_fs)
    other = S3Server().start()
    try:
        elsewhere = s3fs.S3FileSystem(
            key=other.key_id, secret=other.secret, endpoint_url=other.endpoint, skip_instance_cache=True
        )
        assert not same_s3_identity(store.blobs.fs, elsewhere)
        wrong_keys = s3fs.S3FileSystem(
            key=other.key_id, secret=other.secret, endpoint_url=s3_env.endpoint, skip_instance_cache=True
        )
        assert not same_s3_identity(store.blobs.fs, wrong_keys)
    finally:
        other.stop()
    anonymous = s3fs.S3FileSystem(anon=True, endpoint_url=s3_env.endpoint, skip_instance_cache=True)
    assert not same_s3_identity(store.blobs.fs, anonymous)
    assert not same_s3_identity(store.blobs.fs, fsspec.filesystem("file"))
