"""The blob store over a non-local fsspec filesystem (the code path S3 takes)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
from huggingface_hub import HfApi, hf_hub_download


def test_hub_on_fsspec_memory_storage(hub_factory, tmp_path: Path) -> None:
    h = hub_factory(env={"WORKBENCH_STORAGE_URL": "memory://workbench-blobs"})
    api = HfApi(endpoint=h.url, token=h.token)
    api.create_repo("admin/remote")
    big = os.urandom(11 * 1024 * 1024)
    api.upload_file(path_or_fileobj=b"small", path_in_repo="s.txt", repo_id="admin/remote")
    api.upload_file(path_or_fileobj=big, path_in_repo="big.bin", repo_id="admin/remote")
    assert not list((h.data).glob("blobs/**/*"))  # nothing went to the local data folder
    got = hf_hub_download("admin/remote", "big.bin", endpoint=h.url, token=h.token, cache_dir=tmp_path / "c")
    assert hashlib.sha256(Path(got).read_bytes()).digest() == hashlib.sha256(big).digest()
    r = httpx.get(
        f"{h.url}/admin/remote/resolve/main/big.bin",
        headers={"Range": "bytes=1000-1999", "Authorization": f"Bearer {h.token}"},
    )
    assert r.status_code == 206 and r.content == big[1000:2000]
