"""Who may read and write what: tokens, scopes, other users, private repos, anonymous callers.

A private repo must be invisible to those who may not read it: the 404 they get is the
same, byte for byte apart from the name, as for a repo that does not exist.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from workbench.config import HubSettings
from workbench.store.accounts import create_token, create_user, get_account
from workbench.store.store import Store

NDJSON = {"Content-Type": "application/x-ndjson"}


@dataclass
class Tokens:
    admin: str
    admin_read: str
    bob: str
    bob_name: str
    bob_read: str
    invalid: str


@pytest.fixture(scope="module")
def tokens(hub) -> Tokens:  # type: ignore[no-untyped-def]
    """A second user with a write and a read token, and a read token for the admin."""
    store = Store.open(HubSettings(data_dir=hub.data, write_user_config=False))
    bob_name = f"bob-{secrets.token_hex(3)}"
    try:
        with store.write() as s:
            bob = create_user(s, bob_name)
            admin = get_account(s, "admin")
            assert admin is not None
            out = Tokens(
                admin=hub.token,
                admin_read=create_token(s, admin, "ro", scope="read"),
                bob=create_token(s, bob, "rw", scope="write"),
                bob_name=bob_name,
                bob_read=create_token(s, bob, "ro", scope="read"),
                invalid="wb_" + secrets.token_urlsafe(32),
            )
    finally:
        store.close()
    return out


def client(hub, token: str | None) -> httpx.Client:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=hub.url, headers=headers, timeout=30)


def ndjson_commit(path: str = "w.txt") -> bytes:
    lines = [
        {"key": "header", "value": {"summary": "w"}},
        {
            "key": "file",
            "value": {"path": path, "encoding": "base64", "content": base64.b64encode(b"w").decode()},
        },
    ]
    return b"\n".join(json.dumps(line).encode() for line in lines)


OID = hashlib.sha256(b"auth test object").hexdigest()


def write_calls(repo: str, tag: str = "v-auth") -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, httpx kwargs) of every write endpoint, aimed at ``repo``."""
    ns, name = repo.split("/")
    return [
        ("POST", "/api/repos/create", {"json": {"name": f"{ns}/new-{name}"}}),
        ("POST", f"/api/models/{repo}/commit/main", {"content": ndjson_commit(), "headers": NDJSON}),
        (
            "POST",
            f"/api/models/{repo}/preupload/main",
            {"json": {"files": [{"path": "a.txt", "size": 1, "sample": "YQ=="}]}},
        ),
        ("POST", f"/api/models/{repo}/branch/auth-branch", {"json": {}}),
        ("DELETE", f"/api/models/{repo}/branch/some-branch", {}),
        ("POST", f"/api/models/{repo}/tag/main", {"json": {"tag": tag}}),
        ("DELETE", f"/api/models/{repo}/tag/some-tag", {}),
        ("PUT", f"/api/models/{repo}/settings", {"json": {"private": True}}),
        ("POST", "/api/repos/move", {"json": {"fromRepo": repo, "toRepo": f"{ns}/moved-{name}"}}),
        ("DELETE", "/api/repos/delete", {"json": {"name": repo, "type": "model"}}),
        (
            "POST",
            f"/{repo}.git/info/lfs/objects/batch",
            {"json": {"operation": "upload", "objects": [{"oid": OID, "size": 16}]}},
        ),
    ]


def read_calls(repo: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", f"/api/models/{repo}", {}),
        ("GET", f"/api/models/{repo}/revision/main", {}),
        ("GET", f"/api/models/{repo}/revision/no-such-rev", {}),
        ("GET", f"/api/models/{repo}/tree/main", {}),
        ("GET", f"/api/models/{repo}/tree/main/sub", {}),
        ("POST", f"/api/models/{repo}/paths-info/main", {"json": {"paths": ["secret.txt"]}}),
        ("GET", f"/{repo}/resolve/main/secret.txt", {}),
        ("HEAD", f"/{repo}/resolve/main/secret.txt", {}),
        ("GET", f"/{repo}/resolve/main/missing.txt", {}),
        ("GET", f"/api/models/{repo}/refs", {}),
        ("GET", f"/api/models/{repo}/commits/main", {}),
        ("GET", f"/api/models/{repo}/compare/main/main", {}),
    ]


@pytest.fixture
def public_repo(api, repo_id: str) -> str:  # type: ignore[no-untyped-def]
    api.upload_file(path_or_fileobj=b"public", path_in_repo="secret.txt", repo_id=repo_id)
    return repo_id


@pytest.fixture
def private_repo(api) -> str:  # type: ignore[no-untyped-def]
    rid = f"admin/private-{secrets.token_hex(4)}"
    api.create_repo(rid, private=True)
    api.upload_file(path_or_fileobj=b"top secret", path_in_repo="secret.txt", repo_id=rid)
    api.create_branch(rid, branch="some-branch")
    api.create_tag(rid, tag="some-tag")
    return rid


def snapshot(hub, repo: str) -> Any:  # type: ignore[no-untyped-def]
    with client(hub, hub.token) as c:
        return (
            c.get(f"/api/models/{repo}/revision/main").json()["sha"],
            c.get(f"/api/models/{repo}/refs").json(),
            c.get(f"/api/models/{repo}").json()["private"],
        )


# -- missing and invalid tokens ------------------------------------------------------------


def test_writes_need_a_token(hub, public_repo: str) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(hub, public_repo)
    with client(hub, None) as c:
        for method, url, kwargs in write_calls(public_repo):
            r = c.request(method, url, **kwargs)
            assert r.status_code == 401, (method, url, r.text)
            assert r.headers["X-Error-Code"] == "TokenRequired", (method, url)
            assert "token" in r.headers["X-Error-Message"].lower()
            assert r.json()["code"] == "TokenRequired"
        assert c.get("/api/whoami-v2").status_code == 401
    assert snapshot(hub, public_repo) == before


def test_invalid_token(hub, tokens: Tokens, public_repo: str) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(hub, public_repo)
    calls = (
        write_calls(public_repo)
        + read_calls(public_repo)
        + [("GET", "/api/models", {}), ("GET", "/api/whoami-v2", {})]
    )
    for token in (tokens.invalid, "not-even-a-workbench-token"):
        with client(hub, token) as c:
            for method, url, kwargs in calls:
                r = c.request(method, url, **kwargs)
                assert r.status_code == 401, (method, url, r.text)
                assert r.headers["X-Error-Code"] == "InvalidToken", (method, url)
    assert snapshot(hub, public_repo) == before


def test_invalid_token_with_hf_client(hub, tokens: Tokens, public_repo: str) -> None:  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=hub.url, token=tokens.invalid)
    with pytest.raises(HfHubHTTPError) as info:
        api.repo_info(public_repo)
    assert info.value.response.status_code == 401


# -- scopes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_read", "bob_read"])
def test_read_scope_token(hub, tokens: Tokens, public_repo: str, who: str) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(hub, public_repo)
    with client(hub, getattr(tokens, who)) as c:
        for method, url, kwargs in write_calls(public_repo):
            r = c.request(method, url, **kwargs)
            assert r.status_code == 403, (method, url, r.text)
            assert r.headers["X-Error-Code"] == "ReadOnlyToken", (method, url)
            assert "write" in r.headers["X-Error-Message"]
        for method, url, kwargs in read_calls(public_repo):
            if "no-such-rev" in url or "missing" in url or "/sub" in url:
                continue
            r = c.request(method, url, **kwargs)
            assert r.status_code == 200, (method, url, r.text)
        assert c.get("/api/whoami-v2").json()["auth"]["accessToken"]["role"] == "read"
    assert snapshot(hub, public_repo) == before


def test_read_scope_owner_reads_private(hub, tokens: Tokens, private_repo: str) -> None:  # type: ignore[no-untyped-def]
    with client(hub, tokens.admin_read) as c:
        assert c.get(f"/api/models/{private_repo}").status_code == 200
        assert c.get(f"/{private_repo}/resolve/main/secret.txt").content == b"top secret"
        assert private_repo in [r["id"] for r in c.get("/api/models", params={"author": "admin"}).json()]


# -- other users -------------------------------------------------------------------------------


def test_other_user_cannot_write(hub, tokens: Tokens, public_repo: str) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(hub, public_repo)
    with client(hub, tokens.bob) as c:
        for method, url, kwargs in write_calls(public_repo):
            r = c.request(method, url, **kwargs)
            assert r.status_code == 403, (method, url, r.text)
            assert r.headers["X-Error-Code"] in ("WriteForbidden", "NamespaceForbidden"), url
            assert r.json()["code"] == r.headers["X-Error-Code"]
        for method, url, kwargs in read_calls(public_repo):
            if "no-such-rev" in url or "missing" in url or "/sub" in url:
                continue
            assert c.request(method, url, **kwargs).status_code == 200, url
        # bob's own namespace works
        r = c.post("/api/repos/create", json={"name": "mine"})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == f"{tokens.bob_name}/mine"
    assert snapshot(hub, public_repo) == before


def _normalized(r: httpx.Response, name: str) -> tuple[Any, ...]:
    # every answer has its own date and request id
    headers = {k: v.replace(name, "NAME") for k, v in r.headers.items() if k not in ("date", "x-request-id")}
    return r.status_code, headers, r.content.replace(name.encode(), b"NAME")


@pytest.mark.parametrize("who", ["bob", "bob_read", "anonymous"])
def test_private_repo_is_invisible(hub, tokens: Tokens, private_repo: str, who: str) -> None:  # type: ignore[no-untyped-def]
    token = None if who == "anonymous" else getattr(tokens, who)
    before = snapshot(hub, private_repo)
    absent = "admin/" + "z" * (len(private_repo) - len("admin/"))
    calls = read_calls(private_repo) + write_calls(private_repo, tag="v-invisible")
    twins = read_calls(absent) + write_calls(absent, tag="v-invisible")
    with client(hub, token) as c:
        for (method, url, kwargs), (_, twin_url, twin_kwargs) in zip(calls, twins, strict=True):
            if url == "/api/repos/create":
                continue  # names no existing repo
            seen = c.request(method, url, **kwargs)
            assert seen.status_code in (401, 403, 404), (method, url, seen.text)
            if seen.status_code == 404:
                assert seen.headers["X-Error-Code"] == "RepoNotFound", (method, url)
            elif who == "bob":
                pytest.fail(f"{method} {url} told a user the private repo exists: {seen.text}")
            else:  # a missing or read-only token may be refused first, before any lookup
                assert seen.headers["X-Error-Code"] in ("TokenRequired", "ReadOnlyToken")
            missing = c.request(method, twin_url, **twin_kwargs)
            assert _normalized(seen, private_repo) == _normalized(missing, absent), (method, url)
        listed = [r["id"] for r in c.get("/api/models").json()]
        assert private_repo not in listed
        for params in ({"author": "admin"}, {"search": private_repo.split("/")[1]}, {"search": private_repo}):
            assert private_repo not in [r["id"] for r in c.get("/api/models", params=params).json()]
    assert snapshot(hub, private_repo) == before


def test_private_repo_with_hf_client(hub, tokens: Tokens, private_repo: str) -> None:  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    for token in (tokens.bob, False):
        api = HfApi(endpoint=hub.url, token=token)
        assert not api.repo_exists(private_repo)
        assert not api.file_exists(private_repo, "secret.txt")
        with pytest.raises(RepositoryNotFoundError):
            api.hf_hub_download(private_repo, "secret.txt")
        with pytest.raises(RepositoryNotFoundError):
            api.list_repo_refs(private_repo)
        assert private_repo not in [m.id for m in api.list_models(author="admin")]
    bob = HfApi(endpoint=hub.url, token=tokens.bob)
    with pytest.raises(RepositoryNotFoundError):
        bob.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=private_repo)
    with pytest.raises(RepositoryNotFoundError):
        bob.delete_repo(private_repo)
    bob.delete_repo(private_repo, missing_ok=True)  # "missing" for bob, yet untouched
    assert HfApi(endpoint=hub.url, token=hub.token).repo_exists(private_repo)


# -- anonymous ---------------------------------------------------------------------------------


def test_anonymous_reads_public(hub, public_repo: str) -> None:  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    with client(hub, None) as c:
        for method, url, kwargs in read_calls(public_repo):
            if "no-such-rev" in url or "missing" in url or "/sub" in url:
                continue
            assert c.request(method, url, **kwargs).status_code == 200, url
        assert public_repo in [r["id"] for r in c.get("/api/models", params={"author": "admin"}).json()]
    api = HfApi(endpoint=hub.url, token=False)
    path = api.hf_hub_download(public_repo, "secret.txt", cache_dir=str(hub.root / "anon-cache"))
    with open(path, "rb") as f:
        assert f.read() == b"public"


def test_anonymous_read_can_be_disabled(hub_factory) -> None:  # type: ignore[no-untyped-def]
    h = hub_factory(env={"WORKBENCH_ANONYMOUS_READ": "false"})
    with client(h, h.token) as c:
        assert c.post("/api/repos/create", json={"name": "open"}).status_code == 200
        assert c.get("/api/models/admin/open").status_code == 200
    with client(h, None) as c:
        for url in ("/api/models/admin/open", "/api/models", "/admin/open/resolve/main/.gitattributes"):
            r = c.get(url)
            assert r.status_code == 401, url
            assert r.headers["X-Error-Code"] == "TokenRequired"
        assert c.get("/api/health").status_code == 200


# -- token storage -----------------------------------------------------------------------------


def test_tokens_are_stored_hashed(hub, tokens: Tokens) -> None:  # type: ignore[no-untyped-def]
    with client(hub, tokens.bob) as c:
        assert c.get("/api/whoami-v2").json()["name"] == tokens.bob_name
    files = [p for p in hub.data.iterdir() if p.name.startswith("hub.sqlite")]
    assert files
    for token in (tokens.admin, tokens.admin_read, tokens.bob, tokens.bob_read):
        secret = token[len("wb_") + 4 :].encode()  # past the short prefix kept for display
        for path in [*files, hub.log_path]:
            assert secret not in path.read_bytes(), f"token found in {path.name}"
        assert hashlib.sha256(token.encode()).hexdigest().encode() in b"".join(p.read_bytes() for p in files)
