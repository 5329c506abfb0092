"""Users and everyone's tokens, administered by hub admins over ``/api/admin`` and by the
``workbench hub user|token`` commands (real processes); both audited."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.hub import HubProcess
from tests.support.team import Team, make_team
from workbench.client import HubClient


@pytest.fixture(scope="module")
def team(hub: HubProcess) -> Team:
    return make_team(hub, prefix="useradm")


def client(hub: HubProcess, token: str | None) -> httpx.Client:
    return httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def status(token: str, hub: HubProcess) -> tuple[int, str | None]:
    """What whoami answers for ``token``: (200, None) or the status and error code."""
    try:
        HfApi(endpoint=hub.url, token=token).whoami()
    except HfHubHTTPError as exc:
        return exc.response.status_code, exc.response.headers.get("X-Error-Code")
    return 200, None


def audit(hub: HubProcess, **params: Any) -> list[dict[str, Any]]:
    with client(hub, hub.token) as c:
        return c.get("/api/audit", params=params).json()["events"]  # type: ignore[no-any-return]


def test_admins_create_disable_enable_and_delete_users(hub: HubProcess, team: Team) -> None:
    name = f"managed-{secrets.token_hex(3)}"
    with client(hub, hub.token) as admin:
        r = admin.post("/api/admin/users", json={"name": name, "fullname": "Managed User"})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "name": name,
            "fullname": "Managed User",
            "email": None,
            "isAdmin": False,
            "disabled": False,
            "type": "user",
        }
        assert admin.post("/api/admin/users", json={"name": name}).json()["error"]["code"] == "AccountExists"
        boss = f"boss-{secrets.token_hex(3)}"
        r = admin.post("/api/admin/users", json={"name": boss, "isAdmin": True, "email": "b@example.org"})
        assert (r.json()["isAdmin"], r.json()["email"]) == (True, "b@example.org")
    token = hub.cli("hub", "token", "create", "t", "--user", name).stdout.strip()
    second = hub.cli("hub", "token", "create", "u", "--user", name, "--scope", "read").stdout.strip()
    assert status(token, hub) == (200, None)
    with client(hub, hub.token) as admin:
        r = admin.patch(f"/api/admin/users/{name}", json={"disabled": True})
        assert r.status_code == 200 and r.json()["disabled"] is True
        # every token of theirs at once, and the tokens themselves untouched
        assert status(token, hub) == status(second, hub) == (401, "AccountDisabled")
        listed = admin.get("/api/admin/tokens", params={"user": name}).json()
        assert [(t["name"], t["revoked"]) for t in listed] == [("t", False), ("u", False)]
        assert admin.patch(f"/api/admin/users/{name}", json={"disabled": False}).json()["disabled"] is False
        assert status(token, hub) == status(second, hub) == (200, None)
        # a user who owns a repo is not deleted
        HfApi(endpoint=hub.url, token=token).create_repo(f"{name}/mine")
        r = admin.delete(f"/api/admin/users/{name}")
        assert (r.status_code, r.json()["error"]["code"]) == (409, "AccountInUse")
        HfApi(endpoint=hub.url, token=hub.token).delete_repo(f"{name}/mine")
        assert admin.delete(f"/api/admin/users/{name}").status_code == 200
        assert status(token, hub) == (401, "InvalidToken")  # deleted with the user
        r = admin.get("/api/admin/tokens", params={"user": name})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "UserNotFound")
        r = admin.patch(f"/api/admin/users/{team.org}", json={"disabled": True})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "UserNotFound")  # an org is no user
        r = admin.patch(f"/api/admin/users/{name}", json={"disabled": "yes"})
        assert r.status_code == 400
    boss_token = hub.cli("hub", "token", "create", "t", "--user", boss).stdout.strip()
    assert HfApi(endpoint=hub.url, token=boss_token).whoami()["isAdmin"] is True
    actions = [(e["action"], e["actor"]) for e in audit(hub, namespace=name)]
    assert actions[:4] == [
        ("user.delete", "admin"),
        ("repo.delete", "admin"),
        ("repo.create", name),
        ("user.enable", "admin"),
    ]
    assert ("user.disable", "admin") in actions and ("user.create", "admin") in actions


def test_admins_list_and_revoke_anyones_tokens(hub: HubProcess, team: Team) -> None:
    writer = team.tokens["writer"]
    assert writer is not None
    with HubClient(hub.url, writer, progress=False) as hc:
        made = hc.create_token("to-revoke", scope="write", expires_in=3600, limits=[{"namespace": team.org}])
    assert made["limits"] == [{"namespace": team.org}] and made["expiresAt"]
    with client(hub, hub.token) as admin:
        every = admin.get("/api/admin/tokens").json()
        users = {t["user"] for t in every}
        assert {team.users["writer"], team.users["reader"], "admin"} <= users
        assert made["token"] not in json.dumps(every)
        entry = next(t for t in every if t["id"] == made["id"])
        assert (entry["user"], entry["limits"], entry["expiresAt"]) == (
            team.users["writer"],
            [{"namespace": team.org}],
            made["expiresAt"],
        )
        r = admin.delete(f"/api/admin/tokens/{made['id']}")
        assert r.status_code == 200 and r.json()["token"]["revoked"] is True
        assert admin.delete("/api/admin/tokens/999999").json()["error"]["code"] == "TokenNotFound"
    assert status(made["token"], hub) == (401, "TokenRevoked")
    event = audit(hub, action="token.revoke", namespace=team.users["writer"])[0]
    assert event["actor"] == "admin" and event["details"]["token_id"] == made["id"]


def test_only_hub_admins_administer(hub: HubProcess, team: Team) -> None:
    """Org admins, read tokens and limited tokens of hub admins are all refused, and change nothing."""
    limited = hub.cli("hub", "token", "create", "lim", "--namespace", "admin").stdout.strip()
    read = hub.cli("hub", "token", "create", "ro", "--scope", "read").stdout.strip()
    victim = f"victim-{secrets.token_hex(3)}"
    hub.cli("hub", "user", "create", victim)
    calls = [
        ("POST", "/api/admin/users", {"json": {"name": f"x-{secrets.token_hex(3)}"}}),
        ("PATCH", f"/api/admin/users/{victim}", {"json": {"disabled": True}}),
        ("DELETE", f"/api/admin/users/{victim}", {}),
        ("GET", "/api/admin/tokens", {}),
        ("DELETE", "/api/admin/tokens/1", {}),
    ]
    expect = {
        team.tokens["admin"]: "AdminRequired",  # an organization's admin
        read: "ReadOnlyToken",
        limited: "TokenScopeForbidden",
    }
    for token, code in expect.items():
        with client(hub, token) as c:
            for method, url, kwargs in calls:
                r = c.request(method, url, **kwargs)
                assert (r.status_code, r.headers.get("X-Error-Code")) == (403, code), (code, method, url)
    with httpx.Client(base_url=hub.url) as anonymous:
        assert anonymous.get("/api/admin/tokens").status_code == 401
    users = json.loads(hub.cli("hub", "user", "list", "--json").stdout)
    assert {"name": victim, "disabled": False}.items() <= next(
        u for u in users if u["name"] == victim
    ).items()


def test_cli_user_and_token_commands(hub: HubProcess, team: Team) -> None:
    for args in (
        ("user", "create"),
        ("user", "disable"),
        ("user", "enable"),
        ("user", "delete"),
        ("token", "create"),
        ("token", "list"),
        ("token", "revoke"),
    ):
        out = hub.cli("hub", *args, "--help")
        assert out.returncode == 0 and "Usage:" in out.stdout
    assert "--expires-in" in hub.cli("hub", "token", "create", "--help").stdout
    name = f"cliuser-{secrets.token_hex(3)}"
    hub.cli("hub", "user", "create", name)
    made = hub.cli(
        "hub",
        "token",
        "create",
        "ci",
        "--user",
        name,
        "--expires-in",
        "30d",
        "--repo",
        f"{team.org}/model-a",
        "--repo",
        f"dataset:{team.org}/data-b",
        "--namespace",
        name,
    )
    token = made.stdout.strip()
    assert f"limited to model:{team.org}/model-a, dataset:{team.org}/data-b, {name}/*" in made.stderr
    access = HfApi(endpoint=hub.url, token=token).whoami()["auth"]["accessToken"]
    assert access["role"] == "fineGrained" and access["expiresAt"]
    assert [s["entity"] for s in access["fineGrained"]["scoped"]] == [
        {"type": "model", "name": f"{team.org}/model-a"},
        {"type": "dataset", "name": f"{team.org}/data-b"},
        {"type": "user", "name": name},
    ]
    listed = json.loads(hub.cli("hub", "token", "list", "--user", name, "--json").stdout)
    assert len(listed) == 1
    row = listed[0]
    assert row["limits"] == [f"model:{team.org}/model-a", f"dataset:{team.org}/data-b", f"{name}/*"]
    assert row["expires"] and row["last_used"] and row["user"] == name and row["revoked"] is False
    every = json.loads(hub.cli("hub", "token", "list", "--all", "--json").stdout)
    assert row["id"] in {t["id"] for t in every} and {t["user"] for t in every} > {name}
    table = hub.cli("hub", "token", "list", "--user", name).stdout
    assert "EXPIRES" in table and "LIMITS" in table and f"{name}/*" in table

    hub.cli("hub", "user", "disable", name)
    assert status(token, hub) == (401, "AccountDisabled")
    users = json.loads(hub.cli("hub", "user", "list", "--json").stdout)
    assert next(u for u in users if u["name"] == name)["disabled"] is True
    hub.cli("hub", "user", "enable", name)
    assert status(token, hub) == (200, None)
    out = hub.cli("hub", "token", "revoke", str(row["id"]))
    assert f"'ci' of '{name}'" in out.stdout
    assert status(token, hub) == (401, "TokenRevoked")
    hub.cli("hub", "user", "delete", name)
    assert name not in {u["name"] for u in json.loads(hub.cli("hub", "user", "list", "--json").stdout)}

    # bad input: one line on stderr, exit 1 (2 for a malformed option), nothing made
    for args, code in (
        (("token", "create", "x", "--user", team.users["reader"], "--repo", "bucket:a/b"), 1),
        (("token", "create", "x", "--user", team.users["reader"], "--repo", "no-slash"), 1),
        (("token", "create", "x", "--user", team.users["reader"], "--expires-in", "soon"), 2),
        (("token", "create", "x", "--user", team.users["reader"], "--expires-in", "0"), 2),
        (("token", "list", "--all", "--user", name), 2),
        (("user", "disable", name), 1),
        (("token", "revoke", "999999"), 1),
    ):
        res = hub.cli("hub", *args, check=False)
        assert res.returncode == code and "Traceback" not in res.stderr, (args, res.stderr)
    reader_tokens = json.loads(
        hub.cli("hub", "token", "list", "--user", team.users["reader"], "--json").stdout
    )
    assert "x" not in {t["name"] for t in reader_tokens}

    actions = [e["action"] for e in audit(hub, namespace=name)]
    assert actions == [
        "user.delete",
        "token.revoke",
        "user.enable",
        "user.disable",
        "token.create",
        "user.create",
    ]
    assert {e["actor"] for e in audit(hub, namespace=name)} == {f"cli:{_os_user()}"}


def _os_user() -> str:
    import getpass

    return getpass.getuser()
