"""Organizations and roles through the real HfApi, the workbench API and the CLI.

Roles: 'read' reads the org's private repos, 'write' also pushes to them and creates repos
under the org, 'admin' also deletes, moves and changes visibility, and manages members.
"""

from __future__ import annotations

import json
import secrets

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.support.team import Team, make_team


@pytest.fixture(scope="module")
def team(hub) -> Team:  # type: ignore[no-untyped-def]
    return make_team(hub, prefix="orgs")


def hf(hub, team: Team, who: str) -> HfApi:  # type: ignore[no-untyped-def]
    return HfApi(endpoint=hub.url, token=team.tokens[who] or False)


def test_whoami_lists_orgs_with_roles(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    for who, role in (("reader", "read"), ("writer", "write"), ("admin", "admin")):
        me = hf(hub, team, who).whoami()
        assert me["name"] == team.users[who]
        org = {"type": "org", "name": team.org, "fullname": team.org, "avatarUrl": "", "roleInOrg": role}
        assert org in me["orgs"]
    assert hf(hub, team, "outsider").whoami()["orgs"] == []
    out = hub.cli("whoami", "--token", team.tokens["writer"])
    assert f"orgs: {team.org} (write)" in out.stdout


def test_repos_under_an_org_follow_its_roles(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    rid = f"{team.org}/private-{secrets.token_hex(3)}"
    # a reader may not create repos under the org; a writer may, private through the HfApi
    with pytest.raises(HfHubHTTPError) as info:
        hf(hub, team, "reader").create_repo(rid, private=True)
    assert info.value.response.status_code == 403
    assert info.value.response.headers["X-Error-Code"] == "NamespaceForbidden"
    url = hf(hub, team, "writer").create_repo(rid, private=True)
    assert url.endswith(rid)
    hf(hub, team, "writer").upload_file(path_or_fileobj=b"weights", path_in_repo="w.bin", repo_id=rid)
    for who in ("reader", "writer", "admin"):
        info_ = hf(hub, team, who).model_info(rid)
        assert info_.private is True and "w.bin" in [s.rfilename for s in info_.siblings or []]
    for who in ("outsider", "anonymous"):
        with pytest.raises(RepositoryNotFoundError):
            hf(hub, team, who).model_info(rid)
    # readers read but do not push
    with pytest.raises(HfHubHTTPError) as info:
        hf(hub, team, "reader").upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=rid)
    assert info.value.response.status_code == 403
    assert info.value.response.headers["X-Error-Code"] == "WriteForbidden"
    # writers change visibility, rename and delete, as on the Hugging Face Hub; readers do not
    with pytest.raises(HfHubHTTPError) as info:
        hf(hub, team, "reader").update_repo_settings(rid, private=False)
    assert info.value.response.headers["X-Error-Code"] == "WriteForbidden"
    assert "write" in info.value.response.headers["X-Error-Message"]
    hf(hub, team, "writer").update_repo_settings(rid, private=False)
    assert hf(hub, team, "outsider").model_info(rid).private is False
    hf(hub, team, "admin").update_repo_settings(rid, private=True)
    with pytest.raises(RepositoryNotFoundError):
        hf(hub, team, "outsider").model_info(rid)
    with pytest.raises(HfHubHTTPError) as info:
        hf(hub, team, "reader").delete_repo(rid)
    assert info.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError):  # an outsider cannot even see it to delete it
        hf(hub, team, "outsider").delete_repo(rid)
    hf(hub, team, "writer").delete_repo(rid)
    with pytest.raises(RepositoryNotFoundError):
        hf(hub, team, "admin").model_info(rid)


def test_create_repo_private_for_a_user(hub, api) -> None:  # type: ignore[no-untyped-def]
    rid = f"admin/mine-{secrets.token_hex(3)}"
    api.create_repo(rid, repo_type="dataset", private=True)
    assert api.dataset_info(rid).private is True
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=False).dataset_info(rid)
    api.update_repo_settings(rid, repo_type="dataset", private=False)
    assert HfApi(endpoint=hub.url, token=False).dataset_info(rid).private is False


def test_members_through_the_api(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    org, outsider = team.org, team.users["outsider"]
    rid = f"{org}/members-{secrets.token_hex(3)}"
    hf(hub, team, "admin").create_repo(rid, private=True)
    with team.client(hub, "reader") as c:
        members = c.get(f"/api/organizations/{org}/members").json()
        assert {(m["name"], m["role"]) for m in members} == {
            (team.users["reader"], "read"),
            (team.users["writer"], "write"),
            (team.users["admin"], "admin"),
        }
        # only admins manage members
        r = c.put(f"/api/organizations/{org}/members/{outsider}", json={"role": "read"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "OrgAdminRequired"
    with team.client(hub, "outsider") as c:
        r = c.get(f"/api/organizations/{org}/members")
        assert r.status_code == 403 and r.json()["error"]["code"] == "NotOrgMember"
    with team.client(hub, "admin", read_scope=True) as c:
        r = c.put(f"/api/organizations/{org}/members/{outsider}", json={"role": "read"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "ReadOnlyToken"
    with team.client(hub, "admin") as c:
        r = c.put(f"/api/organizations/{org}/members/{outsider}", json={"role": "owner"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRole"
        assert "read, write, admin" in r.json()["error"]["message"]
        r = c.put(f"/api/organizations/{org}/members/nobody-{secrets.token_hex(2)}", json={"role": "read"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "UserNotFound"
        r = c.put(f"/api/organizations/{org}/members/{outsider}", json={})
        assert r.status_code == 400 and r.json()["error"]["code"] == "MissingField"
        r = c.put(f"/api/organizations/{org}/members/{outsider}", json={"role": "read"})
        assert r.status_code == 200 and r.json()["role"] == "read"
    assert hf(hub, team, "outsider").model_info(rid).private is True  # now a reader
    with pytest.raises(HfHubHTTPError):
        hf(hub, team, "outsider").upload_file(path_or_fileobj=b"x", path_in_repo="x", repo_id=rid)
    with team.client(hub, "admin") as c:
        assert (
            c.put(f"/api/organizations/{org}/members/{outsider}", json={"role": "write"}).status_code == 200
        )
    hf(hub, team, "outsider").upload_file(path_or_fileobj=b"x", path_in_repo="x", repo_id=rid)
    with team.client(hub, "admin") as c:
        assert c.delete(f"/api/organizations/{org}/members/{outsider}").status_code == 200
        r = c.delete(f"/api/organizations/{org}/members/{outsider}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "MemberNotFound"
        # the last admin cannot leave or be demoted
        r = c.put(f"/api/organizations/{org}/members/{team.users['admin']}", json={"role": "read"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "LastOrgAdmin"
        r = c.delete(f"/api/organizations/{org}/members/{team.users['admin']}")
        assert r.status_code == 409
        r = c.get("/api/organizations/no-such-org-xyz/members")
        assert r.status_code == 404 and r.json()["error"]["code"] == "OrgNotFound"
    with pytest.raises(RepositoryNotFoundError):
        hf(hub, team, "outsider").model_info(rid)


def test_create_org_through_the_api(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    name = f"made-{secrets.token_hex(3)}"
    with team.client(hub, "outsider") as c:
        r = c.post("/api/organizations", json={"name": name})
        assert r.status_code == 200 and r.json()["roleInOrg"] == "admin"
        assert {"name": name, "roleInOrg": "admin"}.items() <= next(
            o for o in c.get("/api/organizations").json() if o["name"] == name
        ).items()
        r = c.post("/api/organizations", json={"name": name})
        assert r.status_code == 409 and r.json()["error"]["code"] == "AccountExists"
        r = c.post("/api/organizations", json={"name": "bad name!"})
        assert r.status_code == 400
        r = c.post("/api/organizations", json={"name": "api"})
        assert r.status_code == 400
    with team.client(hub, "outsider", read_scope=True) as c:
        assert c.post("/api/organizations", json={"name": name + "x"}).status_code == 403
    with team.client(hub, "anonymous") as c:
        assert c.post("/api/organizations", json={"name": name + "y"}).status_code == 401
        assert c.get("/api/organizations").json() == []
    orgs = hf(hub, team, "outsider").whoami()["orgs"]
    assert {"type": "org", "name": name, "roleInOrg": "admin"}.items() <= next(
        o for o in orgs if o["name"] == name
    ).items()


def test_org_cli(hub) -> None:  # type: ignore[no-untyped-def]
    org, user = f"cli-org-{secrets.token_hex(3)}", f"cli-user-{secrets.token_hex(3)}"
    hub.cli("hub", "user", "create", user)
    hub.cli("hub", "org", "create", org)
    hub.cli("hub", "org", "add-member", org, user, "--role", "read")
    assert (
        f"{user}:read"
        in next(o for o in json.loads(hub.cli("hub", "org", "list", "--json").stdout) if o["name"] == org)[
            "members"
        ]
    )
    out = hub.cli("hub", "org", "set-role", org, user, "admin")
    assert "admin" in out.stdout
    assert f"{user}:admin" in hub.cli("hub", "org", "list").stdout
    bad = hub.cli("hub", "org", "set-role", org, user, "owner", check=False)
    assert bad.returncode == 1 and "invalid role" in bad.stderr
    hub.cli("hub", "org", "remove-member", org, user)
    assert user not in hub.cli("hub", "org", "list").stdout
    missing = hub.cli("hub", "org", "remove-member", org, user, check=False)
    assert missing.returncode == 1 and "not a member" in missing.stderr
    missing = hub.cli("hub", "org", "set-role", org, user, "read", check=False)
    assert missing.returncode == 1 and "add-member" in missing.stderr
    events = json.loads(hub.cli("hub", "audit", "--namespace", org, "--json").stdout)
    assert [e["action"] for e in events] == ["member.remove", "member.role", "member.add", "org.create"]
    assert events[1]["details"] == {"user": user, "from": "read", "to": "admin"}
    for args in (("org", "set-role"), ("org", "remove-member"), ("org", "list"), ("audit",)):
        assert hub.cli("hub", *args, "--help").returncode == 0


def test_hub_client_team_methods(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    from workbench.client import HubClient
    from workbench.errors import NotFound, PermissionDenied

    extra = f"client-{secrets.token_hex(3)}"
    hub.cli("hub", "user", "create", extra)
    with (
        HubClient(hub.url, team.tokens["admin"], progress=False) as admin,
        HubClient(hub.url, team.tokens["reader"], progress=False) as reader,
    ):
        assert admin.set_role(team.org, extra, "write")["role"] == "write"
        assert (extra, "write") in {(m["name"], m["role"]) for m in reader.org_members(team.org)}
        with pytest.raises(PermissionDenied) as exc:
            reader.set_role(team.org, extra, "admin")
        assert exc.value.code == "OrgAdminRequired"
        admin.remove_member(team.org, extra)
        with pytest.raises(NotFound):
            admin.remove_member(team.org, extra)
        assert [e["action"] for e in admin.audit(namespace=team.org, limit=2)] == [
            "member.remove",
            "member.add",
        ]
        with pytest.raises(PermissionDenied):
            reader.audit(namespace=team.org)
        made = reader.create_token("from-client")
        assert made["token"].startswith("wb_") and made["scope"] == "read"
        assert made["id"] in [t["id"] for t in reader.tokens()]
        reader.revoke_token(made["id"])
        assert next(t for t in reader.tokens() if t["id"] == made["id"])["revoked"] is True
