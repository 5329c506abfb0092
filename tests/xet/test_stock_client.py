"""The stock clients choose Xet by themselves, and fall back to git-LFS without it.

Each scenario runs in a fresh process (``HF_HUB_DISABLE_XET`` is read at import) against a
hub with default settings: ``huggingface_hub`` uploads and downloads large files, ``datasets``
publishes a private dataset with two configurations and loads it back, and one repo ends up
mixing files that came through Xet and through git-LFS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub import HF_ENV, HubProcess

ROOT = Path(__file__).resolve().parents[2]
TRANSFERRED = ("big.bin", "folder/weights.safetensors", "folder/blob.dat")


@pytest.fixture(scope="module")
def stock_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    proc = HubProcess(tmp_path_factory.mktemp("stock-hub")).start()
    yield proc
    proc.stop()


def run_scenario(hub: HubProcess, work: Path, module: str, *args: str, xet: bool) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **HF_ENV,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
        "HF_HOME": str(work / "hf"),
        "HF_DATASETS_CACHE": str(work / "datasets"),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    env.pop("HF_HUB_DISABLE_XET", None)
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _create(hub: HubProcess, repo_id: str, repo_type: str = "model") -> None:
    import httpx

    r = httpx.post(
        f"{hub.url}/api/repos/create",
        headers={"Authorization": f"Bearer {hub.token}"},
        json={"name": repo_id.split("/")[1], "type": repo_type},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("xet", [True, False], ids=["xet", "HF_HUB_DISABLE_XET"])
def test_upload_and_download_large_files(stock_hub: HubProcess, tmp_path: Path, xet: bool) -> None:
    repo_id = f"admin/files-{'xet' if xet else 'lfs'}"
    _create(stock_hub, repo_id)
    res = run_scenario(
        stock_hub, tmp_path, "tests.xet.scenario_stock", repo_id, str(tmp_path), "a", "1", xet=xet
    )
    assert res["xet_available"] is xet
    # Preupload put the binaries in LFS mode and left the small text file inline.
    assert res["lfs"] == {f"a/{p}": True for p in TRANSFERRED} | {"a/folder/notes.txt": False}
    assert res["xet"] == {f"a/{p}": xet for p in TRANSFERRED} | {"a/folder/notes.txt": False}
    assert res["sha256_listed"] is True
    used, unused = (
        ("_upload_xet_files", "_upload_lfs_files") if xet else ("_upload_lfs_files", "_upload_xet_files")
    )
    assert res["upload_calls"].get(used, 0) >= 1 and unused not in res["upload_calls"]
    assert (res["download_calls"].get("xet_get", 0) >= 1) is xet
    assert res["hf_hub_download_matches"] is True
    assert all(res["snapshot_matches"].values()), res["snapshot_matches"]


def test_repo_mixing_lfs_and_xet_files(stock_hub: HubProcess, tmp_path: Path) -> None:
    repo_id = "admin/mixed"
    _create(stock_hub, repo_id)
    run_scenario(
        stock_hub,
        tmp_path / "1",
        "tests.xet.scenario_stock",
        repo_id,
        str(tmp_path / "1"),
        "x",
        "1",
        xet=True,
    )
    # Without Xet: uploads over git-LFS, downloads the Xet files as plain bytes from the hub.
    plain = run_scenario(
        stock_hub,
        tmp_path / "2",
        "tests.xet.scenario_stock",
        repo_id,
        str(tmp_path / "2"),
        "l",
        "2",
        "x",
        "1",
        xet=False,
    )
    assert plain["xet"] == {f"{pre}/{p}": pre == "x" for pre in "xl" for p in TRANSFERRED} | {
        f"{pre}/folder/notes.txt": False for pre in "xl"
    }
    assert all(plain["snapshot_matches"].values()), plain["snapshot_matches"]
    # With Xet again: Xet files through Xet, git-LFS files over plain HTTP.
    both = run_scenario(
        stock_hub,
        tmp_path / "3",
        "tests.xet.scenario_stock",
        repo_id,
        str(tmp_path / "3"),
        "y",
        "3",
        "x",
        "1",
        "l",
        "2",
        xet=True,
    )
    assert all(both["snapshot_matches"].values()), both["snapshot_matches"]
    assert both["download_calls"].get("xet_get", 0) >= 1 and both["download_calls"].get("http_get", 0) >= 1


@pytest.mark.parametrize("xet", [True, False], ids=["xet", "HF_HUB_DISABLE_XET"])
def test_datasets_push_to_hub_then_load_dataset(stock_hub: HubProcess, tmp_path: Path, xet: bool) -> None:
    # Before upload modes followed the public hub, every file was "regular": datasets deleted
    # its temporary Parquet shards after the pre-upload step and the commit failed with
    # FileNotFoundError.
    repo_id = f"admin/data-{'xet' if xet else 'lfs'}"
    res = run_scenario(stock_hub, tmp_path, "tests.xet.scenario_datasets", repo_id, xet=xet)
    assert res["rows"] == {"default": {"train": 150, "test": 30}, "other": {"train": 7}}
    assert res["last_train_idx"] == 149
    assert res["private"] is True
    assert res["parquet_lfs"] == [True]
    assert res["parquet_xet"] == [xet]
    # The hub's own readers get the bytes of files stored as Xet chunks only: the viewer
    # converts the pushed Parquet files and serves their rows.
    from tests.viewer.test_viewer import wait_converted

    status = wait_converted(stock_hub, repo_id)
    assert status["status"] == "done", status
    import httpx

    rows = httpx.get(
        f"{stock_hub.url}/api/datasets/{repo_id}/viewer/rows",
        params={"config": "default", "split": "train", "offset": 0, "length": 5},
        headers={"Authorization": f"Bearer {stock_hub.token}"},
        timeout=30,
    )
    assert rows.status_code == 200, rows.text
    assert len(rows.json()["rows"]) == 5


def test_a_file_of_repeated_chunks_downloads_through_xet(stock_hub: HubProcess, tmp_path: Path) -> None:
    """Repeated content makes a file whose terms reuse chunks of one xorb in overlapping
    ranges; each term must lie inside one fetch entry, or hf_xet reads past a range."""
    from huggingface_hub import HfApi, hf_hub_download

    repo_id = "admin/repeated-chunks"
    _create(stock_hub, repo_id)
    payload = bytes(range(256)) * 4096 + b"tail"
    api = HfApi(endpoint=stock_hub.url, token=stock_hub.token)
    api.upload_file(path_or_fileobj=payload, path_in_repo="repeated.bin", repo_id=repo_id)
    import httpx

    head = httpx.head(
        f"{stock_hub.url}/{repo_id}/resolve/main/repeated.bin",
        headers={"Authorization": f"Bearer {stock_hub.token}"},
    )
    assert head.headers.get("X-Xet-Hash"), "the file did not go through Xet"
    path = hf_hub_download(
        repo_id, "repeated.bin", endpoint=stock_hub.url, token=stock_hub.token, cache_dir=tmp_path
    )
    assert Path(path).read_bytes() == payload
