"""Xorb bodies are spooled to temporary files: bounded hub memory, and no file left behind.

hf_xet cuts a file into xorbs of up to 64 MiB and sends several at once; the hub spools each
body to a temporary file, verifies it from there a batch of chunks at a time, and moves the
file into the blob store only when every check passed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.hub import HubProcess
from tests.support.memory import PeakRss
from tests.xet.cas_client import auth, create_repo
from tests.xet.test_cas import _token, _xorb_count
from tests.xet.xet_local import upload_locally
from workbench.xet.xorb import MAX_XORB_BODY, parse_xorb


def _spooled(hub: HubProcess) -> list[str]:
    return sorted(p.name for p in (hub.data / "tmp").glob("upload-*"))


def test_no_temporary_file_outlives_a_xorb_upload(hub_factory, tmp_path: Path) -> None:
    hub: HubProcess = hub_factory()
    repo_id = create_repo(hub, "xet-spool")
    token = str(_token(hub, repo_id, "write")["accessToken"])
    name, body = next(iter(upload_locally(os.urandom(300_000), tmp_path / "cas").xorbs.items()))
    url = f"{hub.url}/v1/xorbs/default"
    r = httpx.post(f"{url}/{name[::-1]}", headers=auth(token), content=body)
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "IntegrityError"
    r = httpx.post(f"{url}/{name}", headers=auth(token), content=parse_xorb(body).data[:-5])
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "MalformedXorb"
    r = httpx.post(f"{url}/{name}", headers=auth(token), content=b"\x00" * (MAX_XORB_BODY + 1))
    assert r.status_code == 413
    assert _xorb_count(hub) == 0 and _spooled(hub) == []
    for inserted in (True, False):
        r = httpx.post(f"{url}/{name}", headers=auth(token), content=body)
        assert r.status_code == 200 and r.json() == {"was_inserted": inserted}
        assert _spooled(hub) == []
    assert _xorb_count(hub) == 1


@pytest.mark.slow
def test_stock_client_uploads_300_mib_through_xet_with_bounded_memory(hub_factory, tmp_path: Path) -> None:
    hub: HubProcess = hub_factory()
    api = HfApi(endpoint=hub.url, token=hub.token)
    repo_id = "admin/xet-300-mib"
    api.create_repo(repo_id)
    size = 300 * 1024 * 1024
    src = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(src, "wb") as f:
        for _ in range(size // (1024 * 1024)):
            block = os.urandom(1024 * 1024)  # fresh each time: nothing for hf_xet to deduplicate
            digest.update(block)
            f.write(block)
    with PeakRss(hub.proc.pid) as rss:
        api.upload_file(path_or_fileobj=str(src), path_in_repo="big.bin", repo_id=repo_id)
    (entry,) = api.get_paths_info(repo_id, ["big.bin"])
    assert entry.size == size and entry.lfs.sha256 == digest.hexdigest()
    assert entry.xet_hash is not None  # it went through Xet, not git-LFS
    # Five xorbs of 64 MiB, several in flight at once: held whole (and copied) they cost the
    # hub far more than this. Spooled, each costs a 1 MiB buffer while it arrives and a few
    # 4 MiB batches of records and contents while it is verified; the rest of the bound is
    # headroom for the allocator and the commit that follows.
    grown = rss.grown
    assert grown < 200 * 1024 * 1024, f"hub RSS grew by {grown / 2**20:.0f} MiB during the upload"
    assert _spooled(hub) == []
