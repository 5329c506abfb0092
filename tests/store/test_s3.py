"""The blob store on a real S3 endpoint (moto's server in its own process, tests/support/s3.py).

Credentials and the endpoint come from the AWS_* variables, as in a hub process; what is
stored is checked with boto3 in the bucket itself.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import fsspec
import httpx
import pytest

from tests.support.s3 import S3Bucket
from workbench.errors import IntegrityError
from workbench.store.blobs import PART, BlobStore

pytest_plugins = ["tests.support.s3_fixtures"]
pytestmark = pytest.mark.s3


@pytest.fixture
def store(s3_env: S3Bucket, tmp_path: Path) -> BlobStore:
    return BlobStore(s3_env.storage_url, tmp_dir=tmp_path / "tmp")


def _body(size: int) -> bytes:
    block = os.urandom(1 << 20)
    return (block * (size // len(block) + 1))[:size]


async def _chunks(data: bytes, step: int = 1 << 20) -> AsyncIterator[bytes]:
    for i in range(0, len(data), step):
        yield data[i : i + step]


def test_blobs_land_in_the_bucket_and_read_back_by_range(store: BlobStore, s3_env: S3Bucket) -> None:
    store.check()
    info = store.ingest_bytes(b"hello s3")
    key = f"blobs/{info.sha256[:2]}/{info.sha256[2:4]}/{info.sha256}"
    assert s3_env.keys() == [key]
    assert store.local_path(info.sha256) is None
    assert store.exists(info.sha256) and store.size(info.sha256) == 8
    assert store.read(info.sha256) == b"hello s3"
    with store.open(info.sha256) as f:
        f.seek(6)
        assert f.read(2) == b"s3"
    assert list(store.iter_all()) == [info.sha256]
    assert store.ingest_bytes(b"hello s3") == info  # the same content twice: one object
    assert len(s3_env.keys()) == 1


def test_a_large_stream_goes_up_in_parts_and_no_local_copy_stays(
    store: BlobStore, s3_env: S3Bucket, tmp_path: Path
) -> None:
    data = _body(2 * PART + 12345)
    digest = hashlib.sha256(data).hexdigest()
    info = anyio.run(
        lambda: store.ingest_stream(_chunks(data), expected_sha256=digest, expected_size=len(data))
    )
    assert (info.sha256, info.size) == (digest, len(data))
    head = s3_env.client().head_object(Bucket=s3_env.name, Key=store.key(digest).split("/", 1)[1])
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    assert list((tmp_path / "tmp").iterdir()) == []
    with store.open(digest) as f:
        f.seek(PART - 10)
        assert f.read(20) == data[PART - 10 : PART + 10]


def test_a_mismatch_keeps_nothing(store: BlobStore, s3_env: S3Bucket, tmp_path: Path) -> None:
    with pytest.raises(IntegrityError):
        store.ingest_bytes(b"abc", expected_sha256="0" * 64)
    assert s3_env.keys() == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_adopt_file_uploads_and_consumes_the_temporary_file(store: BlobStore, s3_env: S3Bucket) -> None:
    tmp = store.tmp_dir / "upload-adopt"
    tmp.write_bytes(b"xorb records")
    info = store.adopt_file(tmp, expected_size=12)
    assert not tmp.exists()
    assert store.read(info.sha256) == b"xorb records"
    assert s3_env.keys() == [store.key(info.sha256).split("/", 1)[1]]


def test_presigned_urls_serve_ranges_and_expire(store: BlobStore) -> None:
    info = store.ingest_bytes(b"0123456789")
    other = store.ingest_bytes(b"another file")
    url = store.presigned_url(info.sha256, expires=5)  # whole seconds: room for a slow machine
    assert url is not None and "X-Amz-Expires=5" in url
    r = httpx.get(url, headers={"Range": "bytes=2-5"})
    assert (r.status_code, r.content) == (206, b"2345")
    # The signature covers the key: the same query on another file is refused.
    r = httpx.get(url.replace(info.sha256, other.sha256))
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    time.sleep(6)
    r = httpx.get(url)
    assert r.status_code == 403 and b"Request has expired" in r.content


def test_a_local_folder_has_no_presigned_urls(tmp_path: Path) -> None:
    local = BlobStore(str(tmp_path / "blobs"), tmp_dir=tmp_path / "tmp")
    info = local.ingest_bytes(b"x")
    assert local.presigned_url(info.sha256, expires=60) is None
    local.check()


def test_check_names_a_missing_bucket_and_refused_credentials(
    s3_env: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    with pytest.raises(FileNotFoundError):
        BlobStore(f"s3://missing-{s3_env.name}/blobs", tmp_dir=tmp_path).check()
    for name, value in [("AWS_SECRET_ACCESS_KEY", "wrong"), ("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG")]:
        with monkeypatch.context() as m:
            m.setenv(name, value)
            s3fs.S3FileSystem.clear_instance_cache()
            with pytest.raises(PermissionError):
                BlobStore(s3_env.storage_url, tmp_dir=tmp_path).check()
    s3fs.S3FileSystem.clear_instance_cache()
    BlobStore(s3_env.storage_url, tmp_dir=tmp_path).check()
    assert s3_env.keys() == []  # the probe object is gone


def test_the_storage_timeout_bounds_each_request_unless_the_operator_set_botocore(
    s3_env: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bounded = BlobStore(s3_env.storage_url, tmp_dir=tmp_path / "tmp", timeout=3.0)
    config = bounded.fs.config_kwargs
    assert (config["connect_timeout"], config["read_timeout"]) == (3.0, 3.0)
    assert config["retries"]["total_max_attempts"] == 2 and bounded.fs.retries == 1
    # the operator's botocore settings (FSSPEC_S3_CONFIG_KWARGS) win over the hub's
    monkeypatch.setitem(fsspec.config.conf, "s3", {"config_kwargs": {"read_timeout": 90}})
    chosen = BlobStore(s3_env.storage_url, tmp_dir=tmp_path / "tmp", timeout=3.0)
    assert (chosen.fs.config_kwargs["connect_timeout"], chosen.fs.config_kwargs["read_timeout"]) == (3.0, 90)
    data = b"bounded, and still storing"
    sha = hashlib.sha256(data).hexdigest()
    chosen.ingest_bytes(data, expected_sha256=sha)
    assert chosen.read(sha) == data
