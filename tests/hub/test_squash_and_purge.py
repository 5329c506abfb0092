"""Freeing space and purging a leaked file through the stock ``HfApi``: ``super_squash_history``,
``list_lfs_files`` and ``permanently_delete_lfs_files`` against a real hub.

A squash keeps the branch's files and replaces its history with one commit, leaving other
refs alone; a purge rewrites every commit that named the file, after which ``workbench hub gc
--grace 0`` frees its bytes (git-LFS and Xet alike) and ``workbench hub fsck`` is clean. Who may
not write is refused and nothing changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from sqlalchemy import select

from tests.support.hub import HubProcess
from tests.support.team import Team, make_team
from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store.store import Store

# huggingface_hub sends a BytesIO (the git-LFS path) with httpx's deprecated ``data=``.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw:DeprecationWarning")


@pytest.fixture(scope="module")
def team(hub) -> Team:  # type: ignore[no-untyped-def]
    return make_team(hub, prefix="squash")


@pytest.fixture
def own_hub(hub_factory) -> Iterator[tuple[HubProcess, Store]]:  # type: ignore[no-untyped-def]
    """A hub of its own (GC and fsck look at every repo) and its store."""
    h = hub_factory(env={"WORKBENCH_BUILTIN_METRICS": "false"})
    store = Store.open(HubSettings(data_dir=h.data, write_user_config=False))
    yield h, store
    store.close()


def _as(hub: HubProcess, token: str | None) -> HfApi:
    return HfApi(endpoint=hub.url, token=token or False)


def _code(info: pytest.ExceptionInfo[HfHubHTTPError]) -> tuple[int, str | None]:
    response = info.value.response
    return response.status_code, response.headers.get("X-Error-Code")


def _files_at(api: HfApi, repo_id: str, revision: str) -> dict[str, str | None]:
    """path -> LFS SHA-256 (None for regular files) at a revision."""
    return {
        e.path: (e.lfs.sha256 if e.lfs else None)
        for e in api.list_repo_tree(repo_id, revision=revision, recursive=True)
        if hasattr(e, "size")
    }


def _read(hub: HubProcess, repo_id: str, path: str, revision: str = "main") -> bytes:
    r = httpx.get(
        f"{hub.url}/{repo_id}/resolve/{revision}/{path}",
        headers={"Authorization": f"Bearer {hub.token}"},
        follow_redirects=True,
    )
    r.raise_for_status()
    return r.content


def _stored_with(data_dir: Path, needle: bytes) -> list[Path]:
    """Files of the blob store that hold ``needle`` anywhere."""
    return [p for p in (data_dir / "blobs").rglob("*") if p.is_file() and needle in p.read_bytes()]


# -- super_squash_history -------------------------------------------------------------------
def test_squash_keeps_the_files_and_drops_the_old_commits(hub, api: HfApi, repo_id: str) -> None:  # type: ignore[no-untyped-def]
    weights = os.urandom(40_000)
    first = api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="notes.txt", repo_id=repo_id)
    api.upload_file(path_or_fileobj=io.BytesIO(weights), path_in_repo="w.bin", repo_id=repo_id)
    api.create_tag(repo_id, tag="v1", revision=first.oid)
    api.create_branch(repo_id, branch="side")
    api.upload_file(path_or_fileobj=b"side\n", path_in_repo="side.txt", repo_id=repo_id, revision="side")
    last = api.upload_file(path_or_fileobj=b"v2\n", path_in_repo="notes.txt", repo_id=repo_id)
    before = _files_at(api, repo_id, "main")
    old_main = [c.commit_id for c in api.list_repo_commits(repo_id)]
    side = [c.commit_id for c in api.list_repo_commits(repo_id, revision="side")]
    assert len(old_main) == 4

    api.super_squash_history(repo_id, commit_message="Start over\n\nOne commit.")

    (head,) = api.list_repo_commits(repo_id)
    assert head.commit_id not in old_main and head.title == "Start over"
    assert head.message == "Start over\n\nOne commit."
    assert _files_at(api, repo_id, "main") == before
    assert _read(hub, repo_id, "w.bin") == weights and _read(hub, repo_id, "notes.txt") == b"v2\n"
    # other refs are untouched: their commits stay, and only those
    assert [c.commit_id for c in api.list_repo_commits(repo_id, revision="side")] == side
    refs = api.list_repo_refs(repo_id)
    assert {t.name: t.target_commit for t in refs.tags} == {"v1": first.oid}
    assert {b.name: b.target_commit for b in refs.branches} == {"main": head.commit_id, "side": side[0]}
    with pytest.raises(RevisionNotFoundError):  # reached by main only, now gone
        api.list_repo_commits(repo_id, revision=last.oid)
    # the audit log says who squashed what
    r = httpx.get(
        f"{hub.url}/api/audit",
        params={"action": "repo.squash", "repo": repo_id},
        headers={"Authorization": f"Bearer {hub.token}"},
    )
    (event,) = r.json()["events"]
    assert event["actor"] == "admin"
    assert event["details"] == {"branch": "main", "from": last.oid, "to": head.commit_id, "commitsDropped": 1}
    # a squashed branch takes commits as before
    api.upload_file(path_or_fileobj=b"v3\n", path_in_repo="notes.txt", repo_id=repo_id)
    assert [c.commit_id for c in api.list_repo_commits(repo_id)][1:] == [head.commit_id]


def test_squash_of_another_branch_leaves_main_alone(api: HfApi, repo_id: str) -> None:
    api.upload_file(path_or_fileobj=b"a\n", path_in_repo="a.txt", repo_id=repo_id)
    api.create_branch(repo_id, branch="feat/x")
    api.upload_file(path_or_fileobj=b"b\n", path_in_repo="b.txt", repo_id=repo_id, revision="feat/x")
    main = [c.commit_id for c in api.list_repo_commits(repo_id)]
    api.super_squash_history(repo_id, branch="feat/x")
    (head,) = api.list_repo_commits(repo_id, revision="feat/x")
    assert head.title == "Super-squash branch 'feat/x' using huggingface_hub"
    assert set(_files_at(api, repo_id, "feat/x")) == {".gitattributes", "a.txt", "b.txt"}
    assert [c.commit_id for c in api.list_repo_commits(repo_id)] == main


def test_squash_of_a_pull_request_ref_and_not_of_a_tag(api: HfApi, repo_id: str) -> None:
    from huggingface_hub.errors import BadRequestError

    api.upload_file(path_or_fileobj=b"a\n", path_in_repo="a.txt", repo_id=repo_id)
    pr = api.create_pull_request(repo_id, title="squash me")
    for content in (b"one\n", b"two\n"):
        api.upload_file(
            path_or_fileobj=content, path_in_repo="f.txt", repo_id=repo_id, revision=pr.git_reference
        )
    main = [c.commit_id for c in api.list_repo_commits(repo_id)]
    api.super_squash_history(repo_id, branch=pr.git_reference)
    assert len(api.list_repo_commits(repo_id, revision=pr.git_reference)) == 1
    assert set(_files_at(api, repo_id, pr.git_reference)) == {".gitattributes", "a.txt", "f.txt"}
    assert [c.commit_id for c in api.list_repo_commits(repo_id)] == main
    api.create_tag(repo_id, tag="v1")
    with pytest.raises(BadRequestError) as refused:
        api.super_squash_history(repo_id, branch="v1")
    assert refused.value.response.headers["X-Error-Code"] == "NotABranch"


def test_squash_refused_without_write_access_and_nothing_changes(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    writer = _as(hub, team.tokens["writer"])
    repo_id = f"{team.org}/squash-refused"
    writer.create_repo(repo_id, private=True)
    writer.upload_file(path_or_fileobj=b"1", path_in_repo="a.txt", repo_id=repo_id)
    writer.upload_file(path_or_fileobj=b"2", path_in_repo="a.txt", repo_id=repo_id)
    history = [c.commit_id for c in writer.list_repo_commits(repo_id)]
    refused = {
        "reader": (403, "WriteForbidden"),
        "outsider": (404, "RepoNotFound"),  # a private repo looks missing
    }
    for who, expected in refused.items():
        with pytest.raises(HfHubHTTPError) as info:
            _as(hub, team.tokens[who]).super_squash_history(repo_id)
        assert _code(info) == expected, who
    with pytest.raises(HfHubHTTPError) as info:
        _as(hub, team.read_tokens["writer"]).super_squash_history(repo_id)
    assert _code(info) == (403, "ReadOnlyToken")
    with pytest.raises(RepositoryNotFoundError):
        _as(hub, None).super_squash_history(repo_id)
    assert [c.commit_id for c in writer.list_repo_commits(repo_id)] == history
    # a missing branch, and a tag, are refused too
    with pytest.raises(RevisionNotFoundError) as missing:
        writer.super_squash_history(repo_id, branch="nope")
    assert _code(missing) == (404, "RevisionNotFound")
    writer.create_tag(repo_id, tag="v1")
    with pytest.raises(HfHubHTTPError) as tag:
        writer.super_squash_history(repo_id, branch="v1")
    assert _code(tag) == (400, "NotABranch")
    assert [c.commit_id for c in writer.list_repo_commits(repo_id)] == history
    writer.super_squash_history(repo_id)  # the writer may
    assert len(writer.list_repo_commits(repo_id)) == 1


# -- list_lfs_files -------------------------------------------------------------------------
def test_list_lfs_files_names_every_large_file_of_the_history(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    writer = _as(hub, team.tokens["writer"])
    repo_id = f"{team.org}/lfs-listed"
    writer.create_repo(repo_id, private=True)
    old, new, xet = os.urandom(30_000), os.urandom(30_000), os.urandom(300_000)
    writer.upload_file(path_or_fileobj=io.BytesIO(old), path_in_repo="w.bin", repo_id=repo_id)
    writer.upload_file(path_or_fileobj=io.BytesIO(new), path_in_repo="w.bin", repo_id=repo_id)
    writer.upload_file(path_or_fileobj=xet, path_in_repo="x.safetensors", repo_id=repo_id)  # through Xet
    writer.upload_file(path_or_fileobj=b"small\n", path_in_repo="notes.txt", repo_id=repo_id)
    (xet_entry,) = writer.get_paths_info(repo_id, ["x.safetensors"])
    assert xet_entry.xet_hash

    files = list(writer.list_lfs_files(repo_id))
    by_sha = {f.file_oid: f for f in files}

    shas = [hashlib.sha256(d).hexdigest() for d in (old, new, xet)]
    assert [f.file_oid for f in files] == shas  # oldest first; the regular file is not listed
    assert [f.size for f in files] == [len(old), len(new), len(xet)]
    assert [f.filename for f in files] == ["w.bin", "w.bin", "x.safetensors"]
    assert all(f.ref == "refs/heads/main" for f in files)
    assert files[0].pushed_at <= files[1].pushed_at <= files[2].pushed_at
    assert by_sha[shas[2]].xetHash == xet_entry.xet_hash  # type: ignore[attr-defined]
    assert by_sha[shas[1]].oid == writer.get_paths_info(repo_id, ["w.bin"])[0].blob_id
    assert list(_as(hub, team.tokens["reader"]).list_lfs_files(repo_id))  # readers may list
    for token in (team.tokens["outsider"], None):
        with pytest.raises(RepositoryNotFoundError):
            list(_as(hub, token).list_lfs_files(repo_id))


# -- permanently_delete_lfs_files -------------------------------------------------------------
def _gc_and_fsck(h: HubProcess) -> dict:  # type: ignore[type-arg]
    gc = h.cli("hub", "gc", "--grace", "0", "--json")
    fsck = h.cli("hub", "fsck", "--json", check=False)
    report = json.loads(fsck.stdout)
    assert fsck.returncode == 0 and report["ok"], report["problems"]
    return json.loads(gc.stdout)  # type: ignore[no-any-return]


def test_a_purged_leak_is_gone_from_every_commit_and_gc_frees_its_bytes(own_hub) -> None:  # type: ignore[no-untyped-def]
    h, store = own_hub
    api = _as(h, h.token)
    repo_id = "admin/leaky"
    api.create_repo(repo_id)
    secret, weights = b"AWS_SECRET=" + os.urandom(40_000), os.urandom(40_000)
    api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n# model\n", path_in_repo="README.md", repo_id=repo_id
    )
    leak = api.upload_file(path_or_fileobj=io.BytesIO(secret), path_in_repo="conf/keys.bin", repo_id=repo_id)
    api.upload_file(path_or_fileobj=io.BytesIO(weights), path_in_repo="w.bin", repo_id=repo_id)
    api.create_branch(repo_id, branch="exp")
    api.create_tag(repo_id, tag="v1")
    api.delete_file("conf/keys.bin", repo_id=repo_id)  # deleted, but the history still holds it
    api.upload_file(path_or_fileobj=b"x", path_in_repo="exp.txt", repo_id=repo_id, revision="exp")
    titles = {r: [c.title for c in api.list_repo_commits(repo_id, revision=r)] for r in ("main", "exp", "v1")}
    assert _stored_with(h.data, secret[:64])

    (leaked,) = [f for f in api.list_lfs_files(repo_id) if f.filename == "conf/keys.bin"]
    api.permanently_delete_lfs_files(repo_id, [leaked])

    assert leaked.file_oid not in {f.file_oid for f in api.list_lfs_files(repo_id)}
    for rev, before in titles.items():
        commits = api.list_repo_commits(repo_id, revision=rev)
        assert [c.title for c in commits] == before  # same history, rewritten
        for c in commits:
            assert leaked.file_oid not in _files_at(api, repo_id, c.commit_id).values()
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_commits(repo_id, revision=leak.oid)
    assert _read(h, repo_id, "w.bin") == weights
    assert _read(h, repo_id, "exp.txt", "exp") == b"x"
    assert _gc_and_fsck(h)["blobs_freed"] == 1
    assert not _stored_with(h.data, secret[:64])
    with store.read() as s:
        assert s.get(m.Blob, leaked.file_oid) is None


def test_a_regular_file_is_purged_by_its_sha256(own_hub) -> None:  # type: ignore[no-untyped-def]
    """A leak is rarely a large file: the hub purges a regular file by its SHA-256 too."""
    h, _store = own_hub
    api = _as(h, h.token)
    repo_id = "admin/leaky-env"
    api.create_repo(repo_id)
    secret = b"HF_TOKEN=hf_" + os.urandom(16).hex().encode() + b"\n"
    api.upload_file(path_or_fileobj=secret, path_in_repo=".env", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"print(1)\n", path_in_repo="run.py", repo_id=repo_id)
    assert not list(api.list_lfs_files(repo_id)) and _stored_with(h.data, secret)
    r = httpx.post(
        f"{h.url}/api/models/{repo_id}/lfs-files/batch",
        headers={"Authorization": f"Bearer {h.token}"},
        json={"deletions": {"sha": [hashlib.sha256(secret).hexdigest()], "rewriteHistory": True}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == 1 and r.json()["refsMoved"] == ["refs/heads/main"]
    assert set(_files_at(api, repo_id, "main")) == {".gitattributes", "run.py"}
    assert _gc_and_fsck(h)["blobs_freed"] == 1
    assert not _stored_with(h.data, secret)


def test_a_purged_xet_file_is_freed_without_waiting_for_the_xet_grace(own_hub) -> None:  # type: ignore[no-untyped-def]
    h, store = own_hub
    api = _as(h, h.token)
    repo_id = "admin/leaky-xet"
    api.create_repo(repo_id)
    secret, kept = os.urandom(500_000), os.urandom(500_000)
    api.upload_file(path_or_fileobj=secret, path_in_repo="dump.safetensors", repo_id=repo_id)
    api.upload_file(path_or_fileobj=kept, path_in_repo="model.safetensors", repo_id=repo_id)
    (entry,) = api.get_paths_info(repo_id, ["dump.safetensors"])
    assert entry.xet_hash
    with store.read() as s:
        row = s.get(m.XetFile, entry.xet_hash)
        assert row is not None
        xorbs = {str(t[0]) for t in row.terms}
        blobs = set(s.scalars(select(m.XetXorb.blob_sha256).where(m.XetXorb.hash.in_(xorbs))))
    assert blobs and all(store.blobs.exists(b) for b in blobs)

    api.permanently_delete_lfs_files(
        repo_id, [f for f in api.list_lfs_files(repo_id) if f.filename == "dump.safetensors"]
    )
    assert set(_files_at(api, repo_id, "main")) == {".gitattributes", "model.safetensors"}
    report = _gc_and_fsck(h)  # the default Xet grace of 21 days does not keep a purged file
    assert report["xet_files_freed"] == 1 and report["xorbs_freed"] == len(xorbs)
    assert not any(store.blobs.exists(b) for b in blobs)
    with store.read() as s:
        assert s.get(m.XetFile, entry.xet_hash) is None
        assert s.get(m.KeyValue, "gc.purged-xet") is None  # nothing left for a later run
    assert _read(h, repo_id, "model.safetensors") == kept


def test_purge_refused_without_write_access(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    writer = _as(hub, team.tokens["writer"])
    repo_id = f"{team.org}/purge-refused"
    writer.create_repo(repo_id, private=True)
    writer.upload_file(path_or_fileobj=io.BytesIO(os.urandom(20_000)), path_in_repo="w.bin", repo_id=repo_id)
    files = list(writer.list_lfs_files(repo_id))
    history = [c.commit_id for c in writer.list_repo_commits(repo_id)]
    for api, expected in (
        (_as(hub, team.tokens["reader"]), (403, "WriteForbidden")),
        (_as(hub, team.read_tokens["admin"]), (403, "ReadOnlyToken")),
        (_as(hub, team.tokens["outsider"]), (404, "RepoNotFound")),
    ):
        with pytest.raises(HfHubHTTPError) as info:
            api.permanently_delete_lfs_files(repo_id, files)
        assert _code(info) == expected
    with pytest.raises(HfHubHTTPError) as info:  # keeping pointers to freed bytes is not offered
        writer.permanently_delete_lfs_files(repo_id, files, rewrite_history=False)
    assert _code(info) == (400, "RewriteHistoryRequired")
    unknown = type(files[0])(**{**_wire(files[0]), "fileOid": "0" * 64})
    with pytest.raises(HfHubHTTPError) as info:
        writer.permanently_delete_lfs_files(repo_id, [unknown])
    assert _code(info) == (404, "LfsFileNotFound")
    assert [c.commit_id for c in writer.list_repo_commits(repo_id)] == history
    assert [f.file_oid for f in writer.list_lfs_files(repo_id)] == [f.file_oid for f in files]


def _wire(f: object) -> dict:  # type: ignore[type-arg]
    return {
        "fileOid": f.file_oid,  # type: ignore[attr-defined]
        "filename": f.filename,  # type: ignore[attr-defined]
        "oid": f.oid,  # type: ignore[attr-defined]
        "pushedAt": f.pushed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # type: ignore[attr-defined]
        "size": f.size,  # type: ignore[attr-defined]
    }
