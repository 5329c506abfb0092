"""Tokens like the public hub's: expiry, fine-grained limits to repos and namespaces, what
whoami and auth_check say of them, and why a token that no longer works gets its 401.

Through the stock ``HfApi`` where it has the call, httpx for the Workbench API; the store is
opened directly only to move a token's expiry into the past (a test cannot wait for it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.support.hub import HubProcess
from tests.support.team import Team, make_team
from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store.store import Store, utcnow


@pytest.fixture(scope="module")
def team(hub: HubProcess) -> Team:
    return make_team(hub, prefix="scopes")


def _store(hub: HubProcess) -> Iterator[Store]:
    store = Store.open(
        HubSettings(
            data_dir=hub.data,
            write_user_config=False,
            **({"database_url": hub.database_url} if hub.database_url else {}),
        )
    )
    try:
        yield store
    finally:
        store.close()


def expire(hub: HubProcess, token_id: int) -> None:
    for store in _store(hub):
        with store.write() as s:
            row = s.get(m.Token, token_id)
            assert row is not None
            row.expires_at = utcnow() - timedelta(seconds=1)


def new_token(hub: HubProcess, owner_token: str, **body: Any) -> dict[str, Any]:
    """A token made by its owner through ``POST /api/tokens``."""
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {owner_token}"}) as c:
        r = c.post("/api/tokens", json={"name": "t", "scope": "write", **body})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def code_of(call: Callable[[], Any]) -> tuple[int, str | None]:
    with pytest.raises(HfHubHTTPError) as info:
        call()
    r = info.value.response
    return r.status_code, r.headers.get("X-Error-Code")


def one_repo(rid: str) -> dict[str, str]:
    """The limit entry of model ``rid``."""
    ns, name = rid.split("/")
    return {"type": "model", "namespace": ns, "name": name}


def writer_of(team: Team) -> str:
    token = team.tokens["writer"]
    assert token is not None
    return token


def head(api: HfApi, rid: str) -> str:
    return api.model_info(rid).sha or ""


# -- 401s that say why ------------------------------------------------------------------------


def test_expired_revoked_disabled_and_unknown_tokens_say_which(
    hub: HubProcess, team: Team, hub_factory: Any
) -> None:
    writer = writer_of(team)
    made = new_token(hub, writer, expiresIn=3600)
    assert made["expiresAt"] is not None and made["limits"] is None
    api = HfApi(endpoint=hub.url, token=made["token"])
    assert api.whoami()["auth"]["accessToken"]["expiresAt"] == made["expiresAt"]
    expire(hub, made["id"])
    assert code_of(api.whoami) == (401, "TokenExpired")
    assert code_of(lambda: api.model_info(f"{team.org}/none")) == (401, "TokenExpired")

    revoked = new_token(hub, writer)
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {writer}"}) as c:
        assert c.delete(f"/api/tokens/{revoked['id']}").status_code == 200
    assert code_of(HfApi(endpoint=hub.url, token=revoked["token"]).whoami) == (401, "TokenRevoked")

    # a token of another hub is unknown here
    other = hub_factory()
    assert HfApi(endpoint=other.url, token=other.token).whoami()["name"] == "admin"
    assert code_of(HfApi(endpoint=hub.url, token=other.token).whoami) == (401, "InvalidToken")
    assert code_of(HfApi(endpoint=hub.url, token="wb_" + secrets.token_urlsafe(32)).whoami) == (
        401,
        "InvalidToken",
    )


def test_bad_expiry_and_limits_are_refused(hub: HubProcess, team: Team) -> None:
    with team.client(hub, "writer") as c:
        before = len(c.get("/api/tokens").json())
        for body, code in [
            ({"expiresAt": "2001-01-01T00:00:00Z"}, "InvalidExpiry"),
            ({"expiresAt": "next week"}, "InvalidExpiry"),
            ({"expiresIn": -5}, "InvalidExpiry"),
            ({"expiresIn": 60, "expiresAt": "2999-01-01T00:00:00Z"}, "InvalidExpiry"),
            ({"limits": [{"type": "model", "namespace": team.org}]}, "InvalidTokenLimit"),
            ({"limits": [{"type": "bucket", "namespace": team.org, "name": "x"}]}, "InvalidTokenLimit"),
            ({"limits": [{"namespace": team.org, "extra": 1}]}, "InvalidTokenLimit"),
            ({"limits": ["acme"]}, "InvalidTokenLimit"),
            ({"limits": {"namespace": team.org}}, "InvalidField"),
        ]:
            r = c.post("/api/tokens", json={"name": "bad", **body})
            assert (r.status_code, r.json()["error"]["code"]) == (400, code), body
        assert len(c.get("/api/tokens").json()) == before  # nothing was made
        ok = c.post("/api/tokens", json={"name": "later", "expiresAt": "2999-01-01T12:00:00+02:00"})
        assert ok.status_code == 200 and ok.json()["expiresAt"] == "2999-01-01T10:00:00Z"


# -- limited tokens ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def repos(hub: HubProcess, team: Team) -> dict[str, str]:
    """Models of the org: ``inside`` (the limited token's), ``public``, ``private``."""
    api = HfApi(endpoint=hub.url, token=team.tokens["writer"])
    tag = secrets.token_hex(3)
    out = {k: f"{team.org}/{k}-{tag}" for k in ("inside", "public", "private")}
    for k, rid in out.items():
        api.create_repo(rid, private=k == "private")
        api.upload_file(path_or_fileobj=b"v0", path_in_repo="f.txt", repo_id=rid)
    return out


def test_a_limited_token_writes_inside_its_limits_only(
    hub: HubProcess, team: Team, repos: dict[str, str]
) -> None:
    writer = writer_of(team)
    ns, name = repos["inside"].split("/")
    made = new_token(hub, writer, limits=[one_repo(repos["inside"])])
    assert made["limits"] == [one_repo(repos["inside"])]
    lim = HfApi(endpoint=hub.url, token=made["token"])
    full = HfApi(endpoint=hub.url, token=writer)
    heads = {k: head(full, rid) for k, rid in repos.items()}

    # inside: the stock client uploads (preupload, commit) and opens discussions
    lim.upload_file(path_or_fileobj=b"v1", path_in_repo="f.txt", repo_id=repos["inside"])
    assert head(full, repos["inside"]) != heads["inside"]
    lim.create_discussion(repos["inside"], title="inside")
    lim.auth_check(repos["inside"], write=True)

    # outside, public: readable, not writable (403), nothing written
    assert lim.model_info(repos["public"]).sha == heads["public"]
    lim.auth_check(repos["public"])
    forbidden = (403, "TokenScopeForbidden")
    assert code_of(lambda: lim.auth_check(repos["public"], write=True)) == forbidden
    add = CommitOperationAdd(path_in_repo="g.txt", path_or_fileobj=b"nope")
    assert code_of(lambda: lim.create_commit(repos["public"], [add], commit_message="x")) == forbidden
    assert code_of(lambda: lim.create_branch(repos["public"], branch="b")) == forbidden
    assert code_of(lambda: lim.create_discussion(repos["public"], title="x")) == forbidden
    assert code_of(lambda: lim.update_repo_settings(repos["public"], private=True)) == forbidden
    assert code_of(lambda: lim.delete_repo(repos["public"])) == forbidden
    assert code_of(lambda: lim.move_repo(repos["public"], f"{ns}/moved-{name}")) == forbidden
    lfs = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": "0" * 64, "size": 1}]}
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {made['token']}"}) as c:
        r = c.post(f"/{repos['public']}.git/info/lfs/objects/batch", json=lfs)
        assert (r.status_code, r.headers.get("X-Error-Code")) == forbidden
        r = c.get(f"/api/models/{repos['public']}/xet-write-token/main")
        assert (r.status_code, r.headers.get("X-Error-Code")) == forbidden
        r = c.post(f"/api/models/{repos['public']}/like")
        assert (r.status_code, r.headers.get("X-Error-Code")) == forbidden
        # nor anything that is not about its repo: repos elsewhere, tokens, orgs, webhooks
        r = c.post("/api/repos/create", json={"name": f"{ns}/new-{name}"})
        assert (r.status_code, r.headers.get("X-Error-Code")) == forbidden
        r = c.post("/api/tokens", json={"name": "escape", "scope": "write"})
        assert (r.status_code, r.headers.get("X-Error-Code")) == forbidden
        r = c.post("/api/organizations", json={"name": f"o-{name}"})
        assert (r.status_code, r.headers.get("X-Error-Code")) == forbidden
        r = c.post("/api/settings/webhooks", json={"url": "https://example.org/h", "watched": []})
        assert r.status_code == 403

    # outside, private: the 404 of a missing repo, for reads and writes alike
    with pytest.raises(RepositoryNotFoundError):
        lim.model_info(repos["private"])
    with pytest.raises(RepositoryNotFoundError):
        lim.auth_check(repos["private"])
    with pytest.raises(RepositoryNotFoundError):
        lim.auth_check(repos["private"], write=True)
    with pytest.raises(RepositoryNotFoundError):
        lim.upload_file(path_or_fileobj=b"nope", path_in_repo="g.txt", repo_id=repos["private"])
    with pytest.raises(RepositoryNotFoundError):
        lim.delete_repo(repos["private"])
    listed = {r.id for r in lim.list_models(author=ns)}
    assert repos["public"] in listed and repos["private"] not in listed
    assert repos["private"] in {r.id for r in full.list_models(author=ns)}  # the check can fail
    word = repos["private"].split("/")[1]
    assert [r.id for r in lim.list_models(search=word)] == []  # full-text search too
    assert [r.id for r in full.list_models(search=word)] == [repos["private"]]
    hidden = full.create_collection("Hidden", namespace=ns, private=True)
    with pytest.raises(HfHubHTTPError) as info:
        lim.get_collection(hidden.slug)
    assert info.value.response.status_code == 404

    # nothing outside changed
    assert {k: head(full, rid) for k, rid in repos.items() if k != "inside"} == {
        k: v for k, v in heads.items() if k != "inside"
    }
    assert full.model_info(repos["public"]).private is False
    assert [d.title for d in full.get_repo_discussions(repos["public"])] == []


def test_a_namespace_limit_covers_every_repo_there(
    hub: HubProcess, team: Team, repos: dict[str, str]
) -> None:
    writer = writer_of(team)
    made = new_token(hub, writer, limits=[{"namespace": team.org}])
    lim = HfApi(endpoint=hub.url, token=made["token"])
    lim.upload_file(path_or_fileobj=b"ns", path_in_repo="ns.txt", repo_id=repos["private"])
    rid = lim.create_repo(f"{team.org}/made-{secrets.token_hex(3)}", private=True).repo_id
    assert lim.model_info(rid).private is True
    word = repos["private"].split("/")[1]
    assert [r.id for r in lim.list_models(search=word)] == [repos["private"]]
    shelf = lim.create_collection("Shelf", namespace=team.org, private=True)
    assert lim.get_collection(shelf.slug).title == "Shelf"
    # its user's own namespace lies outside it
    assert code_of(lambda: lim.create_repo(f"{team.users['writer']}/x")) == (403, "TokenScopeForbidden")


def test_a_read_limited_token_reads_its_private_repo_only(
    hub: HubProcess, team: Team, repos: dict[str, str]
) -> None:
    made = new_token(hub, writer_of(team), scope="read", limits=[one_repo(repos["private"])])
    lim = HfApi(endpoint=hub.url, token=made["token"])
    assert lim.model_info(repos["private"]).private is True
    assert lim.hf_hub_download(repos["private"], "f.txt", cache_dir=str(hub.root / "cache-ro"))
    assert code_of(lambda: lim.auth_check(repos["private"], write=True)) == (403, "ReadOnlyToken")
    assert lim.model_info(repos["public"]).sha  # public repos: as anyone
    assert repos["private"] in {r.id for r in lim.list_models(author=team.org)}


def test_whoami_reports_scopes_as_the_public_hub(hub: HubProcess, team: Team, repos: dict[str, str]) -> None:
    writer = writer_of(team)
    access = HfApi(endpoint=hub.url, token=writer).whoami()["auth"]["accessToken"]
    assert access["role"] == "write" and access["displayName"] == "rw" and "fineGrained" not in access
    reader = HfApi(endpoint=hub.url, token=team.read_tokens["writer"]).whoami()["auth"]["accessToken"]
    assert reader["role"] == "read"
    ns, name = repos["inside"].split("/")
    made = new_token(
        hub,
        writer,
        name="ci",
        expiresIn=86400,
        limits=[{"type": "model", "namespace": ns, "name": name}, {"namespace": team.users["writer"]}],
    )
    me = HfApi(endpoint=hub.url, token=made["token"]).whoami()
    assert me["name"] == team.users["writer"]
    access = me["auth"]["accessToken"]
    assert access["displayName"] == "ci" and access["role"] == "fineGrained"
    assert access["expiresAt"] == made["expiresAt"] and access["createdAt"].endswith("Z")
    write = ["repo.content.read", "repo.write", "discussion.write"]
    assert access["fineGrained"]["global"] == [] and access["fineGrained"]["canReadGatedRepos"] is True
    assert access["fineGrained"]["scoped"] == [
        {"entity": {"type": "model", "name": repos["inside"]}, "permissions": write},
        {"entity": {"type": "user", "name": team.users["writer"]}, "permissions": write},
    ]
    org_read = new_token(hub, writer, scope="read", limits=[{"namespace": team.org}])
    access = HfApi(endpoint=hub.url, token=org_read["token"]).whoami()["auth"]["accessToken"]
    assert access["fineGrained"]["scoped"] == [
        {"entity": {"type": "org", "name": team.org}, "permissions": ["repo.content.read"]}
    ]
    # the listing shows expiry, last use and limits, never the secret
    with team.client(hub, "writer") as c:
        listed = {t["id"]: t for t in c.get("/api/tokens").json()}
    assert made["token"] not in str(listed)
    entry = listed[made["id"]]
    assert entry["expiresAt"] == made["expiresAt"] and entry["lastUsedAt"] is not None
    assert entry["limits"] == [
        {"type": "model", "namespace": ns, "name": name},
        {"namespace": team.users["writer"]},
    ]


def test_limited_tokens_on_postgresql(hub_factory: Any, postgres_url: str) -> None:
    """The limits as SQL (listings) and as checks, on PostgreSQL."""
    pg = hub_factory(database_url=postgres_url)
    team = make_team(pg, prefix="pgscope")
    writer = writer_of(team)
    full = HfApi(endpoint=pg.url, token=writer)
    mine, other = f"{team.org}/mine", f"{team.org}/other"
    for rid in (mine, other):
        full.create_repo(rid, private=True)
    made = new_token(pg, writer, limits=[{"type": "model", "namespace": team.org, "name": "mine"}])
    lim = HfApi(endpoint=pg.url, token=made["token"])
    lim.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=mine)
    assert {r.id for r in lim.list_models(author=team.org)} == {mine}
    assert {r.id for r in full.list_models(author=team.org)} == {mine, other}
    before = full.model_info(other).sha
    with pytest.raises(RepositoryNotFoundError):
        lim.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=other)
    assert full.model_info(other).sha == before
    expire(pg, made["id"])
    assert code_of(lim.whoami) == (401, "TokenExpired")
