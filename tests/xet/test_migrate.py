"""``workbench hub xet-migrate``: files uploaded over git-LFS get a Xet version, clients then
download them through Xet, and a changed version uploads only what changed."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.hub import HubProcess
from tests.xet.cas_client import auth, create_repo, lfs_upload, stock_download, stock_upload

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def migrate_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    proc = HubProcess(tmp_path_factory.mktemp("migrate-hub")).start()
    yield proc
    proc.stop()


def _xet_rows(hub: HubProcess) -> tuple[int, int]:
    with sqlite3.connect(hub.data / "hub.sqlite") as conn:
        files = conn.execute("select count(*) from xet_files").fetchone()[0]
        xorb_bytes = conn.execute("select coalesce(sum(size), 0) from xet_xorbs").fetchone()[0]
    return int(files), int(xorb_bytes)


def _migrate(hub: HubProcess, *args: str) -> dict[str, object]:
    out = hub.cli("hub", "xet-migrate", "--json", *args)
    report: dict[str, object] = json.loads(out.stdout)
    return report


def test_lfs_files_join_xet_and_its_deduplication(migrate_hub: HubProcess, tmp_path: Path) -> None:
    repo_id = create_repo(migrate_hub, "lfs-era")
    weights = os.urandom(4 * MiB)
    small = os.urandom(300_000)
    lfs_upload(migrate_hub, repo_id, {"model.bin": weights, "small.bin": small}, tmp_path)
    head = httpx.head(f"{migrate_hub.url}/{repo_id}/resolve/main/model.bin", headers=auth(migrate_hub.token))
    assert head.status_code == 200 and "X-Xet-Hash" not in head.headers
    assert _xet_rows(migrate_hub) == (0, 0)

    dry = _migrate(migrate_hub, "--dry-run")
    assert dry["candidates"] == 1 and dry["bytes_migrated"] == len(weights)  # small.bin < 1 MiB
    lower = _migrate(migrate_hub, "--dry-run", "--min-size", "200KB")
    assert lower["candidates"] == 2 and lower["bytes_migrated"] == len(weights) + len(small)
    assert _xet_rows(migrate_hub) == (0, 0)

    report = _migrate(migrate_hub, "--repo", repo_id)
    assert report["files_migrated"] == 1 and report["errors"] == []
    head = httpx.head(f"{migrate_hub.url}/{repo_id}/resolve/main/model.bin", headers=auth(migrate_hub.token))
    xet_hash = head.headers["X-Xet-Hash"]
    assert head.headers["ETag"] == f'"{hashlib.sha256(weights).hexdigest()}"'
    assert (
        "X-Xet-Hash"
        not in httpx.head(
            f"{migrate_hub.url}/{repo_id}/resolve/main/small.bin", headers=auth(migrate_hub.token)
        ).headers
    )
    # Through Xet with the repo's read token, and as plain bytes as before.
    got = stock_download(migrate_hub, repo_id, xet_hash, len(weights), tmp_path / "xet.bin")
    assert got == weights
    plain = httpx.get(f"{migrate_hub.url}/{repo_id}/resolve/main/model.bin", headers=auth(migrate_hub.token))
    assert plain.content == weights

    # A fine-tune of it, pushed by Xet from a machine that never saw it, sends what changed.
    _files, before = _xet_rows(migrate_hub)
    edited = weights[: 2 * MiB] + os.urandom(32 * 1024) + weights[2 * MiB :]
    other = create_repo(migrate_hub, "finetune")
    stock_upload(migrate_hub, other, edited, machine=f"migrated-{time.time_ns()}")
    _files, after = _xet_rows(migrate_hub)
    assert after - before < len(edited) // 10

    # Garbage collection keeps the Xet version while a commit names the file (it frees only
    # the fine-tune, uploaded above but never committed).
    gc = migrate_hub.cli("hub", "gc", "--grace", "0", "--json")
    assert json.loads(gc.stdout)["xet_files_freed"] == 1
    head = httpx.head(f"{migrate_hub.url}/{repo_id}/resolve/main/model.bin", headers=auth(migrate_hub.token))
    assert head.headers["X-Xet-Hash"] == xet_hash
    assert stock_download(migrate_hub, repo_id, xet_hash, len(weights), tmp_path / "again.bin") == weights

    # Again: nothing left to do; fsck is clean.
    again = _migrate(migrate_hub)
    assert again["candidates"] == 0 and again["files_migrated"] == 0
    fsck = migrate_hub.cli("hub", "fsck", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def test_a_second_repo_naming_the_file_is_linked(migrate_hub: HubProcess, tmp_path: Path) -> None:
    data = os.urandom(2 * MiB)
    first = create_repo(migrate_hub, "first", private=True)
    lfs_upload(migrate_hub, first, {"w.bin": data}, tmp_path)
    assert _migrate(migrate_hub, "--repo", first)["files_migrated"] == 1
    second = create_repo(migrate_hub, "second")
    lfs_upload(migrate_hub, second, {"w.bin": data}, tmp_path)  # the blob exists: no upload
    head = httpx.head(f"{migrate_hub.url}/{second}/resolve/main/w.bin", headers=auth(migrate_hub.token))
    assert "X-Xet-Hash" not in head.headers  # not linked to the second repo yet
    report = _migrate(migrate_hub, "--repo", second)
    assert report["files_migrated"] == 0 and report["files_linked"] == 1
    head = httpx.head(f"{migrate_hub.url}/{second}/resolve/main/w.bin", headers=auth(migrate_hub.token))
    assert "X-Xet-Hash" in head.headers


def test_bad_arguments_are_refused(migrate_hub: HubProcess) -> None:
    out = migrate_hub.cli("hub", "xet-migrate", "--repo", "nobody/nothing", check=False)
    assert out.returncode == 1 and "nobody/nothing" in out.stderr + out.stdout
    out = migrate_hub.cli("hub", "xet-migrate", "--min-size", "lots", check=False)
    assert out.returncode == 2 and "is not a size" in out.stderr + out.stdout
