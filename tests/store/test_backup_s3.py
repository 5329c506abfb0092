"""Backups of a blob store on a real S3 endpoint into an S3 folder (moto's server).

An incremental backup learns which blobs the folder holds, and the sizes of the stored ones,
from listings: no request per blob that it does not copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.s3 import S3Bucket
from workbench.config import HubSettings
from workbench.store.backup import backup
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


def test_incremental_backup_on_s3_asks_nothing_per_blob_it_skips(
    store: Store, settings: HubSettings, s3_env: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    for i in range(BLOBS):
        store.blobs.ingest_bytes(f"blob {i}".encode() * 50, git=False)
    dest = f"s3://{s3_env.name}/backups"
    first = backup(store, settings, dest)
    assert first.blobs_copied == BLOBS
    store.blobs.ingest_bytes(b"one more", git=False)
    calls: Counter[str] = Counter()
    call_s3 = s3fs.S3FileSystem._call_s3

    async def counted(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        calls[method] += 1
        return await call_s3(self, method, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", counted)
    second = backup(store, settings, dest)
    assert (second.blobs, second.blobs_copied) == (BLOBS + 1, 1)
    assert calls["head_object"] < 10, calls  # the index, the snapshot's files, the new blob
    stored = {key.rsplit("/", 1)[-1] for key in s3_env.keys() if key.startswith("backups/blobs/")}
    assert len(stored) == BLOBS + 1
