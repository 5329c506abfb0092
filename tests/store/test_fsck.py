"""`workbench hub fsck`: a clean hub passes; damaged blobs, refs and trees are named."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from sqlalchemy import select

from tests.support.hub import HubProcess

README = b"# Checked\n"
REGULAR = b"regular file content\n" * 100
LFS = bytes(range(256)) * 1000


def blob_path(h: HubProcess, data: bytes) -> Path:
    sha = hashlib.sha256(data).hexdigest()
    return h.data / "blobs" / sha[:2] / sha[2:4] / sha


def upload_lfs(h: HubProcess, repo_id: str, data: bytes) -> str:
    """Send bytes through the git-LFS batch API (basic transfer); return their SHA-256."""
    oid = hashlib.sha256(data).hexdigest()
    r = httpx.post(
        f"{h.url}/{repo_id}.git/info/lfs/objects/batch",
        headers={"Authorization": f"Bearer {h.token}"},
        json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(data)}]},
    )
    r.raise_for_status()
    actions = r.json()["objects"][0].get("actions")
    if actions:
        httpx.put(actions["upload"]["href"], content=data).raise_for_status()
    return oid


def commit_lfs(h: HubProcess, repo_id: str, path: str, data: bytes) -> str:
    oid = upload_lfs(h, repo_id, data)
    lines = [
        {"key": "header", "value": {"summary": f"Add {path}"}},
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": len(data)}},
    ]
    r = httpx.post(
        f"{h.url}/api/models/{repo_id}/commit/main",
        headers={"Authorization": f"Bearer {h.token}", "Content-Type": "application/x-ndjson"},
        content="\n".join(json.dumps(x) for x in lines).encode(),
    )
    r.raise_for_status()
    return str(r.json()["commitOid"])


@pytest.fixture
def populated(hub_factory) -> HubProcess:  # type: ignore[no-untyped-def]
    """A hub with a repo holding a README, a regular file and an LFS file, plus a branch."""
    h = hub_factory(env={"WORKBENCH_BUILTIN_METRICS": "false"})  # only this repo in the hub
    api = HfApi(endpoint=h.url, token=h.token)
    api.create_repo("admin/checked")
    with pytest.warns(UserWarning, match="metadata"):  # a card without any, as the public hub warns
        api.upload_file(path_or_fileobj=README, path_in_repo="README.md", repo_id="admin/checked")
    api.upload_file(path_or_fileobj=REGULAR, path_in_repo="data/file.txt", repo_id="admin/checked")
    commit_lfs(h, "admin/checked", "weights.bin", LFS)
    api.create_branch("admin/checked", branch="dev")
    api.create_tag("admin/checked", tag="v1")
    return h


def fsck(h: HubProcess, *args: str) -> tuple[int, str]:
    r = h.cli("hub", "fsck", *args, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, r.stdout + r.stderr


def fsck_json(h: HubProcess, *args: str) -> tuple[int, dict]:
    r = h.cli("hub", "fsck", "--json", *args, check=False)
    return r.returncode, json.loads(r.stdout)


def test_clean_hub_passes(populated: HubProcess) -> None:
    code, out = fsck(populated)
    assert code == 0, out
    assert "consistent" in out
    code, report = fsck_json(populated)
    assert code == 0
    assert report["ok"] is True and report["problems"] == []
    c = report["counts"]
    assert (c["repos"], c["refs"], c["commits"]) == (1, 3, 4)
    assert c["blobs"] == 4  # .gitattributes, README, file, LFS object
    assert c["bytes_hashed"] >= len(LFS) + len(REGULAR)


def test_corrupt_blob_is_named(populated: HubProcess) -> None:
    for data in (REGULAR, LFS):
        path = blob_path(populated, data)
        original = path.read_bytes()
        damaged = bytearray(original)
        damaged[len(damaged) // 2] ^= 0xFF  # same size, other content
        path.write_bytes(bytes(damaged))
        sha = hashlib.sha256(data).hexdigest()
        code, out = fsck(populated)
        assert code == 1
        assert f"problem: blob_hash_mismatch: Blob {sha}" in out
        code, report = fsck_json(populated)
        assert code == 1
        assert [(p["kind"], p["subject"]) for p in report["problems"]] == [("blob_hash_mismatch", sha)]
        # sizes still match, so the quick check cannot see it
        assert fsck(populated, "--no-verify-hashes")[0] == 0
        path.write_bytes(original[:-1])  # truncated: seen without hashing too
        code, report = fsck_json(populated, "--no-verify-hashes")
        assert code == 1
        assert [(p["kind"], p["subject"]) for p in report["problems"]] == [("blob_size_mismatch", sha)]
        path.write_bytes(original)
    assert fsck(populated)[0] == 0


def test_deleted_blob_is_named(populated: HubProcess) -> None:
    path = blob_path(populated, LFS)
    path.unlink()
    sha = hashlib.sha256(LFS).hexdigest()
    code, out = fsck(populated, "--no-verify-hashes")
    assert code == 1
    assert f"problem: missing_blob: Blob {sha}" in out
    assert "weights.bin" in out  # says where it is used
    code, report = fsck_json(populated)
    assert code == 1
    assert [(p["kind"], p["subject"]) for p in report["problems"]] == [("missing_blob", sha)]


def test_broken_metadata_is_reported(populated: HubProcess) -> None:
    populated.stop()
    db = sqlite3.connect(populated.data / "hub.sqlite")
    try:
        with db:
            db.execute("UPDATE refs SET commit_oid = ? WHERE name = 'dev'", ("f" * 40,))
            db.execute(
                "UPDATE trees SET entries = replace(entries, 'weights.bin', 'w.bin') "
                "WHERE entries LIKE '%weights.bin%'"
            )
    finally:
        db.close()
    code, report = fsck_json(populated)
    assert code == 1
    kinds = {p["kind"] for p in report["problems"]}
    assert kinds == {"missing_commit", "tree_hash_mismatch"}
    assert any(p["subject"] == "models/admin/checked@branch:dev" for p in report["problems"])


def test_orphans_and_temp_files_are_notes(populated: HubProcess) -> None:
    orphan = b"uploaded but never committed" * 10
    upload_lfs(populated, "admin/checked", orphan)
    leftover = populated.data / "tmp" / "upload-leftover"
    leftover.write_bytes(b"partial")
    code, report = fsck_json(populated)
    assert code == 0, report
    notes = {(n["kind"], n["subject"]) for n in report["notes"]}
    assert ("orphan_blob", hashlib.sha256(orphan).hexdigest()) in notes
    assert ("temp_file", str(leftover)) in notes
    code, out = fsck(populated)
    assert code == 0 and "note: orphan_blob" in out and "consistent" in out


def test_cli_errors_are_short(tmp_path: Path, populated: HubProcess) -> None:
    r = populated.cli("hub", "fsck", "--data", str(tmp_path / "nothing"), check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("error: no hub in") and "Traceback" not in r.stderr


def test_wrong_git_ids_and_parents(populated: HubProcess) -> None:
    """Damage that keeps every row self-consistent is still found (checked on the store)."""
    from workbench.config import HubSettings
    from workbench.store import models as m
    from workbench.store.fsck import fsck as check
    from workbench.store.store import Store
    from workbench.store.trees import Tree, TreeEntry

    populated.stop()
    store = Store.open(HubSettings(data_dir=populated.data, write_user_config=False))
    try:
        with store.write() as s:
            head = s.scalar(select(m.Ref.commit_oid).where(m.Ref.name == "main", m.Ref.kind == "branch"))
            commit = s.get(m.Commit, head)
            tree = store.load_tree(s, commit.tree_hash)
            entries = []
            for e in tree.entries.values():  # plausible but wrong git ids, re-hashed tree
                if e.path in ("data/file.txt", "weights.bin"):
                    e = TreeEntry(e.path, e.sha256, e.size, "0" * 40, e.lfs)
                entries.append(e)
            bad = Tree.from_entries(entries)
            s.add(m.Tree(hash=bad.hash, entries=bad.to_json()))
            s.flush()
            commit.tree_hash = bad.hash
            commit.parent_oid = "e" * 40
        for verify in (True, False):
            report = check(store, verify_hashes=verify)
            found = {(p.kind, p.subject) for p in report.problems}
            assert found == {
                ("missing_parent", f"models/admin/checked@{head}"),
                ("git_oid_mismatch", hashlib.sha256(REGULAR).hexdigest()),
                ("bad_lfs_oid", f"models/admin/checked@{head}:weights.bin"),
            }, report.problems
    finally:
        store.close()
