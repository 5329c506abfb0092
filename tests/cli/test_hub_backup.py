"""``workbench hub backup`` and ``restore``: a snapshot taken while the hub serves (commits
running) restores into a hub that passes fsck and serves the same files, on SQLite and on
PostgreSQL; later backups copy only new blobs."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hub import HubProcess
from tests.support.postgres import PostgresServer, create_database
from tests.support.s3 import S3Server
from tests.xet.cas_client import auth, create_repo, lfs_upload

pytest_plugins = ["tests.support.s3_fixtures"]

MiB = 1024 * 1024


def _api(hub: HubProcess) -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.url, token=hub.token)


def _fill(hub: HubProcess, work: Path) -> tuple[str, dict[str, bytes]]:
    """A repo with a git-LFS file, a Xet file and a small text file, and a discussion."""
    repo_id = create_repo(hub, "backed-up", private=True)
    files = {"lfs.bin": os.urandom(2 * MiB), "xet.bin": os.urandom(3 * MiB), "notes.txt": b"kept\n"}
    lfs_upload(hub, repo_id, {"lfs.bin": files["lfs.bin"]}, work)
    api = _api(hub)
    for name in ("xet.bin", "notes.txt"):  # hf_xet is installed: the binary goes through Xet
        api.upload_file(path_or_fileobj=files[name], path_in_repo=name, repo_id=repo_id)
    api.create_discussion(repo_id, title="Is this the final checkpoint?")
    return repo_id, files


def _backup(hub: HubProcess, dest: Path | str, *, check: bool = True) -> Any:
    out = hub.cli("hub", "backup", str(dest), "--json", check=check)
    return json.loads(out.stdout) if out.returncode == 0 else out


def _read_all(hub: HubProcess, token: str, repo_id: str, names: list[str]) -> dict[str, bytes]:
    return {
        name: httpx.get(f"{hub.url}/{repo_id}/resolve/main/{name}", headers=auth(token)).content
        for name in names
    }


def _committer(hub: HubProcess, repo_id: str, stop: threading.Event, done: list[str]) -> None:
    api = _api(hub)
    i = 0
    while not stop.is_set():
        info = api.upload_file(
            path_or_fileobj=f"step {i}\n".encode(), path_in_repo=f"log/{i}.txt", repo_id=repo_id
        )
        done.append(info.oid)
        i += 1


def test_backup_while_serving_restores_to_a_consistent_hub(hub_factory: Any, tmp_path: Path) -> None:
    hub: HubProcess = hub_factory()
    repo_id, files = _fill(hub, tmp_path)
    dest = tmp_path / "backups"

    stop, acknowledged = threading.Event(), []
    writer = threading.Thread(target=_committer, args=(hub, repo_id, stop, acknowledged))
    writer.start()
    try:
        while len(acknowledged) < 2:
            threading.Event().wait(0.05)
        before_backup = list(acknowledged)
        first = _backup(hub, dest)
    finally:
        stop.set()
        writer.join()
    assert first["database"] == "sqlite"
    assert first["blobs_copied"] == first["blobs"] > 0 and first["bytes_copied"] >= 5 * MiB

    # Incremental: the commits made while the first one ran, then nothing, then one new
    # file's blobs only.
    second = _backup(hub, dest)
    assert second["blobs"] >= first["blobs"] and second["blobs_copied"] < first["blobs_copied"]
    idle = _backup(hub, dest)
    assert idle["blobs_copied"] == 0 and idle["blobs"] == second["blobs"]
    _api(hub).upload_file(path_or_fileobj=os.urandom(MiB), path_in_repo="late.bin", repo_id=repo_id)
    third = _backup(hub, dest)
    assert 0 < third["blobs_copied"] <= 4 and third["bytes_copied"] < 2 * MiB

    listed = json.loads(hub.cli("hub", "restore", str(dest), "--list", "--json").stdout)
    assert [s["id"] for s in listed] == [first["id"], second["id"], idle["id"], third["id"]]

    # The first snapshot, into a new data folder: fsck is clean, the files are the same, the
    # commits acknowledged before the backup began are there.
    restored = HubProcess(tmp_path / "restored")
    out = restored.cli("hub", "restore", str(dest), "--snapshot", first["id"])
    assert first["id"] in out.stdout
    fsck = restored.cli("hub", "fsck", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    restored.start()
    restored.token = hub.token  # the restored database holds the same accounts and tokens
    try:
        assert _read_all(restored, hub.token, repo_id, list(files)) == files
        commits = {c.commit_id for c in _api(restored).list_repo_commits(repo_id)}
        assert set(before_backup) <= commits
        assert "late.bin" not in _api(restored).list_repo_files(repo_id)
        [discussion] = list(_api(restored).get_repo_discussions(repo_id))
        assert discussion.title == "Is this the final checkpoint?"
        # Private stays private after a restore.
        anonymous = httpx.get(f"{restored.url}/{repo_id}/resolve/main/notes.txt")
        assert anonymous.status_code in (401, 404)
    finally:
        restored.stop()

    # Restoring over a hub is refused; so is a snapshot that does not exist.
    again = restored.cli("hub", "restore", str(dest), check=False)
    assert again.returncode == 1 and "not empty" in again.stderr
    missing = HubProcess(tmp_path / "other").cli(
        "hub", "restore", str(dest), "--snapshot", "nope", check=False
    )
    assert missing.returncode == 1 and "nope" in missing.stderr


def test_backup_refuses_a_folder_that_is_not_a_backup(hub_factory: Any, tmp_path: Path) -> None:
    hub: HubProcess = hub_factory()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.pdf").write_bytes(b"%PDF")
    out = _backup(hub, busy, check=False)
    assert out.returncode == 1 and "not empty" in out.stderr
    assert sorted(p.name for p in busy.iterdir()) == ["thesis.pdf"]
    nothing = hub.cli("hub", "restore", str(tmp_path / "nowhere"), "--list", check=False)
    assert nothing.returncode == 1 and "no Workbench backup" in nothing.stderr


@pytest.mark.postgres
@pytest.mark.s3
def test_backup_and_restore_on_postgresql_and_s3(
    postgres_server: PostgresServer, s3_server: S3Server, tmp_path: Path
) -> None:
    """A team's hub (PostgreSQL, blobs in a bucket) backed up into a bucket and restored into
    another database and another bucket."""
    source_db = create_database(postgres_server, "t_backup_source")
    source_bucket = s3_server.create_bucket("wb-backup-source")
    backups = s3_server.create_bucket("wb-backups")
    dest = f"s3://{backups.name}/hub"
    hub = HubProcess(tmp_path / "pg-hub", database_url=source_db, env=source_bucket.hub_env()).start()
    try:
        repo_id, files = _fill(hub, tmp_path)
        info = _backup(hub, dest)
        assert info["database"] == "postgresql" and info["blobs_copied"] == info["blobs"] > 0
    finally:
        hub.stop()
    assert any(k.startswith("hub/snapshots/") for k in backups.keys())
    target_db = create_database(postgres_server, "t_backup_target")
    target_bucket = s3_server.create_bucket("wb-backup-target")
    restored = HubProcess(tmp_path / "pg-restored", database_url=target_db, env=target_bucket.hub_env())
    restored.cli("hub", "restore", dest)
    assert len(target_bucket.keys()) == info["blobs"]
    fsck = restored.cli("hub", "fsck", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    restored.start()
    try:
        assert _read_all(restored, hub.token, repo_id, list(files)) == files
    finally:
        restored.stop()
    # The target now holds a hub: a second restore into it is refused.
    again = restored.cli("hub", "restore", dest, check=False)
    assert again.returncode == 1 and "not empty" in again.stderr
