"""A real hub storing its blobs in S3 (moto's server in its own process, tests/support/s3.py),
configured as docs/deploy.md tells operators: ``WORKBENCH_STORAGE_URL=s3://bucket/prefix``
and the AWS_* variables. The stock clients upload through git-LFS and through Xet, download,
read ranges; with ``storage_redirects`` the bytes come from S3 itself.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from huggingface_hub import HfApi, constants, hf_hub_download

from tests.support.hub import HubProcess, free_port
from tests.support.s3 import S3Bucket

pytest_plugins = ["tests.support.s3_fixtures"]
pytestmark = [
    pytest.mark.s3,
    # huggingface_hub's git-LFS upload hands httpx the part bytes as `data=`; not ours to fix
    pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"),
]

LFS_SIZE = 11 * 1024 * 1024  # more than one part of WORKBENCH_MULTIPART_CHUNK_BYTES below
XET_SIZE = 3 * 1024 * 1024


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[list[HubProcess]]:
    started: list[HubProcess] = []
    yield started
    for h in started:
        h.stop()


def _start(hubs: list[HubProcess], root: Path, bucket: S3Bucket, **settings: str) -> HubProcess:
    env = bucket.hub_env(WORKBENCH_MULTIPART_CHUNK_BYTES=str(5 * 1024 * 1024), **settings)
    h = HubProcess(root, env=env)
    hubs.append(h)
    return h.start()


def _upload(
    api: HfApi,
    repo_id: str,
    tmp_path: Path,
    name: str,
    size: int,
    *,
    xet: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> bytes:
    data = os.urandom(size)
    src = tmp_path / name.replace("/", "_")
    src.write_bytes(data)
    with monkeypatch.context() as m:
        m.setattr(constants, "HF_HUB_DISABLE_XET", not xet)  # read at each upload and download
        api.upload_file(path_or_fileobj=str(src), path_in_repo=name, repo_id=repo_id)
    return data


def _download(h: HubProcess, repo_id: str, name: str, cache: Path, *, token: str | None = None) -> bytes:
    path = hf_hub_download(repo_id, name, endpoint=h.url, token=token or h.token, cache_dir=cache)
    return Path(path).read_bytes()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_stock_clients_store_and_read_in_the_bucket(
    hubs: list[HubProcess], s3_bucket: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _start(hubs, tmp_path / "hub", s3_bucket)
    api = HfApi(endpoint=h.url, token=h.token)
    repo_id = "admin/on-s3"
    api.create_repo(repo_id)
    lfs = _upload(api, repo_id, tmp_path, "weights.bin", LFS_SIZE, xet=False, monkeypatch=monkeypatch)
    xet = _upload(api, repo_id, tmp_path, "model.safetensors", XET_SIZE, xet=True, monkeypatch=monkeypatch)
    entries = {e.path: e for e in api.get_paths_info(repo_id, ["weights.bin", "model.safetensors"])}
    assert entries["weights.bin"].xet_hash is None and entries["model.safetensors"].xet_hash

    # Every blob is an object in the bucket: the git-LFS file, the xorbs and the shard.
    keys = s3_bucket.keys()
    assert f"blobs/{_sha(lfs)[:2]}/{_sha(lfs)[2:4]}/{_sha(lfs)}" in keys
    assert len(keys) >= 3 and all(k.startswith("blobs/") for k in keys)
    assert not (h.data / "blobs").exists()
    assert [p for p in (h.data / "tmp").iterdir() if p.is_file() or any(p.iterdir())] == []

    # Downloads: git-LFS file through the hub, the Xet file through hf_xet (xorb-data from S3).
    assert _download(h, repo_id, "weights.bin", tmp_path / "c1") == lfs
    assert _download(h, repo_id, "model.safetensors", tmp_path / "c2") == xet
    auth = {"Authorization": f"Bearer {h.token}"}
    for name, data in [("weights.bin", lfs), ("model.safetensors", xet)]:
        r = httpx.get(f"{h.url}/{repo_id}/resolve/main/{name}", headers={**auth, "Range": "bytes=1000-1999"})
        assert (r.status_code, r.content) == (206, data[1000:2000])

    fsck = h.cli("hub", "fsck", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def test_redirects_send_readers_to_presigned_s3_urls(
    hubs: list[HubProcess], s3_bucket: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _start(hubs, tmp_path / "hub", s3_bucket, WORKBENCH_STORAGE_REDIRECTS="true")
    s3_host = urlsplit(s3_bucket.endpoint).netloc
    api = HfApi(endpoint=h.url, token=h.token)
    api.create_repo("admin/public")
    api.create_repo("admin/private", private=True)
    lfs = _upload(api, "admin/public", tmp_path, "weights.bin", LFS_SIZE, xet=False, monkeypatch=monkeypatch)
    xet = _upload(
        api, "admin/public", tmp_path, "model.safetensors", XET_SIZE, xet=True, monkeypatch=monkeypatch
    )
    secret = _upload(api, "admin/private", tmp_path, "secret.bin", 1000, xet=False, monkeypatch=monkeypatch)

    # /resolve answers a redirect to the object itself: the hub sends no file bytes.
    url = f"{h.url}/admin/public/resolve/main/weights.bin"
    r = httpx.get(url)
    assert r.status_code == 302 and r.content == b""
    location = r.headers["location"]
    assert urlsplit(location).netloc == s3_host and "X-Amz-Signature=" in location
    assert r.headers["x-linked-etag"] == f'"{_sha(lfs)}"' and r.headers["x-repo-commit"]
    r = httpx.get(location, headers={"Range": "bytes=10-19"})
    assert (r.status_code, r.content) == (206, lfs[10:20])
    # HEAD still answers the metadata the clients read.
    assert httpx.head(url).headers["x-linked-size"] == str(LFS_SIZE)

    # Stock clients follow it, with and without Xet.
    with monkeypatch.context() as m:
        m.setattr(constants, "HF_HUB_DISABLE_XET", True)
        assert _download(h, "admin/public", "weights.bin", tmp_path / "c1") == lfs
    assert _download(h, "admin/public", "model.safetensors", tmp_path / "c2") == xet

    # A Xet reconstruction's fetch URLs are presigned URLs of the xorbs, read with Range.
    token = httpx.get(f"{h.url}/api/models/admin/public/xet-read-token/main").json()["accessToken"]
    xet_hash = api.get_paths_info("admin/public", ["model.safetensors"])[0].xet_hash
    plan = httpx.get(f"{h.url}/v1/reconstructions/{xet_hash}", headers={"Authorization": f"Bearer {token}"})
    fetches = [f for entries in plan.json()["fetch_info"].values() for f in entries]
    assert fetches and all(urlsplit(f["url"]).netloc == s3_host for f in fetches)
    first = fetches[0]
    r = httpx.get(
        first["url"], headers={"Range": f"bytes={first['url_range']['start']}-{first['url_range']['end']}"}
    )
    assert (
        r.status_code == 206 and len(r.content) == first["url_range"]["end"] - first["url_range"]["start"] + 1
    )

    # A private repo's file: no URL for an anonymous caller, a URL for its owner.
    private = f"{h.url}/admin/private/resolve/main/secret.bin"
    r = httpx.get(private)
    assert r.status_code in (401, 404) and "location" not in r.headers
    r = httpx.get(private, headers={"Authorization": f"Bearer {h.token}"})
    assert r.status_code == 302 and httpx.get(r.headers["location"]).content == secret


@pytest.mark.parametrize("fault", ["missing bucket", "wrong secret", "unknown key", "endpoint down"])
def test_a_storage_that_does_not_work_stops_the_start(
    fault: str, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    env = {
        "missing bucket": {"WORKBENCH_STORAGE_URL": f"s3://missing-{s3_bucket.name}/blobs"},
        "wrong secret": {"AWS_SECRET_ACCESS_KEY": "wrong"},
        "unknown key": {"AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG"},
        "endpoint down": {"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{free_port()}"},
    }[fault]
    h = HubProcess(tmp_path / "hub", env=s3_bucket.hub_env(**env))
    with pytest.raises(RuntimeError) as failed:
        h.start()
    log = h.log_path.read_text()
    assert "storage_url" in log and "WORKBENCH_STORAGE_URL" in log
    reason = {"missing bucket": "bucket does not exist", "endpoint down": "Could not connect"}
    assert reason.get(fault, "access denied") in log
    assert "Traceback" not in log, log
    assert "exited with 1" in str(failed.value)
    init = h.cli("hub", "init", check=False)  # the once-only step before several processes start
    assert init.returncode == 1 and "storage_url" in init.stderr and "Traceback" not in init.stderr
