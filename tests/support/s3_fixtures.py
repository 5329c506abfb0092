"""Pytest fixtures for a real S3 endpoint (tests/support/s3.py).

Load with ``pytest_plugins = ["tests.support.s3_fixtures"]`` in a test module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.s3 import S3Bucket, S3Server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One S3 endpoint for the whole test session."""
    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> S3Bucket:
    """A fresh, empty bucket for this test only."""
    return s3_server.create_bucket(f"wb-{uuid.uuid4().hex[:16]}")


@pytest.fixture
def s3_env(s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Bucket]:
    """``s3_bucket``, with its AWS_* variables set in this process (for a BlobStore here)."""
    import s3fs

    for name, value in s3_bucket.aws_env().items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()  # an instance keeps the credentials it started with
    yield s3_bucket
    s3fs.S3FileSystem.clear_instance_cache()
