"""Multipart git-LFS parts received by different hub processes (workbench.store.multipart).

Each "process" here is a BlobStore with its own temporary folder on the same storage: a
bucket on a real S3 endpoint (moto's server), or one local folder as processes sharing a
data folder see it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from tests.support.s3 import S3Bucket
from workbench.errors import IntegrityError, InvalidRequest, ServiceUnavailable
from workbench.store.blobs import MULTIPART_DIR, BlobStore
from workbench.store.multipart import PartStaging

pytest_plugins = ["tests.support.s3_fixtures"]

CHUNK = 1 << 20


def _stores(url: str, tmp_path: Path) -> list[BlobStore]:
    return [BlobStore(url, tmp_dir=tmp_path / f"tmp{i}") for i in range(3)]


async def _body(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 300_000):
        yield data[i : i + 300_000]


def _send(store: BlobStore, data: bytes, part: int) -> int:
    oid = hashlib.sha256(data).hexdigest()
    staging = PartStaging(store, oid, size=len(data), chunk=CHUNK)
    piece = data[(part - 1) * CHUNK : part * CHUNK]
    return anyio.run(staging.receive, part, _body(piece))


def _parts_on_three_processes(stores: list[BlobStore]) -> None:
    data = os.urandom(3 * CHUNK + 1000)
    oid = hashlib.sha256(data).hexdigest()
    for part in (1, 2, 3, 4):  # round-robin, as nginx sends them
        assert _send(stores[part % 3], data, part) == min(CHUNK, len(data) - (part - 1) * CHUNK)
        missing = PartStaging(stores[0], oid, size=len(data), chunk=CHUNK).missing()
        assert missing == list(range(part + 1, 5))
    info = PartStaging(stores[2], oid, size=len(data), chunk=CHUNK).complete()
    assert (info.sha256, info.size) == (oid, len(data))
    assert stores[1].read(oid) == data
    assert PartStaging(stores[1], oid, size=len(data), chunk=CHUNK).missing() == [1, 2, 3, 4]
    for store in stores:
        assert [p.name for p in store.tmp_dir.iterdir()] == []


@pytest.mark.s3
def test_parts_on_three_processes_meet_in_the_bucket(s3_env: S3Bucket, tmp_path: Path) -> None:
    stores = _stores(s3_env.storage_url, tmp_path)
    _parts_on_three_processes(stores)
    assert not [k for k in s3_env.keys() if f"/{MULTIPART_DIR}/" in k]  # parts removed
    assert len(list(stores[0].iter_all())) == 1


def test_parts_on_processes_sharing_a_data_folder(tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    stores = [BlobStore(str(blobs), tmp_dir=tmp_path / "tmp") for _ in range(3)]
    _parts_on_three_processes(stores)


@pytest.mark.s3
def test_wrong_parts_are_refused_and_nothing_is_kept(s3_env: S3Bucket, tmp_path: Path) -> None:
    store = _stores(s3_env.storage_url, tmp_path)[0]
    data = os.urandom(2 * CHUNK)
    oid = hashlib.sha256(data).hexdigest()
    staging = PartStaging(store, oid, size=len(data), chunk=CHUNK)
    with pytest.raises(InvalidRequest, match="out of range"):
        anyio.run(staging.receive, 3, _body(b"x"))
    for piece in (data[:10], data[: CHUNK + 1]):  # too short, too long
        with pytest.raises(InvalidRequest) as refused:
            anyio.run(staging.receive, 1, _body(piece))
        assert refused.value.code == "SizeMismatch"
    with pytest.raises(InvalidRequest) as incomplete:
        staging.complete()
    assert incomplete.value.code == "MissingParts"
    other = os.urandom(CHUNK)  # right sizes, wrong content
    for part in (1, 2):
        anyio.run(staging.receive, part, _body(other))
    with pytest.raises(IntegrityError):
        staging.complete()
    assert s3_env.keys() == [] and not store.exists(oid)


@pytest.mark.s3
def test_parts_nobody_completed_go_after_a_day(
    s3_env: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _stores(s3_env.storage_url, tmp_path)[0]
    data = os.urandom(2 * CHUNK)
    _send(store, data, 1)
    assert store.cleanup_tmp() == 0  # young: a client may still send the others
    later = time.time() + 25 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert store.cleanup_tmp() == 1
    assert s3_env.keys() == []


@pytest.mark.s3
def test_a_completion_the_store_fails_keeps_the_parts_for_the_retry(s3_env: S3Bucket, tmp_path: Path) -> None:
    """The bucket refuses the blob's PUT at the completion (a policy stands in for a 500 or a
    lost multipart upload): a 503-class error, no blob, and the parts are still there for the
    client's retry, which succeeds once the bucket takes it."""
    store = BlobStore(s3_env.storage_url, tmp_dir=tmp_path / "tmp", timeout=5.0)
    data = os.urandom(2 * CHUNK + 10)
    oid = hashlib.sha256(data).hexdigest()
    for part in (1, 2, 3):
        _send(store, data, part)
    client = s3_env.client()
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{s3_env.name}/{store.key(oid).split('/', 1)[1]}",
    }
    client.put_bucket_policy(
        Bucket=s3_env.name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    )
    try:
        with pytest.raises(ServiceUnavailable) as failed:
            PartStaging(store, oid, size=len(data), chunk=CHUNK).complete()
        assert failed.value.code == "StorageUnavailable" and "nothing was stored" in str(failed.value)
    finally:
        client.delete_bucket_policy(Bucket=s3_env.name)
    assert not store.exists(oid)
    staging = PartStaging(store, oid, size=len(data), chunk=CHUNK)
    assert staging.missing() == []
    info = staging.complete()
    assert (info.sha256, store.read(oid)) == (oid, data)
    assert [k for k in s3_env.keys() if f"/{MULTIPART_DIR}/" in k] == []
