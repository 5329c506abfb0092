"""Tokens listed, created and revoked by their owner; scopes; the audit log and who reads it."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.team import Team, make_team


@pytest.fixture(scope="module")
def team(hub) -> Team:  # type: ignore[no-untyped-def]
    return make_team(hub, prefix="audit")


def test_tokens_listed_created_and_revoked_by_their_owner(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    with team.client(hub, "writer") as c:
        r = c.post("/api/tokens", json={"name": "ci", "scope": "read"})
        assert r.status_code == 200, r.text
        created = r.json()
        secret = created["token"]
        assert secret.startswith("wb_") and created["scope"] == "read"
        listing = c.get("/api/tokens")
        assert listing.status_code == 200
        assert secret not in listing.text  # the secret is never shown again
        entry = next(t for t in listing.json() if t["id"] == created["id"])
        assert entry == {k: v for k, v in created.items() if k != "token"}
        assert entry["prefix"] == secret[:7] and "token" not in entry
        assert {t["name"] for t in listing.json()} >= {"rw", "ro", "ci"}
        # bad input
        r = c.post("/api/tokens", json={"name": "x", "scope": "admin"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidScope"
        r = c.post("/api/tokens", json={"name": " ", "scope": "read"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidTokenName"
        r = c.post("/api/tokens", json={"name": "x" * 101})
        assert r.status_code == 400
    new = HfApi(endpoint=hub.url, token=secret)
    assert new.whoami()["name"] == team.users["writer"]
    assert new.whoami()["auth"]["accessToken"]["role"] == "read"
    # its use is recorded, once per TOKEN_USE_RESOLUTION (not a write on every request)
    with team.client(hub, "writer") as c:

        def last_used() -> str | None:
            return next(t for t in c.get("/api/tokens").json() if t["id"] == created["id"])["lastUsedAt"]

        used = last_used()
        assert used is not None, "a token's use is recorded"
        age = datetime.now(UTC).replace(tzinfo=None) - datetime.fromisoformat(used[:-1])
        assert timedelta(0) <= age < timedelta(minutes=2)
        new.whoami()
        assert last_used() == used
    # a read token cannot write, nor mint itself a write token
    with pytest.raises(HfHubHTTPError) as info:
        new.create_repo(f"{team.users['writer']}/nope")
    assert info.value.response.headers["X-Error-Code"] == "ReadOnlyToken"
    with team.client(hub, "writer", read_scope=True) as c:
        r = c.post("/api/tokens", json={"name": "escalate", "scope": "write"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "ReadOnlyToken"
        assert c.get("/api/tokens").status_code == 200  # but it may list them
    # someone else's token looks missing
    with team.client(hub, "outsider") as c:
        r = c.delete(f"/api/tokens/{created['id']}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "TokenNotFound"
        assert created["id"] not in [t["id"] for t in c.get("/api/tokens").json()]
    with team.client(hub, "writer") as c:
        assert c.delete(f"/api/tokens/{created['id']}").status_code == 200
        assert next(t for t in c.get("/api/tokens").json() if t["id"] == created["id"])["revoked"]
        assert c.delete("/api/tokens/999999").status_code == 404
        assert c.delete("/api/tokens/abc").status_code == 400
        assert c.delete(f"/api/tokens/{2**64}").status_code == 400  # not a 500 from the database
    with pytest.raises(HfHubHTTPError) as info:
        new.whoami()
    assert info.value.response.status_code == 401
    with team.client(hub, "anonymous") as c:
        assert c.post("/api/tokens", json={"name": "x"}).status_code == 401
        listing = c.get("/api/tokens")  # one code, one status: TokenRequired is always 401
        assert listing.status_code == 401 and listing.json()["error"]["code"] == "TokenRequired"


def _events(hub, team: Team, who: str, **params: object) -> list[dict]:  # type: ignore[no-untyped-def]
    with team.client(hub, who) as c:
        r = c.get("/api/audit", params=params)
        assert r.status_code == 200, r.text
        return r.json()["events"]  # type: ignore[no-any-return]


def test_audit_log_records_who_did_what(hub, api, team: Team) -> None:  # type: ignore[no-untyped-def]
    org = team.org
    admin = HfApi(endpoint=hub.url, token=team.tokens["admin"])
    rid = f"{org}/audited-{secrets.token_hex(3)}"
    admin.create_repo(rid, private=True)
    admin.update_repo_settings(rid, private=False)
    admin.move_repo(rid, f"{org}/renamed-{rid.split('-')[-1]}")
    moved = f"{org}/renamed-{rid.split('-')[-1]}"
    admin.delete_repo(moved)
    with team.client(hub, "admin") as c:
        assert (
            c.put(
                f"/api/organizations/{org}/members/{team.users['outsider']}", json={"role": "read"}
            ).status_code
            == 200
        )
        assert (
            c.put(
                f"/api/organizations/{org}/members/{team.users['outsider']}", json={"role": "write"}
            ).status_code
            == 200
        )
        assert c.delete(f"/api/organizations/{org}/members/{team.users['outsider']}").status_code == 200

    events = _events(hub, team, "admin", namespace=org)
    got = [(e["action"], e["actor"], e["repo"]) for e in reversed(events)]
    a = team.users["admin"]
    assert got[-7:] == [
        ("repo.create", a, rid),
        ("repo.visibility", a, rid),
        ("repo.move", a, moved),
        ("repo.delete", a, moved),
        ("member.add", a, None),
        ("member.role", a, None),
        ("member.remove", a, None),
    ]
    assert events[0]["details"] == {"user": team.users["outsider"], "role": "write"}
    assert events[1]["details"] == {"user": team.users["outsider"], "from": "read", "to": "write"}
    move = next(e for e in events if e["action"] == "repo.move")
    assert move["details"] == {"from": rid}
    vis = next(e for e in events if e["action"] == "repo.visibility")
    assert vis["details"] == {"private": False}
    assert all(e["createdAt"].endswith("Z") for e in events)

    # filters and paging
    assert {e["action"] for e in _events(hub, team, "admin", namespace=org, action="repo")} == {
        "repo.create",
        "repo.visibility",
        "repo.move",
        "repo.delete",
    }
    assert [e["action"] for e in _events(hub, team, "admin", repo=rid)] == ["repo.visibility", "repo.create"]
    with team.client(hub, "admin") as c:
        page = c.get("/api/audit", params={"namespace": org, "limit": 2}).json()
        assert len(page["events"]) == 2 and page["next"] == page["events"][-1]["id"]
        rest = c.get("/api/audit", params={"namespace": org, "before": page["next"]}).json()
        assert [e["id"] for e in page["events"] + rest["events"]] == [e["id"] for e in events]
        assert c.get("/api/audit", params={"limit": 0}).status_code == 400
        assert c.get("/api/audit", params={"before": 2**64}).status_code == 400

    # hub admins see every namespace; the token of the hub admin user too
    with_api = HfApi(endpoint=hub.url, token=hub.token)
    with_api.create_repo(f"admin/audited-{secrets.token_hex(3)}")
    with team.client(hub, "anonymous") as c:
        r = c.get("/api/audit", headers={"Authorization": f"Bearer {hub.token}"})
        namespaces = {e["namespace"] for e in r.json()["events"]}
        assert "admin" in namespaces
    # an org admin sees only their org's events, and is refused another namespace
    assert {e["namespace"] for e in _events(hub, team, "admin")} == {org}
    with team.client(hub, "admin") as c:
        r = c.get("/api/audit", params={"namespace": "admin"})
        assert r.status_code == 403 and org in r.json()["error"]["message"]
    # members who are not admins, outsiders and anonymous callers read nothing
    for who in ("writer", "reader", "outsider", "anonymous"):
        with team.client(hub, who) as c:
            r = c.get("/api/audit", params={"namespace": org})
            assert r.status_code in (401, 403), (who, r.text)
            assert r.json()["error"]["code"] == "AdminRequired"


def test_token_events_are_audited(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    with team.client(hub, "reader") as c:
        created = c.post("/api/tokens", json={"name": "audited", "scope": "write"}).json()
        assert c.delete(f"/api/tokens/{created['id']}").status_code == 200
    out = json.loads(hub.cli("hub", "audit", "--namespace", team.users["reader"], "--json").stdout)
    assert [(e["action"], e["actor"]) for e in out] == [
        ("token.revoke", team.users["reader"]),
        ("token.create", team.users["reader"]),
    ]
    assert out[1]["details"] == {"token_id": created["id"], "name": "audited", "scope": "write"}
    assert created["token"] not in json.dumps(out)
    table = hub.cli("hub", "audit", "--action", "token", "--limit", "5").stdout
    assert "token.revoke" in table and "ACTOR" in table
    bad = hub.cli("hub", "audit", "--limit", "0", check=False)
    assert bad.returncode == 1 and "limit" in bad.stderr
