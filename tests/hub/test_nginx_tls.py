"""TLS at nginx, as docs/deploy.md configures it (its `listen 443 ssl` and certificate lines,
with a certificate made here): the stock client uploads and downloads over HTTPS, through
git-LFS and Xet, and the URLs the hub hands out name the HTTPS proxy (``public_url``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.hub import HubProcess, free_port
from tests.support.nginx import Nginx, TlsFiles

pytestmark = [pytest.mark.slow]

MiB = 1024 * 1024

_CLIENT = """
import json, os, sys
from huggingface_hub import HfApi, constants, hf_hub_download
api = HfApi()
repo = api.create_repo("admin/tls")
out = {"repo_url": str(repo)}
constants.HF_HUB_DISABLE_XET = True
lfs = api.upload_file(path_or_fileobj=sys.argv[1], path_in_repo="weights.bin", repo_id="admin/tls")
constants.HF_HUB_DISABLE_XET = False
xet = api.upload_file(path_or_fileobj=sys.argv[2], path_in_repo="model.safetensors", repo_id="admin/tls")
out["commit_urls"] = [lfs.commit_url, xet.commit_url]
info = {e.path: e for e in api.get_paths_info("admin/tls", ["weights.bin", "model.safetensors"])}
out["lfs"], out["xet_hash"] = bool(info["weights.bin"].lfs), info["model.safetensors"].xet_hash
out["downloads"] = [
    open(hf_hub_download("admin/tls", name, cache_dir=sys.argv[3]), "rb").read() == open(src, "rb").read()
    for name, src in (("weights.bin", sys.argv[1]), ("model.safetensors", sys.argv[2]))
]
from workbench.client import HubClient
with HubClient(os.environ["HF_ENDPOINT"], os.environ["HF_TOKEN"], progress=False) as client:
    out["workbench_client"] = client.repo_info("admin/tls")["id"]
print(json.dumps(out))
"""


def test_the_stock_client_over_https_through_nginx(tmp_path: Path) -> None:
    tls = TlsFiles.make(tmp_path / "tls")
    port = free_port()
    public = f"https://127.0.0.1:{port}"
    hub = HubProcess(tmp_path / "hub", env={"WORKBENCH_PUBLIC_URL": public}).start()
    proxy = Nginx([hub.url], port=port, tls=tls)
    try:
        proxy.start()
        assert proxy.url == public
        with pytest.raises(httpx.ConnectError):  # a client that does not trust the certificate
            httpx.get(f"{public}/api/health")
        assert httpx.get(f"{public}/api/health", verify=tls.context()).status_code == 200
        weights, model = tmp_path / "weights.bin", tmp_path / "model.safetensors"
        weights.write_bytes(os.urandom(2 * MiB))
        model.write_bytes(os.urandom(3 * MiB))
        env = {
            **os.environ,
            "HF_ENDPOINT": public,
            "HF_TOKEN": hub.token,
            "HF_HOME": str(tmp_path / "hf-home"),
            "SSL_CERT_FILE": str(tls.ca),  # httpx and hf_xet trust the proxy's certificate
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        }
        env.pop("HF_HUB_DISABLE_XET", None)
        done = subprocess.run(
            [sys.executable, "-c", _CLIENT, str(weights), str(model), str(tmp_path / "cache")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["repo_url"] == f"{public}/admin/tls"
        assert all(url.startswith(f"{public}/admin/tls/commit/") for url in out["commit_urls"])
        assert out["lfs"] and out["xet_hash"] and out["downloads"] == [True, True]
        assert out["workbench_client"] == "admin/tls"
        assert "POST /v1/xorbs/" in proxy.access_log.read_text()  # Xet went through the proxy too
    finally:
        proxy.stop()
        hub.stop()
