"""The stock huggingface_hub client (hf_xet installed, no environment variable set) against a real hub."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)


def test_xet_is_active_in_this_process() -> None:
    # The point of this module: a default install, where uploads would go through Xet.
    from huggingface_hub.utils._runtime import is_xet_available

    assert is_xet_available()


def test_whoami_and_create(api: HfApi, hub) -> None:
    assert api.whoami()["name"] == "admin"
    url = api.create_repo("created-by-name-only")
    assert str(url) == f"{hub.url}/admin/created-by-name-only"
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo("admin/created-by-name-only")
    assert err.value.response.status_code == 409
    assert api.create_repo("admin/created-by-name-only", exist_ok=True)
    ds = api.create_repo("admin/some-data", repo_type="dataset", private=True)
    assert str(ds) == f"{hub.url}/datasets/admin/some-data"
    assert api.dataset_info("admin/some-data").private is True


def test_small_upload_download_and_info(api: HfApi, repo_id: str, hub) -> None:
    info = api.upload_file(
        path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=repo_id, commit_message="add config"
    )
    assert len(info.oid) == 40 and info.commit_url.endswith(info.oid)
    path = hf_hub_download(repo_id, "config.json", token=hub.token)
    assert Path(path).read_bytes() == b'{"a": 1}'
    model = api.model_info(repo_id, files_metadata=True)
    assert model.sha == info.oid
    sizes = {s.rfilename: s.size for s in model.siblings}
    assert sizes["config.json"] == 8 and ".gitattributes" in sizes
    assert api.file_exists(repo_id, "config.json")
    assert not api.file_exists(repo_id, "nope.json")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "nope.json", token=hub.token)


def test_large_upload_goes_inline_with_xet_installed(api: HfApi, repo_id: str, hub, tmp_path: Path) -> None:
    data = os.urandom(20 * 1024 * 1024)
    src = tmp_path / "weights.bin"
    src.write_bytes(data)
    api.upload_file(path_or_fileobj=str(src), path_in_repo="weights.bin", repo_id=repo_id)
    (entry,) = api.get_paths_info(repo_id, ["weights.bin"])
    assert entry.size == len(data)
    assert entry.lfs is not None and entry.lfs.sha256 == hashlib.sha256(data).hexdigest()
    out = hf_hub_download(repo_id, "weights.bin", token=hub.token, cache_dir=tmp_path / "c")
    assert hashlib.sha256(Path(out).read_bytes()).digest() == hashlib.sha256(data).digest()
    # Uploading identical content again is a no-op for the client: no new commit.
    head = api.model_info(repo_id).sha
    api.upload_file(path_or_fileobj=str(src), path_in_repo="weights.bin", repo_id=repo_id)
    assert api.model_info(repo_id).sha == head


def test_folder_upload_snapshot_and_tree(api: HfApi, repo_id: str, hub, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "README.md").write_text("---\nlicense: mit\ntags: [demo-tag]\n---\n# Hello\n")
    (folder / "sub" / "a.txt").write_text("a")
    (folder / "sub" / "deeper" / "b.json").write_text("{}")
    (folder / "blob.bin").write_bytes(os.urandom(300_000))
    api.upload_folder(folder_path=folder, repo_id=repo_id)
    files = api.list_repo_files(repo_id)
    assert set(files) >= {"README.md", "sub/a.txt", "sub/deeper/b.json", "blob.bin"}
    top = {e.path: type(e).__name__ for e in api.list_repo_tree(repo_id)}
    assert top["sub"] == "RepoFolder" and top["README.md"] == "RepoFile"
    nested = [
        e.path for e in api.list_repo_tree(repo_id, path_in_repo="sub/deeper", recursive=True, expand=True)
    ]
    assert nested == ["sub/deeper/b.json"]
    expanded = list(api.list_repo_tree(repo_id, path_in_repo="sub", expand=True))
    assert all(e.last_commit is not None for e in expanded)
    snap = Path(snapshot_download(repo_id, token=hub.token, cache_dir=tmp_path / "cache"))
    assert (snap / "sub" / "deeper" / "b.json").read_text() == "{}"
    assert (snap / "blob.bin").read_bytes() == (folder / "blob.bin").read_bytes()
    local = Path(
        snapshot_download(repo_id, token=hub.token, local_dir=tmp_path / "local", allow_patterns=["sub/*"])
    )
    assert (local / "sub" / "a.txt").read_text() == "a" and not (local / "blob.bin").exists()
    info = api.model_info(repo_id)
    assert info.card_data["license"] == "mit" and "demo-tag" in info.tags
    assert repo_id in [m.id for m in api.list_models(filter="demo-tag")]


def test_refs_branches_tags_commits(api: HfApi, repo_id: str, hub) -> None:
    first = api.upload_file(path_or_fileobj=b"1", path_in_repo="n.txt", repo_id=repo_id).oid
    api.create_branch(repo_id, branch="feat/x")
    api.create_branch(repo_id, branch="feat/x", exist_ok=True)
    api.create_tag(repo_id, tag="v1.0", tag_message="first")
    with pytest.raises(HfHubHTTPError):
        api.create_tag(repo_id, tag="v1.0")
    api.create_tag(repo_id, tag="v1.0", exist_ok=True)
    second = api.upload_file(
        path_or_fileobj=b"2", path_in_repo="n.txt", repo_id=repo_id, revision="feat/x"
    ).oid
    refs = api.list_repo_refs(repo_id)
    branches = {b.name: b.target_commit for b in refs.branches}
    assert branches == {"main": first, "feat/x": second}
    assert {t.name: t.target_commit for t in refs.tags} == {"v1.0": first}
    assert api.model_info(repo_id, revision="feat/x").sha == second
    assert api.model_info(repo_id, revision="v1.0").sha == first
    assert api.model_info(repo_id, revision=first[:10]).sha == first
    assert Path(hf_hub_download(repo_id, "n.txt", revision="feat/x", token=hub.token)).read_text() == "2"
    commits = api.list_repo_commits(repo_id, revision="feat/x")
    assert [c.commit_id for c in commits[:2]] == [second, first]
    assert commits[-1].title == "initial commit"
    assert api.revision_exists(repo_id, "feat/x") and not api.revision_exists(repo_id, "nope")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo_id, revision="nope")
    api.create_branch(repo_id, branch="from-tag", revision="v1.0")
    assert api.model_info(repo_id, revision="from-tag").sha == first
    api.delete_branch(repo_id, branch="feat/x")
    api.delete_tag(repo_id, tag="v1.0")
    refs = api.list_repo_refs(repo_id)
    assert {b.name for b in refs.branches} == {"main", "from-tag"} and refs.tags == []


def test_deletions_and_parent_commit(api: HfApi, repo_id: str) -> None:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    base = api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd("keep.txt", b"k"),
            CommitOperationAdd("d/x.txt", b"x"),
            CommitOperationAdd("d/y.txt", b"y"),
            CommitOperationAdd("gone.txt", b"g"),
        ],
        commit_message="seed",
    ).oid
    api.create_commit(
        repo_id,
        operations=[CommitOperationDelete("gone.txt"), CommitOperationDelete("d/")],
        commit_message="delete",
        parent_commit=base,
    )
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "keep.txt"]
    with pytest.raises(HfHubHTTPError) as err:  # stale parent: the branch moved since `base`
        api.create_commit(
            repo_id,
            operations=[CommitOperationAdd("late.txt", b"l")],
            commit_message="late",
            parent_commit=base,
        )
    assert err.value.response.status_code == 412
    assert "late.txt" not in api.list_repo_files(repo_id)
    with pytest.raises(EntryNotFoundError):
        api.delete_file("missing.txt", repo_id)


def test_copy_and_list_pagination(api: HfApi, repo_id: str, hub) -> None:
    from huggingface_hub import CommitOperationAdd, CommitOperationCopy

    api.create_commit(
        repo_id,
        operations=[CommitOperationAdd(f"many/{i:04d}.txt", b"%d" % i) for i in range(1100)],
        commit_message="many",
    )
    files = api.list_repo_files(repo_id)  # more than one 1000-entry page
    assert len([f for f in files if f.startswith("many/")]) == 1100
    api.create_commit(
        repo_id, operations=[CommitOperationCopy("many/0001.txt", "copy.txt")], commit_message="copy"
    )
    assert Path(hf_hub_download(repo_id, "copy.txt", token=hub.token)).read_text() == "1"


def test_range_requests_and_hffs(api: HfApi, repo_id: str, hub) -> None:
    import httpx
    from huggingface_hub import HfFileSystem

    data = bytes(range(256)) * 1000
    api.upload_file(path_or_fileobj=data, path_in_repo="r.bin", repo_id=repo_id)
    url = f"{hub.url}/{repo_id}/resolve/main/r.bin"
    r = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert httpx.get(url, headers={"Range": "bytes=-5"}).content == data[-5:]
    assert httpx.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    fs = HfFileSystem(endpoint=hub.url, token=hub.token)
    with fs.open(f"{repo_id}/r.bin", "rb", block_size=4096) as f:
        f.seek(200_000)
        assert f.read(100) == data[200_000:200_100]


def test_concurrent_full_and_ranged_downloads_are_byte_exact(api: HfApi, repo_id: str, hub) -> None:
    """The hub shares its read chunk among the downloads streaming at once (2 MiB for one,
    512 KiB each for 32), so a stream's chunk size changes while others start and end; every
    body must still be the exact bytes asked for."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from workbench.hub.routes.files import READ_BUDGET, READ_CHUNK, READ_CHUNK_MAX, read_chunk

    assert read_chunk(0) == read_chunk(1) == READ_CHUNK_MAX
    assert read_chunk(32) == READ_CHUNK and read_chunk(10_000) == READ_CHUNK
    assert all(n * read_chunk(n) <= max(READ_BUDGET, n * READ_CHUNK) for n in range(1, 100))

    data = os.urandom(9 * 1024 * 1024 + 12_345)  # several chunks of every size, and a tail
    api.upload_file(path_or_fileobj=data, path_in_repo="big.bin", repo_id=repo_id)
    url = f"{hub.url}/{repo_id}/resolve/main/big.bin"
    asks = [
        None,
        (0, len(data) - 1),
        (1, 3 * 1024 * 1024),
        (5_000_000, len(data) - 1),
        (len(data) - 10, len(data) - 1),
    ] * 4

    def get(ask: tuple[int, int] | None) -> bool:
        headers = {} if ask is None else {"Range": f"bytes={ask[0]}-{ask[1]}"}
        with httpx.Client(timeout=60) as c:
            r = c.get(url, headers=headers)
        want = data if ask is None else data[ask[0] : ask[1] + 1]
        return r.status_code == (200 if ask is None else 206) and r.content == want

    with ThreadPoolExecutor(len(asks)) as pool:
        assert all(pool.map(get, asks))
    assert get(None)  # and alone, at the largest chunk


def test_repo_lifecycle_and_listing(api: HfApi, hub) -> None:
    api.create_repo("admin/lifecyclehf-a")
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x", repo_id="admin/lifecyclehf-a")
    api.move_repo("admin/lifecyclehf-a", "admin/lifecyclehf-b")
    assert api.repo_exists("admin/lifecyclehf-b")
    # as on the public hub, the old id still leads to the moved repo
    assert api.model_info("admin/lifecyclehf-a").id == "admin/lifecyclehf-b"
    api.update_repo_settings("admin/lifecyclehf-b", private=True)
    assert api.model_info("admin/lifecyclehf-b").private
    ids = [m.id for m in api.list_models(search="lifecyclehf", sort="lastModified", limit=5)]
    assert ids == ["admin/lifecyclehf-b"]
    api.delete_repo("admin/lifecyclehf-b")
    api.delete_repo("admin/lifecyclehf-b", missing_ok=True)
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo("admin/lifecyclehf-b")


def test_list_pagination_link_is_absolute(api: HfApi, hub) -> None:
    import httpx

    for i in range(3):
        api.create_repo(f"admin/paged-{i}", exist_ok=True)
    h = hub.extra_env
    r = httpx.get(f"{hub.url}/api/models", params={"search": "paged-", "limit": 2})
    assert len(r.json()) == 2 and h == {}
    ids = [m.id for m in api.list_models(search="paged-")]
    assert sorted(ids) == ["admin/paged-0", "admin/paged-1", "admin/paged-2"]
