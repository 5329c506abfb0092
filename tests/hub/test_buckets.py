"""Storage buckets through the stock ``huggingface_hub`` against a real hub process.

Create, list, inspect, rename and delete buckets; upload files (through hf_xet), list, read
(Xet, plain HTTP with Range, HfFileSystem) and delete them; copy files from repos and other
buckets; who may see and change which bucket; what bad input gets; and GC, which keeps the
Xet objects of bucket files and frees them once the files are deleted.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, HfFileSystem
from huggingface_hub.errors import BucketBatchError, BucketNotFoundError, HfHubHTTPError
from sqlalchemy import select

from tests.support.hub import HubProcess
from tests.support.team import make_team
from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store.fsck import fsck
from workbench.store.gc import collect
from workbench.store.store import Store

BIG = 1_200_000  # enough bytes for hf_xet to cut several chunks


def _name(prefix: str = "b") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@pytest.fixture
def bucket(api: HfApi) -> Iterator[str]:
    bucket_id = api.create_bucket(_name()).bucket_id
    yield bucket_id
    api.delete_bucket(bucket_id, missing_ok=True)


def _get(hub: HubProcess, path: str, token: str | None, **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{hub.url}{path}", headers={**auth, **headers})


def test_create_info_list_move_and_delete(api: HfApi, hub: HubProcess) -> None:
    url = api.create_bucket(f"admin/{_name()}", private=True)
    assert url.url == f"{hub.url}/buckets/{url.bucket_id}" and url.namespace == "admin"
    with pytest.raises(HfHubHTTPError) as err:
        api.create_bucket(url.bucket_id)
    assert err.value.response.status_code == 409
    assert api.create_bucket(url.bucket_id, exist_ok=True) == url
    info = api.bucket_info(url.bucket_id)
    assert (info.id, info.private, info.size, info.total_files) == (url.bucket_id, True, 0, 0)
    assert url.bucket_id in {b.id for b in api.list_buckets()}
    assert [b.id for b in api.list_buckets("admin", search=url.bucket_id.split("/")[1][2:])] == [
        url.bucket_id
    ]
    api.update_bucket_settings(url.bucket_id, private=False)
    assert api.bucket_info(url.bucket_id).private is False

    moved = f"admin/{_name('moved')}"
    api.move_bucket(url.bucket_id, moved)
    with pytest.raises(BucketNotFoundError):
        api.bucket_info(url.bucket_id)
    api.delete_bucket(moved)
    with pytest.raises(BucketNotFoundError):
        api.bucket_info(moved)
    with pytest.raises(BucketNotFoundError):
        api.delete_bucket(moved)
    api.delete_bucket(moved, missing_ok=True)


def test_upload_list_download_and_delete_files(
    api: HfApi, hub: HubProcess, bucket: str, tmp_path: Path
) -> None:
    big = os.urandom(BIG)
    (tmp_path / "weights.bin").write_bytes(big)
    api.batch_bucket_files(
        bucket,
        add=[
            (tmp_path / "weights.bin", "ckpt/step-1/weights.bin"),
            (b"loss: 0.5\n", "logs/train.log"),
            (b"", "logs/empty.txt"),
            (b'{"a": 1}', "config.json"),
        ],
    )
    top = {(e.type, e.path) for e in api.list_bucket_tree(bucket, recursive=False)}
    assert top == {("directory", "ckpt"), ("directory", "logs"), ("file", "config.json")}
    files = {e.path: e for e in api.list_bucket_tree(bucket)}  # recursive unless told otherwise
    assert set(files) == {"ckpt/step-1/weights.bin", "logs/train.log", "logs/empty.txt", "config.json"}
    assert files["ckpt/step-1/weights.bin"].size == BIG and files["ckpt/step-1/weights.bin"].mtime is not None
    assert {e.path for e in api.list_bucket_tree(bucket, prefix="logs")} == {
        "logs/train.log",
        "logs/empty.txt",
    }
    (info,) = api.get_bucket_paths_info(bucket, ["logs/train.log", "nope.txt", "ckpt"])
    assert (info.path, info.size) == ("logs/train.log", 10)
    assert api.bucket_info(bucket).total_files == 4 and api.bucket_info(bucket).size == BIG + 18

    api.download_bucket_files(
        bucket,
        [
            ("ckpt/step-1/weights.bin", tmp_path / "w"),
            ("logs/empty.txt", tmp_path / "e"),
            ("config.json", tmp_path / "c"),
        ],
    )
    assert (tmp_path / "w").read_bytes() == big and (tmp_path / "e").read_bytes() == b""
    assert (tmp_path / "c").read_bytes() == b'{"a": 1}'
    # Without Xet: the hub rebuilds the bytes, ranges included.
    r = _get(hub, f"/buckets/{bucket}/resolve/ckpt/step-1/weights.bin", hub.token, Range="bytes=1000-1999")
    assert r.status_code == 206 and r.content == big[1000:2000]
    fs = HfFileSystem(endpoint=hub.url, token=hub.token, skip_instance_cache=True)
    assert fs.cat(f"hf://buckets/{bucket}/logs/train.log") == b"loss: 0.5\n"
    assert fs.ls(f"buckets/{bucket}/logs", detail=False) == [
        f"buckets/{bucket}/logs/empty.txt",
        f"buckets/{bucket}/logs/train.log",
    ]

    api.batch_bucket_files(bucket, delete=["logs/train.log", "logs/empty.txt", "not-there.txt"])
    assert {e.path for e in api.list_bucket_tree(bucket, recursive=True)} == {
        "ckpt/step-1/weights.bin",
        "config.json",
    }
    assert (
        _get(hub, f"/buckets/{bucket}/resolve/logs/train.log", hub.token).headers["X-Error-Code"]
        == "EntryNotFound"
    )


def test_copy_files_from_a_repo_and_between_buckets(
    api: HfApi, repo_id: str, bucket: str, tmp_path: Path
) -> None:
    big = os.urandom(BIG)
    api.upload_file(path_or_fileobj=big, path_in_repo="model/weights.safetensors", repo_id=repo_id)  # Xet
    api.upload_file(path_or_fileobj=b"# card\n", path_in_repo="model/README.md", repo_id=repo_id)  # inline
    api.copy_files(f"hf://{repo_id}/model/", f"hf://buckets/{bucket}/from-repo/")
    assert {e.path for e in api.list_bucket_tree(bucket, recursive=True)} == {
        "from-repo/weights.safetensors",
        "from-repo/README.md",
    }
    other = api.create_bucket(_name()).bucket_id
    try:
        api.copy_files(f"hf://buckets/{bucket}/from-repo", f"hf://buckets/{other}/")
        api.download_bucket_files(
            other,
            [("from-repo/weights.safetensors", tmp_path / "w"), ("from-repo/README.md", tmp_path / "r")],
        )
        assert (tmp_path / "w").read_bytes() == big and (tmp_path / "r").read_bytes() == b"# card\n"
        # A hash the source does not hold is reported, the rest applied (as the public hub does).
        (entry,) = api.get_bucket_paths_info(other, ["from-repo/README.md"])
        with pytest.raises(BucketBatchError) as err:
            api.batch_bucket_files(
                other,
                copy=[("bucket", other, entry.xet_hash, "copy.md"), ("bucket", other, "1" * 64, "bogus")],
            )
        assert [f["path"] for f in err.value.failures] == ["bogus"]
        assert "copy.md" in {e.path for e in api.list_bucket_tree(other)}
    finally:
        api.delete_bucket(other)


def test_copy_files_between_repos(api: HfApi, hub: HubProcess, repo_id: str, tmp_path: Path) -> None:
    """A cross-repo copy of a Xet file: ``lfs-files/duplicate`` lets the target commit it."""
    big = os.urandom(BIG)
    api.upload_file(path_or_fileobj=big, path_in_repo="w.safetensors", repo_id=repo_id)
    target = api.create_repo(f"admin/{_name('copy')}", repo_type="dataset").repo_id
    api.copy_files(f"hf://{repo_id}/w.safetensors", f"hf://datasets/{target}/w.safetensors")
    got = api.hf_hub_download(target, "w.safetensors", repo_type="dataset", cache_dir=tmp_path)
    assert Path(got).read_bytes() == big
    (entry,) = api.get_paths_info(repo_id, ["w.safetensors"])
    outsider = make_team(hub, "cp").tokens["outsider"]
    r = httpx.post(
        f"{hub.url}/api/models/{repo_id}/lfs-files/duplicate",
        headers={"Authorization": f"Bearer {outsider}"},
        json={
            "target": {"type": "dataset", "name": target},
            "files": [{"xetHash": entry.xet_hash, "sha256": entry.lfs.sha256, "filename": "w.safetensors"}],
        },
    )
    assert r.status_code == 403  # may read the public source, may not write the target


def test_privacy_and_permissions(api: HfApi, hub: HubProcess) -> None:
    team = make_team(hub, "bk")
    writer = HfApi(endpoint=hub.url, token=team.tokens["writer"])
    reader = HfApi(endpoint=hub.url, token=team.tokens["reader"])
    outsider = HfApi(endpoint=hub.url, token=team.tokens["outsider"])
    read_only = HfApi(endpoint=hub.url, token=team.read_tokens["writer"])
    anonymous = HfApi(endpoint=hub.url, token=False)
    bucket = writer.create_bucket(f"{team.org}/{_name()}", private=True).bucket_id
    writer.batch_bucket_files(bucket, add=[(b"secret", "a.txt")])

    assert reader.bucket_info(bucket).private
    assert [e.path for e in reader.list_bucket_tree(bucket)] == ["a.txt"]
    assert bucket in {b.id for b in reader.list_buckets(team.org)}
    assert bucket not in {b.id for b in outsider.list_buckets(team.org)}
    for who in (reader, read_only):
        with pytest.raises(HfHubHTTPError) as err:
            who.batch_bucket_files(bucket, delete=["a.txt"])
        assert err.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as err:
        outsider.create_bucket(f"{team.org}/{_name()}")
    assert err.value.response.status_code == 403

    # Outsiders get the 404 of a missing bucket everywhere; callers without a token a 401.
    paths = [
        f"/api/buckets/{bucket}",
        f"/api/buckets/{bucket}/tree",
        f"/api/buckets/{bucket}/xet-read-token",
        f"/buckets/{bucket}/resolve/a.txt",
    ]
    for path in paths:
        r = _get(hub, path, team.tokens["outsider"])
        assert (r.status_code, r.headers["X-Error-Code"]) == (404, "RepoNotFound"), path
        r = _get(hub, path, None)
        assert (r.status_code, r.headers["X-Error-Code"]) == (401, "RepoNotFound"), path
        assert _get(hub, path, team.tokens["reader"]).status_code == 200, path
    with pytest.raises(BucketNotFoundError):
        outsider.batch_bucket_files(bucket, delete=["a.txt"])
    with pytest.raises(BucketNotFoundError):
        list(outsider.get_bucket_paths_info(bucket, ["a.txt"]))
    with pytest.raises(HfHubHTTPError):
        anonymous.bucket_info(bucket)
    with pytest.raises(BucketNotFoundError):  # copying out of a bucket one may not read
        outsider.copy_files(f"hf://buckets/{bucket}/a.txt", f"hf://buckets/{team.users['outsider']}/x/")
    writer.update_bucket_settings(bucket, private=False)
    assert anonymous.bucket_info(bucket).private is False
    writer.delete_bucket(bucket)


def test_bad_input_is_a_400_with_a_code(hub: HubProcess, bucket: str) -> None:
    auth = {"Authorization": f"Bearer {hub.token}"}
    batch = f"{hub.url}/api/buckets/{bucket}/batch"

    def code(r: httpx.Response) -> tuple[int, str]:
        return r.status_code, r.headers.get("X-Error-Code", "")

    assert code(httpx.post(f"{hub.url}/api/buckets/admin/-bad-", headers=auth)) == (400, "InvalidRepoName")
    assert code(httpx.post(batch, headers=auth, content=b"not json\n")) == (400, "MalformedBody")
    assert code(httpx.post(batch, headers=auth, content=b'{"type": "rename", "path": "a"}')) == (
        400,
        "MalformedBody",
    )
    bad_path = b'{"type": "deleteFile", "path": "../etc/passwd"}'
    assert code(httpx.post(batch, headers=auth, content=bad_path)) == (422, "InvalidPath")
    bad_hash = b'{"type": "addFile", "path": "a", "xetHash": "xyz", "mtime": 0}'
    assert code(httpx.post(batch, headers=auth, content=bad_hash)) == (400, "InvalidOid")
    unknown = ('{"type": "addFile", "path": "a", "xetHash": "%s", "mtime": 0}' % ("ab" * 32)).encode()
    r = httpx.post(batch, headers=auth, content=unknown)
    assert r.status_code == 422 and r.json()["failed"][0]["path"] == "a"
    info = f"{hub.url}/api/buckets/{bucket}/paths-info"
    assert code(httpx.post(info, headers=auth, json={"paths": "a"})) == (400, "MalformedBody")
    assert code(httpx.get(f"{hub.url}/api/buckets/{bucket}/tree/..%2Fx", headers=auth)) == (
        422,
        "InvalidPath",
    )
    assert code(httpx.put(f"{hub.url}/api/buckets/{bucket}/settings", headers=auth, json={})) == (
        400,
        "MissingField",
    )


def test_gc_keeps_bucket_files_and_frees_deleted_ones(hub_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h = hub_factory(env={"WORKBENCH_BUILTIN_METRICS": "false"})
    store = Store.open(HubSettings(data_dir=h.data, write_user_config=False))
    try:
        api = HfApi(endpoint=h.url, token=h.token)
        bucket = api.create_bucket("ckpts").bucket_id
        data = os.urandom(BIG)
        api.batch_bucket_files(bucket, add=[(data, "w.bin"), (data, "copy/w.bin")])
        (entry,) = api.get_bucket_paths_info(bucket, ["w.bin"])

        kept = collect(store, grace=0, xet_grace=0)
        assert (kept.xet_files_freed, kept.xorbs_freed) == (0, 0)
        api.download_bucket_files(bucket, [("w.bin", tmp_path / "w.bin")])
        assert (tmp_path / "w.bin").read_bytes() == data

        api.batch_bucket_files(bucket, delete=["w.bin"])  # still named by copy/w.bin
        assert collect(store, grace=0, xet_grace=0).xet_files_freed == 0
        api.delete_bucket(bucket)
        report = collect(store, grace=0, xet_grace=0)
        assert report.xet_files_freed == 1 and report.xorbs_freed >= 1 and report.blobs_freed >= 1
        with store.read() as s:
            assert s.get(m.XetFile, entry.xet_hash) is None
            assert s.scalar(select(m.XetXorb.hash)) is None
        report = fsck(store)
        assert report.ok, report.problems
    finally:
        store.close()
