"""The store used directly (no HTTP), on both backends: SQLite and a real PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from workbench.config import HubSettings
from workbench.errors import (
    AuthenticationError,
    Conflict,
    EntryNotFound,
    InvalidRequest,
    PermissionDenied,
    RepoNotFound,
)
from workbench.store import models as m
from workbench.store.access import Principal, require_read, require_write
from workbench.store.accounts import (
    TOKEN_USE_RESOLUTION,
    authenticate,
    authenticate_use,
    create_org,
    create_token,
    create_user,
    hash_token,
    principal_for,
    record_use,
    revoke_token,
    set_membership,
)
from workbench.store.commits import (
    AddFile,
    DeleteFile,
    DeleteFolder,
    commit_tree,
    create_commit,
    diff_trees,
    history,
)
from workbench.store.fsck import fsck
from workbench.store.refs import create_ref, delete_ref, get_ref, list_refs, resolve_revision
from workbench.store.repos import GITATTRIBUTES, RepoKey, create_repo, delete_repo, move_repo
from workbench.store.store import Store
from workbench.store.trees import git_blob_oid


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> HubSettings:
    url = (
        f"sqlite:///{tmp_path / 'hub.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    return HubSettings(data_dir=tmp_path / "data", database_url=url, write_user_config=False)


@pytest.fixture
def store(settings: HubSettings) -> Iterator[Store]:
    st = Store.open(settings)
    yield st
    st.close()


@pytest.fixture
def alice(store: Store) -> Principal:
    with store.write() as s:
        return principal_for(s, create_user(s, "alice"), "write")


@pytest.fixture
def repo(store: Store, alice: Principal) -> RepoKey:
    with store.write() as s:
        create_repo(store, s, alice, "model", "alice", "tiny")
    return RepoKey("model", "alice", "tiny")


def add(store: Store, path: str, data: bytes) -> AddFile:
    return AddFile(path, store.blobs.ingest_bytes(data))


def head(store: Store, key: RepoKey, branch: str = "main") -> str:
    with store.read() as s:
        repo = store.get_repo(s, *key.as_tuple())
        return resolve_revision(s, repo, branch).oid


def files_at(store: Store, key: RepoKey, rev: str = "main") -> dict[str, bytes]:
    with store.read() as s:
        repo = store.get_repo(s, *key.as_tuple())
        tree = commit_tree(store, s, resolve_revision(s, repo, rev).oid)
    return {p: store.blobs.read(e.sha256) for p, e in tree.entries.items()}


def count_commits(store: Store) -> int:
    with store.read() as s:
        return len(s.scalars(select(m.Commit.oid)).all())


# -- accounts ---------------------------------------------------------------------------------


def test_users_orgs_and_tokens(store: Store) -> None:
    with store.write() as s:
        bob = create_user(s, "bob", fullname="Bob B.")
        org = create_org(s, "acme", owner=bob)
        carol = create_user(s, "carol")
        set_membership(s, org, carol, "read")
        set_membership(s, org, carol, "write")  # changing a role updates the row
        write_token = create_token(s, bob, "laptop", scope="write")
        read_token = create_token(s, carol, "ci", scope="read")
        with pytest.raises(InvalidRequest):
            set_membership(s, org, carol, "owner")
        with pytest.raises(InvalidRequest):
            create_token(s, bob, "x", scope="admin")
    with store.write() as s, pytest.raises(Conflict):
        create_org(s, "bob")
    with store.write() as s, pytest.raises(InvalidRequest):
        create_user(s, "api")  # reserved namespace

    with store.read() as s:
        p = authenticate(s, write_token)
        assert (p.name, p.scope, p.org_names) == ("bob", "write", {"acme": "admin"})
        q = authenticate(s, read_token)
        assert (q.name, q.scope, q.org_names) == ("carol", "read", {"acme": "write"})
        assert authenticate(s, None).anonymous
        with pytest.raises(AuthenticationError):
            authenticate(s, write_token + "x")

    with store.write() as s:
        row = s.scalar(select(m.Token).where(m.Token.name == "laptop"))
        assert row is not None and row.token_hash == hash_token(write_token)
        revoke_token(s, s.get(m.Account, row.user_id), row.id)
    with store.read() as s, pytest.raises(AuthenticationError):
        authenticate(s, write_token)
    with store.read() as s:
        assert authenticate(s, read_token).name == "carol"


def test_token_use_is_recorded_once_per_resolution(store: Store) -> None:
    with store.write() as s:
        bob = create_user(s, "bob")
        set_membership(s, create_org(s, "lab"), bob, "read")
        token = create_token(s, bob, "laptop", scope="read")
        lonely = create_token(s, create_user(s, "eve"), "ci")
    with store.read() as s:
        p, due = authenticate_use(s, token)
        assert (p.name, p.scope, p.org_names) == ("bob", "read", {"lab": "read"})
        row = s.scalar(select(m.Token).where(m.Token.name == "laptop"))
        assert row is not None and due == row.id and row.last_used_at is None
        assert authenticate_use(s, lonely)[0].orgs == {}  # no organization: one row, no org
    with store.write() as s:
        record_use(s, due)
    with store.read() as s:
        assert authenticate_use(s, token)[1] is None  # fresh: not written again
        used = s.scalar(select(m.Token.last_used_at).where(m.Token.id == due))
        assert used is not None
    with store.write() as s:  # a use older than the resolution is recorded again
        s.execute(update(m.Token).where(m.Token.id == due).values(last_used_at=used - TOKEN_USE_RESOLUTION))
    with store.read() as s:
        assert authenticate_use(s, token)[1] == due


def test_tokens_are_stored_hashed(store: Store) -> None:
    with store.write() as s:
        token = create_token(s, create_user(s, "dave"), "laptop")
    dump = []
    with store.engine.connect() as conn:
        for table in m.Base.metadata.sorted_tables:
            for row in conn.execute(text(f"SELECT * FROM {table.name}")):
                dump.extend(str(v) for v in row)
    everything = "\n".join(dump)
    assert hashlib.sha256(token.encode()).hexdigest() in everything
    assert token not in everything
    assert token[len("wb_") :] not in everything


# -- repos and commits ------------------------------------------------------------------------


def test_create_repo_has_initial_commit(store: Store, repo: RepoKey) -> None:
    assert files_at(store, repo) == {".gitattributes": GITATTRIBUTES}
    with store.read() as s:
        r = store.get_repo(s, *repo.as_tuple())
        refs = list_refs(s, r)
        assert [(x.kind, x.name) for x in refs] == [("branch", "main")]
        commits = history(s, r, refs[0].commit_oid)
        assert [c.title for c in commits] == ["initial commit"]
        assert len(commits[0].oid) == 40 and commits[0].parent_oid is None
        entry = commit_tree(store, s, commits[0].oid).get(".gitattributes")
        assert entry is not None and entry.git_oid == git_blob_oid(GITATTRIBUTES)


def test_create_repo_conflicts_and_namespaces(store: Store, alice: Principal, repo: RepoKey) -> None:
    with store.write() as s, pytest.raises(Conflict):
        create_repo(store, s, alice, "model", "alice", "TINY")  # names clash case-insensitively
    with store.write() as s:
        create_user(s, "bob")
    with store.write() as s, pytest.raises(PermissionDenied):
        create_repo(store, s, alice, "model", "bob", "mine")
    with store.write() as s, pytest.raises(InvalidRequest):
        create_repo(store, s, alice, "model", "alice", "bad..name")
    with store.write() as s:  # same name, other type: fine
        create_repo(store, s, alice, "dataset", "alice", "tiny")


def test_commits_add_delete_and_history(store: Store, alice: Principal, repo: RepoKey) -> None:
    key = repo.as_tuple()
    r1 = create_commit(
        store,
        alice,
        key,
        "main",
        [
            add(store, "README.md", b"---\nlicense: mit\n---\n# Tiny\n"),
            add(store, "data/a.txt", b"a"),
            add(store, "data/sub/b.txt", b"b"),
            add(store, "weights.bin", b"\x00" * 100),
        ],
        summary="Add files",
    )
    assert r1.changed == 4
    r2 = create_commit(
        store, alice, key, "main", [DeleteFile("weights.bin")], summary="Drop weights", parent_commit=r1.oid
    )
    r3 = create_commit(store, alice, key, "main", [DeleteFolder("data/sub")], summary="")
    assert r3.parent == r2.oid and r2.parent == r1.oid
    assert files_at(store, repo) == {
        ".gitattributes": GITATTRIBUTES,
        "README.md": b"---\nlicense: mit\n---\n# Tiny\n",
        "data/a.txt": b"a",
    }
    assert set(files_at(store, repo, r1.oid)) == {
        ".gitattributes",
        "README.md",
        "data/a.txt",
        "data/sub/b.txt",
        "weights.bin",
    }
    with store.read() as s:
        r = store.get_repo(s, *key)
        assert r.card_data == {"license": "mit"}
        commits = history(s, r, head(store, repo))
        assert [c.oid for c in commits[:3]] == [r3.oid, r2.oid, r1.oid]
        assert [c.title for c in commits] == ["Update files", "Drop weights", "Add files", "initial commit"]
        assert [c.depth for c in commits] == [3, 2, 1, 0]
        changes = diff_trees(commit_tree(store, s, commits[-1].oid), commit_tree(store, s, r3.oid))
        assert [(c.path, c.status) for c in changes] == [("README.md", "added"), ("data/a.txt", "added")]
    r4 = create_commit(store, alice, key, "main", [add(store, "data/a.txt", b"A")], summary="Change a")
    with store.read() as s:
        changes = diff_trees(commit_tree(store, s, r3.oid), commit_tree(store, s, r4.oid))
    assert [(c.path, c.status, c.old.size, c.new.size) for c in changes] == [  # type: ignore[union-attr]
        ("data/a.txt", "modified", 1, 1)
    ]
    report = fsck(store, progress=True)
    assert report.ok, report.problems
    assert (report.counts["commits"], report.counts["refs"]) == (5, 1)


def test_missing_delete_and_stale_parent_change_nothing(
    store: Store, alice: Principal, repo: RepoKey
) -> None:
    key = repo.as_tuple()
    base = head(store, repo)
    r1 = create_commit(store, alice, key, "main", [add(store, "a.txt", b"1")], summary="one")
    n = count_commits(store)
    for ops in (
        [DeleteFile("nope.txt")],
        [DeleteFolder("nope")],
        [add(store, "b.txt", b"2"), DeleteFile("nope.txt")],
    ):
        with pytest.raises(EntryNotFound):
            create_commit(store, alice, key, "main", ops, summary="bad")
    with pytest.raises(Conflict) as info:
        create_commit(
            store, alice, key, "main", [add(store, "c.txt", b"3")], summary="stale", parent_commit=base
        )
    assert info.value.code == "StaleParentCommit"
    with pytest.raises(InvalidRequest):  # a file where a folder is needed
        create_commit(store, alice, key, "main", [add(store, "a.txt/x", b"4")], summary="clash")
    assert head(store, repo) == r1.oid
    assert count_commits(store) == n
    assert set(files_at(store, repo)) == {".gitattributes", "a.txt"}
    # a short parent id of the current head is accepted
    create_commit(
        store, alice, key, "main", [add(store, "c.txt", b"3")], summary="fresh", parent_commit=r1.oid[:12]
    )


def test_branches_and_tags(store: Store, alice: Principal, repo: RepoKey) -> None:
    key = repo.as_tuple()
    first = head(store, repo)
    with store.write() as s:
        r = store.get_repo(s, *key)
        create_ref(s, r, "branch", "feat/x", first)
        create_ref(s, r, "tag", "v1", first, message="first")
    with store.write() as s:
        r = store.get_repo(s, *key)
        for kind, name in (("branch", "feat/x"), ("tag", "v1")):
            with pytest.raises(Conflict):
                create_ref(s, r, kind, name, first)
        for bad in ("a b", "a..b", "-x", "x.lock", "refs/heads/x", "a~1", "", "0" * 40, "x/"):
            with pytest.raises(InvalidRequest):
                create_ref(s, r, "branch", bad, first)
    c = create_commit(store, alice, key, "feat/x", [add(store, "f.txt", b"f")], summary="feat")
    assert head(store, repo, "feat/x") == c.oid
    assert head(store, repo, "main") == first
    assert head(store, repo, "v1") == first
    with pytest.raises(InvalidRequest):
        create_commit(store, alice, key, "v1", [add(store, "g.txt", b"g")], summary="on a tag")
    with store.write() as s:  # a branch and a tag may share a name (git and the public hub)
        create_ref(s, store.get_repo(s, *key), "branch", "v1", c.oid)
    assert head(store, repo, "v1") == c.oid  # the branch first
    assert head(store, repo, "refs/tags/v1") == first
    with store.write() as s:
        r = store.get_repo(s, *key)
        delete_ref(s, r, "branch", "feat/x")
        with pytest.raises(InvalidRequest):
            delete_ref(s, r, "branch", "main")
    with store.read() as s:
        r = store.get_repo(s, *key)
        assert get_ref(s, r, "branch", "feat/x") is None
        # the commit stays reachable by id after its branch is gone
        assert resolve_revision(s, r, c.oid).kind == "commit"
        assert resolve_revision(s, r, c.oid[:10]).oid == c.oid


def test_private_repo_permissions(store: Store, alice: Principal) -> None:
    with store.write() as s:
        owner = create_user(s, "owner")
        org = create_org(s, "lab", owner=owner)
        reader, writer, outsider = (create_user(s, n) for n in ("reader", "writer", "outsider"))
        set_membership(s, org, reader, "read")
        set_membership(s, org, writer, "write")
        admin = create_user(s, "root", admin=True)
        ps = {u.name: principal_for(s, u, "write") for u in (owner, reader, writer, outsider, admin)}
        ps["writer-ro"] = principal_for(s, writer, "read")
        create_repo(store, s, ps["owner"], "dataset", "lab", "secret", private=True)
    key = ("dataset", "lab", "secret")
    with store.read() as s:
        repo = store.get_repo(s, *key)
        for name in ("owner", "reader", "writer", "root"):
            require_read(ps[name], repo)
        for p in (ps["outsider"], alice, Principal()):
            with pytest.raises(RepoNotFound):
                require_read(p, repo)
            with pytest.raises(RepoNotFound):
                require_write(s, p, repo)
        with pytest.raises(PermissionDenied):
            require_write(s, ps["reader"], repo)
        with pytest.raises(PermissionDenied):
            require_write(s, ps["writer-ro"], repo)
        require_write(s, ps["writer"], repo)
    with pytest.raises(PermissionDenied):
        create_commit(store, ps["reader"], key, "main", [add(store, "x", b"x")], summary="no")
    with pytest.raises(RepoNotFound):
        create_commit(store, ps["outsider"], key, "main", [add(store, "x", b"x")], summary="no")
    create_commit(store, ps["writer"], key, "main", [add(store, "x", b"x")], summary="yes")
    with store.write() as s, pytest.raises(PermissionDenied):
        create_repo(store, s, ps["reader"], "model", "lab", "nope")


def test_move_and_delete_repo(store: Store, alice: Principal, repo: RepoKey) -> None:
    create_commit(store, alice, repo.as_tuple(), "main", [add(store, "a.txt", b"a")], summary="a")
    with store.write() as s:
        create_org(s, "team", owner=s.get(m.Account, alice.user_id))
        create_user(s, "bob")
    with store.write() as s:
        alice = principal_for(s, s.get(m.Account, alice.user_id), "write")  # now in "team"
        with pytest.raises(PermissionDenied):
            move_repo(store, s, alice, repo, "bob", "tiny")
    with store.write() as s:
        move_repo(store, s, alice, repo, "team", "tiny-2")
    moved = RepoKey("model", "team", "tiny-2")
    with store.read() as s:  # the old id follows the repo, as on the public hub
        assert store.get_repo(s, *repo.as_tuple()).name == "tiny-2"
    assert set(files_at(store, moved)) == {".gitattributes", "a.txt"}
    with store.write() as s:
        create_repo(store, s, alice, "model", "alice", "tiny")  # the old name is free again
    with store.read() as s:  # and is the new repo's
        assert store.get_repo(s, *repo.as_tuple()).name == "tiny"
    with store.write() as s:
        gone = store.get_repo(s, *moved.as_tuple()).id
        delete_repo(store, s, alice, moved)
    with store.read() as s:
        with pytest.raises(RepoNotFound):
            store.get_repo(s, *moved.as_tuple())
        # commits and refs went with the repo; the shared blob stayed
        assert s.scalars(select(m.Ref).where(m.Ref.repo_id == gone)).all() == []
        assert s.scalars(select(m.Commit).where(m.Commit.repo_id == gone)).all() == []
    assert store.blobs.exists(hashlib.sha256(b"a").hexdigest())
    report = fsck(store)
    assert report.ok, report.problems
    assert hashlib.sha256(b"a").hexdigest() in {n.subject for n in report.notes}


def test_migrations_are_idempotent(
    settings: HubSettings, store: Store, alice: Principal, repo: RepoKey
) -> None:
    again = Store.open(settings)
    try:
        with again.read() as s:
            assert s.scalar(select(m.Account.name).where(m.Account.id == alice.user_id)) == "alice"
            version = s.scalar(text("SELECT version_num FROM alembic_version"))
        assert version
    finally:
        again.close()
    third = Store.open(settings)
    third.close()
    assert head(store, repo)


# -- a hub process on PostgreSQL ----------------------------------------------------------------


@pytest.mark.postgres
def test_hub_on_postgres_round_trip(hub_factory, postgres_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi, hf_hub_download

    h = hub_factory(database_url=postgres_url)
    api = HfApi(endpoint=h.url, token=h.token)
    rid = "admin/pg-round-trip"
    api.create_repo(rid, private=True)
    payload = bytes(range(256)) * 4096 + b"tail"
    info = api.upload_file(
        path_or_fileobj=payload, path_in_repo="data/blob.bin", repo_id=rid, commit_message="Add blob"
    )
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="hello.txt", repo_id=rid)
    path = hf_hub_download(rid, "data/blob.bin", endpoint=h.url, token=h.token, cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == payload
    path = hf_hub_download(
        rid, "data/blob.bin", revision=info.oid, endpoint=h.url, token=h.token, cache_dir=tmp_path / "cache2"
    )
    assert Path(path).read_bytes() == payload
    assert {f for f in api.list_repo_files(rid)} == {".gitattributes", "data/blob.bin", "hello.txt"}
    assert [c.title for c in api.list_repo_commits(rid)][:2] == [
        "Upload hello.txt with huggingface_hub",
        "Add blob",
    ]
    assert h.cli("hub", "fsck").returncode == 0


# -- the administration CLI (works on the store, no hub needed) ------------------------------


def test_admin_cli(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    import httpx

    from tests.support.hub import HubProcess

    root = tmp_path / "fresh"

    def wb(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**HubProcess(root).env(), "WORKBENCH_DATA": str(root / "data")}
        r = subprocess.run(
            [sys.executable, "-m", "workbench", "hub", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in r.stderr, r.stderr
        assert (r.returncode == 0) == ok, r.stdout + r.stderr
        return r

    assert wb("user", "list", ok=False).stderr.startswith("error: no hub in")
    out = wb("init").stdout
    config = root / "config" / "workbench" / "config.json"
    assert str(config) in out and config.exists()
    assert "already initialised" in wb("init").stdout
    wb("user", "create", "bob")
    assert (
        wb("user", "create", "bob", ok=False).stderr == "error: User or organization 'bob' already exists.\n"
    )
    wb("org", "create", "acme", "--owner", "admin")
    wb("org", "add-member", "acme", "bob", "--role", "write")
    assert wb("org", "add-member", "acme", "bob", "--role", "boss", ok=False).stderr.startswith(
        "error: Invalid role"
    )
    assert wb("org", "add-member", "bob", "admin", ok=False).stderr == "error: No organization named 'bob'.\n"
    users = json.loads(wb("user", "list", "--json").stdout)
    assert [(u["name"], u["admin"], u["orgs"]) for u in users] == [
        ("admin", True, ["acme:admin"]),
        ("bob", False, ["acme:write"]),
    ]
    token = wb("token", "create", "laptop", "--user", "bob", "--scope", "read").stdout.strip()
    assert token.startswith("wb_")
    admin_token = wb("token", "create", "ci").stdout.strip()
    tokens = json.loads(wb("token", "list", "--json").stdout)
    assert [(t["user"], t["name"], t["scope"], t["revoked"]) for t in tokens] == [
        ("admin", "local-admin", "write", False),
        ("bob", "laptop", "read", False),
        ("admin", "ci", "write", False),
    ]
    listing = wb("token", "list").stdout
    assert token not in listing and admin_token not in listing and token[:7] in listing
    assert [t["name"] for t in json.loads(wb("token", "list", "--user", "bob", "--json").stdout)] == [
        "laptop"
    ]

    h = HubProcess(root).start()
    try:
        who = httpx.get(f"{h.url}/api/whoami-v2", headers={"Authorization": f"Bearer {token}"})
        assert who.status_code == 200 and who.json()["name"] == "bob"
        bob_id = tokens[1]["id"]
        assert f"revoked token {bob_id}" in wb("token", "revoke", str(bob_id)).stdout
        who = httpx.get(f"{h.url}/api/whoami-v2", headers={"Authorization": f"Bearer {token}"})
        assert who.status_code == 401
        assert wb("token", "revoke", "999", ok=False).stderr == "error: Token 999 not found.\n"
    finally:
        h.stop()
    assert json.loads(wb("token", "list", "--json").stdout)[1]["revoked"] is True
    assert wb("fsck").stdout.strip().endswith("consistent")
