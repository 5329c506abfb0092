"""The stock Xet client (hf_xet) driven directly against a test hub: repos, tokens, transfers.

``machine`` gives an upload a shard cache of its own, as on another computer: hf_xet then
knows nothing of earlier uploads except what the hub tells it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.hub import HF_ENV, HubProcess


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_repo(hub: HubProcess, name: str, *, token: str | None = None, private: bool = False) -> str:
    r = httpx.post(
        f"{hub.url}/api/repos/create",
        headers=auth(token or hub.token),
        json={"name": name, "type": "model", "private": private},
    )
    assert r.status_code == 200, r.text
    return r.json()["url"].rstrip("/").split("/", 3)[-1]


def stock_upload(
    hub: HubProcess,
    repo_id: str,
    data: bytes,
    *,
    token: str | None = None,
    machine: str | None = None,
    ask_hub: bool = True,
) -> str:
    """Upload ``data`` with hf_xet through the repo's Xet write token; its Xet file hash.

    ``ask_hub=False`` turns off the client's global deduplication queries.
    """
    import hf_xet

    config = hf_xet.XetConfig().with_config("deduplication.global_dedup_query_enabled", ask_hub)
    if machine is not None:
        config = config.with_config("shard.cache_subdir", f"shard-cache-{machine}")
    commit = hf_xet.XetSession(config).new_upload_commit(
        token_refresh_url=f"{hub.url}/api/models/{repo_id}/xet-write-token/main",
        token_refresh_headers=auth(token or hub.token),
    )
    handle = commit.start_upload_bytes(data)
    commit.wait_to_finish()
    return str(handle.result().xet_info.hash)


def stock_download(
    hub: HubProcess, repo_id: str, file_hash: str, size: int, dest: Path, *, token: str | None = None
) -> bytes:
    """Download a Xet file with hf_xet through the repo's Xet read token."""
    import hf_xet

    group = hf_xet.XetSession().new_file_download_group(
        token_refresh_url=f"{hub.url}/api/models/{repo_id}/xet-read-token/main",
        token_refresh_headers=auth(token or hub.token),
    )
    group.start_download_file(hf_xet.XetFileInfo(file_hash, size), str(dest))
    group.wait_to_finish()
    return dest.read_bytes()


def lfs_upload(hub: HubProcess, repo_id: str, files: dict[str, bytes], work: Path) -> None:
    """Upload with the stock client over git-LFS (HF_HUB_DISABLE_XET is read at import)."""
    for name, data in files.items():
        (work / name).write_bytes(data)
    code = (
        "import sys; from huggingface_hub import HfApi\n"
        "api = HfApi()\n"
        "for name in sys.argv[2:]:\n"
        "    api.upload_file(path_or_fileobj=sys.argv[1] + '/' + name, path_in_repo=name, repo_id="
        f"{repo_id!r})\n"
    )
    env = {
        **os.environ,
        **HF_ENV,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
        "HF_HOME": str(work / "hf"),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    out = subprocess.run(
        [sys.executable, "-c", code, str(work), *files], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
