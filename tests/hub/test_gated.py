"""Gated repos with the stock ``HfApi``: files answer ``GatedRepoError`` until an owner accepts.

The repo itself stays readable (info, file list); members of the owning org are never gated
out; a private gated repo is still a 404 to strangers. Requests answer the card's
``extra_gated_fields``; decisions reach the requester's inbox and the audit log.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.utils import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

import workbench as wb
from tests.support.hub import HubProcess
from tests.support.team import Team, make_team
from workbench.client import HubClient
from workbench.config import HubSettings
from workbench.store.accounts import create_token, create_user
from workbench.store.store import Store

CARD = b"""---
license: other
extra_gated_prompt: Tell us who you are.
extra_gated_fields:
  Company: text
  Use:
    type: select
    options: [Research, {label: Teaching, value: education}]
  I agree to share my contact information: checkbox
---
# A gated model
"""
ANSWERS = {"Company": "ACME", "use": "Research", "i_agree_to_share_my_contact_information": True}


@pytest.fixture(scope="module")
def team(hub: HubProcess) -> Team:
    return make_team(hub, "gated")


def stranger(hub: HubProcess) -> tuple[str, str]:
    """A new user outside every org: (name, write-scope token)."""
    name = f"stranger-{secrets.token_hex(3)}"
    store = Store.open(HubSettings(data_dir=hub.data, write_user_config=False))
    try:
        with store.write() as s:
            token = create_token(s, create_user(s, name), "rw", scope="write")
    finally:
        store.close()
    return name, token


def gated_repo(hub: HubProcess, token: str, namespace: str, gated: str, *, private: bool = False) -> str:
    api = HfApi(endpoint=hub.url, token=token)
    rid = f"{namespace}/gated-{gated}-{secrets.token_hex(3)}"
    api.create_repo(rid, private=private)
    api.upload_file(path_or_fileobj=CARD, path_in_repo="README.md", repo_id=rid)
    api.upload_file(path_or_fileobj=b"weights", path_in_repo="w.bin", repo_id=rid)
    api.update_repo_settings(rid, gated=gated)  # type: ignore[arg-type]
    return rid


def fetch(hub: HubProcess, token: str | bool, rid: str, tmp: Path, **options: object) -> bytes:
    path = hf_hub_download(
        rid, "w.bin", endpoint=hub.url, token=token, cache_dir=tmp / secrets.token_hex(4), **options
    )  # type: ignore[arg-type]
    return Path(path).read_bytes()


def http(hub: HubProcess, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=hub.url, headers=headers, timeout=60)


def inbox(hub: HubProcess, token: str) -> list[dict[str, object]]:
    with HubClient(hub.url, token, progress=False) as c:
        return list(c.inbox()["notifications"])


def test_manual_gate_until_the_owner_accepts(hub: HubProcess, tmp_path: Path) -> None:
    owner_name, owner = stranger(hub)
    name, token = stranger(hub)
    rid = gated_repo(hub, owner, owner_name, "manual")
    api, mine = HfApi(endpoint=hub.url, token=token), HfApi(endpoint=hub.url, token=owner)

    assert api.model_info(rid).gated == "manual"  # the repo stays readable
    assert {"README.md", "w.bin"} <= set(api.list_repo_files(rid))
    with pytest.raises(GatedRepoError) as err:
        fetch(hub, token, rid, tmp_path)
    assert err.value.response.status_code == 403
    with pytest.raises(GatedRepoError) as err:
        fetch(hub, False, rid, tmp_path)  # anonymous: 401, still the gated error
    assert err.value.response.status_code == 401
    assert fetch(hub, owner, rid, tmp_path) == b"weights"  # its owner is never gated out
    with pytest.raises(GatedRepoError):
        api.auth_check(rid)
    mine.auth_check(rid)
    with http(hub, token) as c:
        r = c.get(f"/api/models/{rid}/xet-read-token/main")
        assert (r.status_code, r.headers["X-Error-Code"]) == (403, "GatedRepo")

        # the form's fields are required, checked and named by field or keyword
        missing = c.post(f"/{rid}/ask-access", json={"Company": "ACME"})
        assert (missing.status_code, missing.headers["X-Error-Code"]) == (400, "MissingField")
        assert "I agree to share my contact information" in missing.json()["error"]
        unknown = c.post(f"/{rid}/ask-access", json={**ANSWERS, "Age": "3"})
        assert (unknown.status_code, unknown.headers["X-Error-Code"]) == (400, "InvalidField")
        bad = c.post(f"/{rid}/ask-access", json={**ANSWERS, "use": "Profit"})
        assert (bad.status_code, bad.headers["X-Error-Code"]) == (400, "InvalidField")
        assert list(mine.list_pending_access_requests(rid)) == []
        form = c.post(
            f"/{rid}/ask-access",
            content="Company=ACME&Use=education&I+agree+to+share+my+contact+information=on",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 200 and form.json()["status"] == "pending"

    with pytest.raises(GatedRepoError):
        fetch(hub, token, rid, tmp_path)
    assert [(n["kind"], n["actor"]) for n in inbox(hub, owner)] == [("access-request", name)]
    (pending,) = mine.list_pending_access_requests(rid)
    assert (pending.username, pending.status) == (name, "pending")
    assert pending.fields == {
        "Company": "ACME",
        "Use": "education",
        "I agree to share my contact information": True,
    }

    mine.accept_access_request(rid, name)
    assert fetch(hub, token, rid, tmp_path) == b"weights"
    api.auth_check(rid)
    assert [r.username for r in mine.list_accepted_access_requests(rid)] == [name]
    assert list(mine.list_pending_access_requests(rid)) == []
    assert [(n["kind"], n["actor"]) for n in inbox(hub, token)] == [("access-accepted", owner_name)]
    with HubClient(hub.url, hub.token, progress=False) as root:
        actions = [e["action"] for e in root.audit(repo=rid)]
    assert actions[:3] == ["access.accept", "access.request", "repo.gated"]


def test_reject_with_reason_then_cancel(hub: HubProcess, tmp_path: Path) -> None:
    owner_name, owner = stranger(hub)
    name, token = stranger(hub)
    rid = gated_repo(hub, owner, owner_name, "manual")
    mine = HfApi(endpoint=hub.url, token=owner)
    with HubClient(hub.url, token, progress=False) as c:
        assert c.request_access(rid, **ANSWERS)["status"] == "pending"
        assert c.request_access(rid, **ANSWERS)["status"] == "pending"  # asking again: one request
    (request,) = mine.list_pending_access_requests(rid)

    mine.reject_access_request(rid, request_id=request.request_id, rejection_reason="Use a work e-mail.")
    with pytest.raises(GatedRepoError):
        fetch(hub, token, rid, tmp_path)
    (rejected,) = mine.list_rejected_access_requests(rid)
    assert rejected.username == name
    (note,) = inbox(hub, token)
    assert (note["kind"], note["detail"]) == ("access-rejected", "Use a work e-mail.")
    with http(hub, token) as c:  # a rejected request stays rejected until an owner says otherwise
        again = c.post(f"/{rid}/ask-access", json=ANSWERS)
        assert (again.status_code, again.headers["X-Error-Code"]) == (403, "AccessRejected")
        assert "Use a work e-mail." in again.json()["error"]

    mine.cancel_access_request(rid, name)  # back to pending
    assert [r.username for r in mine.list_pending_access_requests(rid)] == [name]
    mine.accept_access_request(rid, name)
    assert fetch(hub, token, rid, tmp_path) == b"weights"
    mine.cancel_access_request(rid, name)  # revoked
    with pytest.raises(GatedRepoError):
        fetch(hub, token, rid, tmp_path)
    with pytest.raises(HfHubHTTPError) as err:  # already pending
        mine.cancel_access_request(rid, name)
    assert err.value.response.headers["X-Error-Code"] == "StatusUnchanged"


def test_grant_access_and_auto_gating(hub: HubProcess, tmp_path: Path) -> None:
    owner_name, owner = stranger(hub)
    name, token = stranger(hub)
    mine = HfApi(endpoint=hub.url, token=owner)
    rid = gated_repo(hub, owner, owner_name, "manual")
    out = mine.grant_access(rid, name)
    assert out["status"] == "accepted"
    assert fetch(hub, token, rid, tmp_path) == b"weights"
    assert [(n["kind"], n["actor"]) for n in inbox(hub, token)] == [("access-accepted", owner_name)]
    with pytest.raises(HfHubHTTPError) as err:
        mine.grant_access(rid, name)
    assert (err.value.response.status_code, err.value.response.headers["X-Error-Code"]) == (
        400,
        "AlreadyHasAccess",
    )
    with pytest.raises(HfHubHTTPError) as err:
        mine.grant_access(rid, f"nobody-{secrets.token_hex(3)}")
    assert (err.value.response.status_code, err.value.response.headers["X-Error-Code"]) == (
        404,
        "UserNotFound",
    )

    auto = gated_repo(hub, owner, owner_name, "auto")
    other, other_token = stranger(hub)
    with pytest.raises(GatedRepoError):
        fetch(hub, other_token, auto, tmp_path)
    wb.connect(hub.url, other_token)
    try:
        assert wb.request_access(auto, **ANSWERS)["status"] == "accepted"  # auto: at once
    finally:
        wb.connect(hub.url, hub.token)
    assert fetch(hub, other_token, auto, tmp_path) == b"weights"
    assert list(mine.list_pending_access_requests(auto)) == []
    assert [r.username for r in mine.list_accepted_access_requests(auto)] == [other]


def test_org_members_are_never_gated_and_private_stays_hidden(
    hub: HubProcess, team: Team, tmp_path: Path
) -> None:
    writer = team.tokens["writer"]
    assert writer is not None
    rid = gated_repo(hub, writer, team.org, "manual")
    for who in ("reader", "writer", "admin"):
        token = team.tokens[who]
        assert token is not None
        assert fetch(hub, token, rid, tmp_path) == b"weights", who
    assert fetch(hub, hub.token, rid, tmp_path) == b"weights"  # hub admins
    outsider = team.tokens["outsider"]
    assert outsider is not None
    with pytest.raises(GatedRepoError):
        fetch(hub, outsider, rid, tmp_path)
    with HubClient(hub.url, team.tokens["reader"], progress=False) as c:  # nothing to ask for
        assert c.request_access(rid)["status"] == "accepted"

    private = gated_repo(hub, writer, team.org, "manual", private=True)
    with pytest.raises(RepositoryNotFoundError):
        fetch(hub, outsider, private, tmp_path)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=outsider).model_info(private)
    with http(hub, outsider) as c:
        r = c.post(f"/{private}/ask-access", json=ANSWERS)
        assert (r.status_code, r.headers["X-Error-Code"]) == (404, "RepoNotFound")
    assert fetch(hub, team.tokens["reader"] or "", private, tmp_path) == b"weights"


def test_only_writers_decide_and_refusals_change_nothing(hub: HubProcess, team: Team, tmp_path: Path) -> None:
    writer = team.tokens["writer"]
    assert writer is not None
    rid = gated_repo(hub, writer, team.org, "manual")
    name, token = stranger(hub)
    with HubClient(hub.url, token, progress=False) as c:
        c.request_access(rid, **ANSWERS)
    reader = HfApi(endpoint=hub.url, token=team.tokens["reader"])
    requester = HfApi(endpoint=hub.url, token=token)
    read_only = HfApi(endpoint=hub.url, token=team.read_tokens["admin"])
    for api in (reader, requester, read_only):
        for call in (
            lambda a: list(a.list_pending_access_requests(rid)),
            lambda a: a.accept_access_request(rid, name),
            lambda a: a.reject_access_request(rid, name, rejection_reason="no"),
            lambda a: a.grant_access(rid, name),
        ):
            with pytest.raises(HfHubHTTPError) as err:
                call(api)
            assert err.value.response.status_code == 403
    with pytest.raises(GatedRepoError):
        fetch(hub, token, rid, tmp_path)
    owner = HfApi(endpoint=hub.url, token=team.tokens["admin"])  # org admins decide too
    assert [r.username for r in owner.list_pending_access_requests(rid)] == [name]
    assert list(owner.list_rejected_access_requests(rid)) == []


def test_bad_input(hub: HubProcess, team: Team) -> None:
    writer = team.tokens["writer"]
    assert writer is not None
    rid = gated_repo(hub, writer, team.org, "manual")
    plain = f"{team.org}/open-{secrets.token_hex(3)}"
    api = HfApi(endpoint=hub.url, token=writer)
    api.create_repo(plain)
    with http(hub, writer) as c:
        for value in ("sometimes", True, 3):
            r = c.put(f"/api/models/{rid}/settings", json={"gated": value})
            assert (r.status_code, r.headers["X-Error-Code"]) == (400, "InvalidSetting"), value
        assert api.model_info(rid).gated == "manual"
        r = c.get(f"/api/models/{plain}/user-access-request/pending")
        assert (r.status_code, r.headers["X-Error-Code"]) == (400, "RepoNotGated")
        r = c.get(f"/api/models/{rid}/user-access-request/maybe")
        assert (r.status_code, r.headers["X-Error-Code"]) == (400, "InvalidStatus")
        name, _ = stranger(hub)
        r = c.post(f"/api/models/{rid}/user-access-request/handle", json={"user": name, "status": "accepted"})
        assert (r.status_code, r.headers["X-Error-Code"]) == (404, "AccessRequestNotFound")
        r = c.post(
            f"/api/models/{rid}/user-access-request/handle",
            json={"user": name, "status": "rejected", "rejectionReason": "x" * 201},
        )
        assert (r.status_code, r.headers["X-Error-Code"]) == (400, "InvalidField")
        r = c.post(f"/api/models/{rid}/user-access-request/grant", json={})
        assert (r.status_code, r.headers["X-Error-Code"]) == (400, "MissingField")
    with http(hub, team.tokens["outsider"]) as c:
        r = c.post(f"/{plain}/ask-access", json={})
        assert (r.status_code, r.headers["X-Error-Code"]) == (400, "RepoNotGated")
    api.update_repo_settings(rid, gated=False)
    assert api.model_info(rid).gated is False


def test_cli_request_access(hub: HubProcess, tmp_path: Path) -> None:
    owner_name, owner = stranger(hub)
    name, token = stranger(hub)
    rid = gated_repo(hub, owner, owner_name, "manual")
    fields = ["-f", "Company=ACME", "-f", "Use=Research", "-f", "I agree to share my contact information=yes"]
    out = hub.cli("repo", "request-access", rid, *fields, "--token", token)
    assert "requested" in out.stdout
    assert [r.username for r in HfApi(endpoint=hub.url, token=owner).list_pending_access_requests(rid)] == [
        name
    ]
    missing = hub.cli("repo", "request-access", rid, "--token", token, check=False)
    assert missing.returncode == 1 and "Company" in missing.stderr
    assert "NAME=VALUE" in hub.cli("repo", "request-access", "--help").stdout


def test_pending_requests_across_repos(hub: HubProcess, team: Team) -> None:
    # /api/access-requests: what waits on the caller, over every repo they may decide
    owner_name, owner = stranger(hub)
    name, token = stranger(hub)
    mine = gated_repo(hub, owner, owner_name, "manual")
    theirs = gated_repo(hub, team.tokens["writer"] or "", team.org, "manual")
    for rid in (mine, theirs):
        with http(hub, token) as c:
            assert c.post(f"/{rid}/ask-access", json=ANSWERS).json()["status"] == "pending"

    def pending(who: str | None) -> list[tuple[str, str, str]]:
        with http(hub, who) as c:
            r = c.get("/api/access-requests")
        assert r.status_code == 200, r.text
        # (the team's org has requests from the other tests too: this test's requester only)
        return [
            (x["repo"]["type"], x["repo"]["id"], x["user"]["user"])
            for x in r.json()
            if x["user"]["user"] == name
        ]

    assert pending(owner) == [("model", mine, name)]
    assert pending(team.tokens["writer"]) == [("model", theirs, name)]
    assert pending(team.tokens["admin"]) == [("model", theirs, name)]
    assert pending(team.tokens["reader"]) == []  # readers see the repo but do not decide
    assert pending(token) == [] and pending(None) == []
    assert pending(hub.token) == [("model", mine, name), ("model", theirs, name)]
    with http(hub, owner) as c:
        (entry,) = c.get("/api/access-requests").json()
        assert entry["status"] == "pending" and entry["fields"]["Company"] == "ACME"
    HfApi(endpoint=hub.url, token=owner).accept_access_request(mine, name)
    assert pending(owner) == []
