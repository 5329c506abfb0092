"""git-LFS uploads from the stock client (HF_HUB_DISABLE_XET=1), and very large inline uploads."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.support.memory import PeakRss

ROOT = Path(__file__).resolve().parents[2]


def test_stock_client_lfs_single_and_multipart(hub_factory, tmp_path: Path) -> None:
    h = hub_factory(env={"WORKBENCH_MULTIPART_CHUNK_BYTES": str(5 * 1024 * 1024)})
    HfApi(endpoint=h.url, token=h.token).create_repo("admin/lfs")
    env = {
        **os.environ,
        "HF_ENDPOINT": h.url,
        "HF_TOKEN": h.token,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(tmp_path / "hf"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "tests.scenarios.lfs_upload", "admin/lfs", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert results["lfs"] == {
        "single.bin": True,
        "multi.bin": True,
        "f/weights.safetensors": True,
        "f/sub/t.txt": False,
    }
    assert results["downloads_match"] == {"single.bin": True, "multi.bin": True}
    assert results["noop_reupload"] is True
    # Multipart staging files are gone once the upload completed.
    assert not list((h.data / "tmp").glob("multipart-*"))


@pytest.mark.slow
def test_stock_client_uploads_200_mib_inline_with_bounded_memory(hub_factory, tmp_path: Path) -> None:
    # upload_mode=regular: preupload answers "regular" for every file, so the stock client
    # sends the file inline, base64 in the NDJSON commit (otherwise it would go through Xet).
    hub = hub_factory(env={"WORKBENCH_UPLOAD_MODE": "regular"})
    api = HfApi(endpoint=hub.url, token=hub.token)
    repo_id = "admin/inline-200-mib"
    api.create_repo(repo_id)
    size = 200 * 1024 * 1024
    src = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(src, "wb") as f:
        block = os.urandom(1024 * 1024)
        for i in range(size // len(block)):
            chunk = block[:-4] + i.to_bytes(4, "big")
            digest.update(chunk)
            f.write(chunk)
    with PeakRss(hub.proc.pid) as rss:
        api.upload_file(path_or_fileobj=str(src), path_in_repo="big.bin", repo_id=repo_id)
    (entry,) = api.get_paths_info(repo_id, ["big.bin"])
    assert entry.size == size and entry.lfs.sha256 == digest.hexdigest()
    assert entry.xet_hash is None  # it came inline, not through Xet
    # The 270 MB base64 line was streamed to disk, never held whole in the hub's memory.
    grown = rss.grown
    assert grown < 100 * 1024 * 1024, f"hub RSS grew by {grown / 2**20:.0f} MiB during the upload"
    out = hf_hub_download(repo_id, "big.bin", endpoint=hub.url, token=hub.token, cache_dir=tmp_path / "c")
    h = hashlib.sha256()
    with open(out, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    assert h.hexdigest() == digest.hexdigest()
