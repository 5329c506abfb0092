"""Repos know Xet files: commits name them by SHA-256, listings and /resolve advertise them.

A file uploaded through the hub's CAS (by the stock client, in this process, which has
``hf_xet``) is committed as an ``lfsFile``; the tree keeps its SHA-256 and its Xet hash, a
``HEAD`` on ``/resolve`` answers the headers that send a Xet client to the CAS, and a client
without Xet gets the plain bytes, rebuilt by the hub, with ``Range``. A shard's SHA-256 is a
claim the hub checks from the bytes before a commit may use it, and a private repo's Xet file
reaches no other repo.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.hub import HubProcess
from tests.xet.xet_local import upload_locally
from workbench.xet.hashing import hex_to_hash


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    proc = HubProcess(tmp_path_factory.mktemp("xet-files")).start()
    yield proc
    proc.stop()


def _auth(hub: HubProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.token}"}


def _api(hub: HubProcess):  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.url, token=hub.token)


def _commit(hub: HubProcess, repo_id: str, path: str, sha256: str, size: int) -> httpx.Response:
    lines = [
        {"key": "header", "value": {"summary": f"add {path}"}},
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": sha256, "size": size}},
    ]
    return httpx.post(
        f"{hub.url}/api/models/{repo_id}/commit/main",
        headers={**_auth(hub), "Content-Type": "application/x-ndjson"},
        content="\n".join(json.dumps(line) for line in lines).encode(),
    )


def test_xet_file_is_listed_advertised_and_served_plain(hub: HubProcess, tmp_path: Path) -> None:
    api = _api(hub)
    repo_id = "admin/xet-served"
    api.create_repo(repo_id)
    data = os.urandom(2 * 1024 * 1024) + b"text that compresses\n" * 50_000
    sha = hashlib.sha256(data).hexdigest()
    api.upload_file(path_or_fileobj=data, path_in_repo="w.safetensors", repo_id=repo_id)
    (entry,) = api.get_paths_info(repo_id, ["w.safetensors"])
    assert entry.lfs is not None and entry.lfs.sha256 == sha and entry.size == len(data)
    assert entry.xet_hash is not None and len(entry.xet_hash) == 64
    listed = httpx.get(f"{hub.url}/api/models/{repo_id}/tree/main", headers=_auth(hub)).json()
    assert [e["xetHash"] for e in listed if e["path"] == "w.safetensors"] == [entry.xet_hash]

    url = f"{hub.url}/{repo_id}/resolve/main/w.safetensors"
    head = httpx.head(url, headers=_auth(hub))
    assert head.status_code == 200
    commit = head.headers["X-Repo-Commit"]
    refresh = f"{hub.url}/api/models/{repo_id}/xet-read-token/{commit}"
    assert head.headers["X-Xet-Hash"] == entry.xet_hash
    assert head.headers["X-Xet-Refresh-Route"] == refresh
    assert head.headers["Link"] == f'<{refresh}>; rel="xet-auth"'
    assert head.headers["ETag"] == head.headers["X-Linked-Etag"] == f'"{sha}"'
    assert int(head.headers["X-Linked-Size"]) == len(data)
    # The refresh route is a read token that reaches this file.
    token = httpx.get(refresh, headers=_auth(hub)).json()["accessToken"]
    r = httpx.get(
        f"{hub.url}/v1/reconstructions/{entry.xet_hash}", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200

    # Clients without Xet: the whole file, a range across chunk boundaries, a suffix range.
    whole = httpx.get(url, headers=_auth(hub))
    assert whole.status_code == 200 and whole.content == data
    part = httpx.get(url, headers={**_auth(hub), "Range": "bytes=100000-1500000"})
    assert part.status_code == 206 and part.content == data[100000:1500001]
    assert part.headers["Content-Range"] == f"bytes 100000-1500000/{len(data)}"
    tail = httpx.get(url, headers={**_auth(hub), "Range": "bytes=-10"})
    assert tail.content == data[-10:]
    past = httpx.get(url, headers={**_auth(hub), "Range": f"bytes={len(data)}-"})
    assert past.status_code == 416


def test_shard_sha256_is_checked_before_a_commit_uses_it(hub: HubProcess, tmp_path: Path) -> None:
    repo_id = "admin/xet-claims"
    _api(hub).create_repo(repo_id)
    data = os.urandom(500_000)
    real = hashlib.sha256(data).hexdigest()
    claimed = hashlib.sha256(b"something else").hexdigest()
    local = upload_locally(data, tmp_path / "cas")
    [shard] = local.shards
    lying = shard.replace(hex_to_hash(real), hex_to_hash(claimed))
    assert lying != shard
    token = httpx.get(f"{hub.url}/api/models/{repo_id}/xet-write-token/main", headers=_auth(hub)).json()
    cas = {"Authorization": f"Bearer {token['accessToken']}"}
    for name, body in local.xorbs.items():
        assert httpx.post(f"{hub.url}/v1/xorbs/default/{name}", headers=cas, content=body).status_code == 200
    assert httpx.post(f"{hub.url}/v1/shards", headers=cas, content=lying).status_code == 200
    # The claimed digest is not what the bytes hash to: the commit is refused, nothing lands.
    r = _commit(hub, repo_id, "claimed.bin", claimed, len(data))
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "LfsObjectMissing"
    # The hub rebuilt the file once and now knows its real digest.
    r = _commit(hub, repo_id, "real.bin", real, len(data))
    assert r.status_code == 200, r.text
    (entry,) = _api(hub).get_paths_info(repo_id, ["real.bin"])
    assert entry.xet_hash == local.file_hash
    got = httpx.get(f"{hub.url}/{repo_id}/resolve/main/real.bin", headers=_auth(hub))
    assert got.content == data
    r = _commit(hub, repo_id, "sized.bin", real, len(data) + 1)
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "SizeMismatch"


def test_private_repo_xet_file_reaches_no_other_repo(hub: HubProcess) -> None:
    api = _api(hub)
    secret, mine = "admin/xet-secret", "admin/xet-other"
    api.create_repo(secret, private=True)
    api.create_repo(mine)
    data = b"\x00secret weights " + os.urandom(300_000)
    sha = hashlib.sha256(data).hexdigest()
    api.upload_file(path_or_fileobj=data, path_in_repo="s.bin", repo_id=secret)
    (entry,) = api.get_paths_info(secret, ["s.bin"])
    assert entry.xet_hash is not None
    # Knowing the digest is not enough to commit the file into another repo...
    r = _commit(hub, mine, "stolen.bin", sha, len(data))
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "LfsObjectMissing"
    # ...nor is a read token of another repo enough to rebuild it.
    token = httpx.get(f"{hub.url}/api/models/{mine}/xet-read-token/main", headers=_auth(hub)).json()
    r = httpx.get(
        f"{hub.url}/v1/reconstructions/{entry.xet_hash}",
        headers={"Authorization": f"Bearer {token['accessToken']}"},
    )
    assert r.status_code == 404
    # Anonymous callers see neither the file nor a Xet token for the private repo.
    assert httpx.head(f"{hub.url}/{secret}/resolve/main/s.bin").status_code == 404
    assert httpx.get(f"{hub.url}/api/models/{secret}/xet-read-token/main").status_code == 404


def test_inline_and_lfs_upload_modes(hub: HubProcess) -> None:
    """Preupload answers as the public hub: .gitattributes patterns, binary samples, size."""
    api = _api(hub)
    repo_id = "admin/xet-modes"
    api.create_repo(repo_id)
    api.upload_file(
        path_or_fileobj=b"*.bin filter=lfs diff=lfs merge=lfs -text\n"
        b"*.csv filter=lfs diff=lfs merge=lfs -text\nkeep/*.csv -filter\n",
        path_in_repo=".gitattributes",
        repo_id=repo_id,
    )
    files = [
        ("notes.txt", b"hello\n", "regular"),
        ("data/table.csv", b"a,b\n1,2\n", "lfs"),
        ("keep/small.csv", b"a,b\n", "regular"),
        ("blob.dat", b"\x00\x01\x02", "lfs"),
        ("model.safetensors", b"{}", "lfs"),
        ("empty.bin", b"", "regular"),
    ]
    body = {
        "files": [
            {"path": p, "size": len(d), "sample": base64.b64encode(d[:512]).decode()} for p, d, _ in files
        ]
        + [{"path": "big.txt", "size": 10 * 1024 * 1024, "sample": base64.b64encode(b"text").decode()}]
    }
    r = httpx.post(f"{hub.url}/api/models/{repo_id}/preupload/main", headers=_auth(hub), json=body)
    assert r.status_code == 200, r.text
    modes = {f["path"]: f["uploadMode"] for f in r.json()["files"]}
    assert modes == {p: mode for p, _, mode in files} | {"big.txt": "lfs"}


def test_fsck_knows_xet_files_xorbs_and_shards(hub_factory) -> None:  # type: ignore[no-untyped-def]
    h = hub_factory(env={"WORKBENCH_BUILTIN_METRICS": "false"})
    api = _api(h)
    api.create_repo("admin/checked")
    api.upload_file(path_or_fileobj=os.urandom(400_000), path_in_repo="w.bin", repo_id="admin/checked")
    (entry,) = api.get_paths_info("admin/checked", ["w.bin"])
    assert entry.xet_hash is not None

    def fsck() -> dict:  # type: ignore[type-arg]
        r = h.cli("hub", "fsck", "--json", check=False)
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    report = fsck()
    assert report["ok"] is True, report["problems"]
    assert report["counts"]["xorbs"] >= 1 and report["counts"]["shards"] >= 1
    assert report["counts"]["xet_files"] == 1
    assert not [n for n in report["notes"] if n["kind"] == "orphan_blob"]
    import sqlite3

    with sqlite3.connect(h.data / "hub.sqlite") as conn:
        (xorb_hash, xorb_blob) = conn.execute("select hash, blob_sha256 from xet_xorbs").fetchone()
    assert xorb_blob == xorb_hash  # named by the hash just verified, not a second hash of it
    path = h.data / "blobs" / xorb_blob[:2] / xorb_blob[2:4] / xorb_blob
    damaged = bytearray(path.read_bytes())
    damaged[100] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(damaged))
    report = fsck()
    assert report["ok"] is False
    assert [p["subject"] for p in report["problems"] if p["kind"] == "xorb_blob"] == [xorb_blob]


def test_kill_9_mid_upload_leaves_no_half_registered_file(hub_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3
    import subprocess
    import sys
    import time

    from tests.support.hub import HF_ENV

    h = hub_factory(env={"WORKBENCH_BUILTIN_METRICS": "false"})
    _api(h).create_repo("admin/crash")
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(160 * 1024 * 1024))
    env = {**os.environ, **HF_ENV, "HF_ENDPOINT": h.url, "HF_TOKEN": h.token, "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_DISABLE_XET", None)
    code = (
        "from huggingface_hub import HfApi; import sys; "
        "HfApi().upload_file(path_or_fileobj=sys.argv[1], path_in_repo='big.bin', repo_id='admin/crash')"
    )
    client = subprocess.Popen(
        [sys.executable, "-c", code, str(src)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def count(table: str) -> int:
        with sqlite3.connect(h.data / "hub.sqlite") as conn:
            return int(conn.execute(f"select count(*) from {table}").fetchone()[0])

    try:
        deadline = time.monotonic() + 120
        while count("xet_xorbs") == 0 and client.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        h.kill()  # some xorbs are in, the shard and the commit are not
    finally:
        client.kill()
        client.wait()
    assert count("xet_xorbs") >= 1
    assert count("xet_files") == 0 and count("xet_file_repos") == 0
    h.start()
    r = h.cli("hub", "fsck", "--json", check=False)
    report = json.loads(r.stdout)
    assert report["ok"] is True, report["problems"]
    assert [e.path for e in _api(h).list_repo_tree("admin/crash")] == [".gitattributes"]
    # The upload, tried again, completes and reuses what was stored.
    _api(h).upload_file(path_or_fileobj=str(src), path_in_repo="big.bin", repo_id="admin/crash")
    (entry,) = _api(h).get_paths_info("admin/crash", ["big.bin"])
    assert entry.xet_hash is not None and entry.size == src.stat().st_size


def test_upload_mode_lfs_is_the_older_name_of_auto(hub_factory) -> None:  # type: ignore[no-untyped-def]
    """`upload_mode = lfs` (docs/configuration.md) decides as `auto`: binaries lfs, text regular."""
    h = hub_factory(env={"WORKBENCH_UPLOAD_MODE": "lfs"})
    _api(h).create_repo("admin/old-mode")
    body = {
        "files": [
            {"path": p, "size": len(d), "sample": base64.b64encode(d).decode()}
            for p, d in (("notes.txt", b"hello\n"), ("blob.dat", b"\x00\x01"))
        ]
    }
    r = httpx.post(f"{h.url}/api/models/admin/old-mode/preupload/main", headers=_auth(h), json=body)
    assert r.status_code == 200, r.text
    assert {f["path"]: f["uploadMode"] for f in r.json()["files"]} == {
        "notes.txt": "regular",
        "blob.dat": "lfs",
    }
