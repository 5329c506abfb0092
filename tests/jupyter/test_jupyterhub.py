"""JupyterHub as the team's identity, end to end (docs/teams.md).

A real JupyterHub (configurable-http-proxy, local single-user servers) with the Workbench hub,
a real ``workbench hub serve``, registered as its service. JupyterHub tokens act on the hub as
their users through the stock ``HfApi``; alice's single-user server, spawned by JupyterHub,
acts as alice in its Workbench extension, its kernels and the ``workbench`` command, with
nothing configured by alice. A deleted JupyterHub user's token stops working within the
cache bound, and JupyterHub down is a 503, never anonymous.

The tests share one JupyterHub and run in order: the last ones delete alice and stop JupyterHub.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError

from tests.support.hub import HF_ENV, HubProcess, free_port
from tests.support.jupyterhub import JupyterHubProcess
from workbench.config import HubSettings
from workbench.errors import AuthenticationError
from workbench.hub.jupyterhub_auth import JupyterHubAuth
from workbench.store.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CACHE_SECONDS = 2
ROOT = Path(__file__).resolve().parents[2]


class Team:
    def __init__(self, jh: JupyterHubProcess, hub: HubProcess) -> None:
        self.jh, self.hub = jh, hub
        self.tokens = {user: jh.create_token(user) for user in ("alice", "bob")}
        self.server_url = ""

    def api(self, user: str) -> HfApi:
        return HfApi(endpoint=self.hub.url, token=self.tokens[user])

    def hub_get(self, path: str, token: str) -> httpx.Response:
        return httpx.get(f"{self.hub.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    root = tmp_path_factory.mktemp("jupyterhub")
    hub = HubProcess(root / "workbench", port=free_port())
    jh = JupyterHubProcess(root / "jupyterhub", hub_url=hub.url)
    hub.extra_env = jh.workbench_env(cache_seconds=CACHE_SECONDS)
    jh.start()
    try:
        hub.start()
        try:
            yield Team(jh, hub)
        finally:
            hub.stop()
    finally:
        jh.stop()


def test_jupyterhub_tokens_act_as_their_users(team: Team) -> None:
    alice, bob = team.api("alice"), team.api("bob")
    me = alice.whoami()
    assert me["name"] == "alice"
    assert {"name": "acme", "roleInOrg": "write", "type": "org"}.items() <= me["orgs"][0].items()
    assert bob.whoami()["name"] == "bob" and bob.whoami()["orgs"] == []

    repo = alice.create_repo("acme/private-notes", private=True).repo_id
    alice.upload_file(path_or_fileobj=b"secret", path_in_repo="notes.txt", repo_id=repo)
    assert alice.model_info(repo).private is True
    with pytest.raises(RepositoryNotFoundError):
        bob.model_info(repo)
    data = alice.create_repo("acme/private-rows", repo_type="dataset", private=True).repo_id
    alice.upload_file(
        path_or_fileobj=b"x,y\n1,2\n3,4\n", path_in_repo="rows.csv", repo_id=data, repo_type="dataset"
    )
    with pytest.raises(RepositoryNotFoundError):
        bob.dataset_info(data)


def test_token_without_the_workbench_scope_is_refused(team: Team) -> None:
    token = team.jh.create_token("alice", scopes=["read:users:name!user"])
    r = team.hub_get("/api/whoami-v2", token)
    assert r.status_code == 401 and r.headers["x-error-code"] == "JupyterHubScopeMissing", r.text


def test_forged_token_is_refused(team: Team) -> None:
    r = team.hub_get("/api/whoami-v2", "0" * 32)
    assert r.status_code == 401 and r.headers["x-error-code"] == "InvalidToken", r.text


def test_workbench_command_in_a_terminal_acts_as_the_jupyterhub_user(team: Team, tmp_path: Path) -> None:
    env = {
        **os.environ,
        **HF_ENV,
        "XDG_CONFIG_HOME": str(tmp_path / "no-login"),
        "WORKBENCH_HUB_URL": team.hub.url,
        "JUPYTERHUB_API_TOKEN": team.tokens["alice"],
    }
    env.pop("WORKBENCH_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "whoami"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0 and "alice" in done.stdout, done.stdout + done.stderr


def test_single_user_server_acts_as_its_user(team: Team) -> None:
    team.server_url = team.jh.spawn("alice")
    headers = {"Authorization": f"token {team.tokens['alice']}"}
    status = httpx.get(f"{team.server_url}/workbench/status", headers=headers, timeout=60).json()
    assert status["hubUrl"] == team.hub.url and status["user"] == "alice", status
    listed = httpx.get(f"{team.server_url}/workbench/hub/api/models?author=acme", headers=headers, timeout=60)
    assert [m["id"] for m in listed.json()] == ["acme/private-notes"]


@pytest.mark.browser
def test_lab_through_the_proxy_shows_the_user_and_their_org_repos(team: Team) -> None:
    # alice signs in with JupyterHub's own form, in a real browser, through the proxy: her
    # lab's Team panel names her and the sidebar finds her organization's private repo
    assert team.server_url, "needs the server of the previous test"
    core = ROOT / "ui-tests" / "node_modules" / "playwright-core"
    if not core.exists():
        pytest.fail("ui-tests/node_modules is missing: run `make labextension`.", pytrace=False)
    env = {
        **os.environ,
        "WB_PLAYWRIGHT_CORE": str(core),
        "JH_URL": team.jh.url,
        "JH_USER": "alice",
        "JH_PASSWORD": team.jh.user_password,
        "WB_SEARCH": "private-notes",
        "WB_EXPECT_REPO": "acme/private-notes",
    }
    script = Path(__file__).parent / "browser" / "lab_as_user.js"
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["who"] == "Signed in to the hub as alice", shown
    assert "acme/private-notes" in shown["results"] and shown["url"].startswith(team.jh.url), shown


def test_kernel_of_the_server_acts_as_its_user(team: Team) -> None:
    assert team.server_url, "needs the server of the previous test"
    code = (
        "import json, os, workbench as wb, huggingface_hub, datasets\n"
        "api = huggingface_hub.HfApi()\n"
        "print(json.dumps({'wb': wb.connect().user, 'hf': api.whoami()['name'],\n"
        "  'file': open(api.hf_hub_download('acme/private-notes', 'notes.txt')).read(),\n"
        "  'rows': datasets.load_dataset('acme/private-rows', split='train').num_rows,\n"
        "  'same': os.environ['HF_TOKEN'] == os.environ['JUPYTERHUB_API_TOKEN']}))\n"
    )
    out = asyncio.run(_execute(team.server_url, team.tokens["alice"], code))
    assert json.loads(out.strip().splitlines()[-1]) == {
        "wb": "alice",
        "hf": "alice",
        "file": "secret",
        "rows": 2,
        "same": True,
    }


def test_simultaneous_first_sign_ins(team: Team) -> None:
    assert team.jh.api("POST", "/users", json={"usernames": ["carol"]}).status_code == 201
    assert team.jh.api("POST", "/groups/ml-team/users", json={"users": ["carol"]}).status_code == 200
    tokens = [team.jh.create_token("carol") for _ in range(8)]
    with ThreadPoolExecutor(len(tokens)) as pool:
        answers = list(pool.map(lambda t: team.hub_get("/api/whoami-v2", t), tokens))
    assert [r.status_code for r in answers] == [200] * len(tokens), [r.text for r in answers]
    assert {r.json()["orgs"][0]["name"] for r in answers} == {"acme"}


def _auth(team: Team, tmp_path: Path, **settings: object) -> tuple[JupyterHubAuth, Store]:
    """The hub's JupyterHub check in this process, on a store of its own."""
    options: dict[str, object] = {
        "data_dir": tmp_path,
        "write_user_config": False,
        "jupyterhub_api_url": team.jh.api_url,
        "jupyterhub_api_token": team.jh.service_token,
        "jupyterhub_cache_seconds": 1,
        **settings,
    }
    hub_settings = HubSettings(**options)  # type: ignore[arg-type]
    auth = JupyterHubAuth.from_settings(hub_settings)
    assert auth is not None
    return auth, Store.open(hub_settings)


def test_groups_and_admin_flag_follow_jupyterhub_at_each_sign_in(team: Team, tmp_path: Path) -> None:
    auth, store = _auth(
        team,
        tmp_path,
        jupyterhub_group_roles="ml-team=acme:read,leads=acme:admin",
        jupyterhub_admins_are_admins=True,
    )
    # a server's kind of token: no read:users, so the admin flag comes through the service's token
    token = team.jh.create_token("bob", scopes=["access:services!service=workbench"])
    bob = auth.principal(store, token)
    assert bob.name == "bob" and bob.org_names == {} and not bob.is_admin
    assert team.jh.api("POST", "/groups/leads", json={"users": ["bob"]}).status_code in (201, 409)
    team.jh.api("POST", "/groups/leads/users", json={"users": ["bob"]})
    assert team.jh.api("PATCH", "/users/bob", json={"admin": True}).status_code == 200
    try:
        assert auth.principal(store, token).org_names == {}  # cached: no new sign-in yet
        time.sleep(1.2)
        bob = auth.principal(store, token)
        assert bob.org_names == {"acme": "admin"} and bob.is_admin
    finally:
        team.jh.api("DELETE", "/groups/leads/users", json={"users": ["bob"]})
        team.jh.api("PATCH", "/users/bob", json={"admin": False})
    time.sleep(1.2)
    bob = auth.principal(store, token)
    assert bob.org_names == {} and not bob.is_admin
    store.close()


def test_the_local_admin_account_is_never_a_jupyterhub_user(team: Team, tmp_path: Path) -> None:
    auth, store = _auth(team, tmp_path, admin_user="bob")
    with pytest.raises(AuthenticationError) as err:
        auth.principal(store, team.tokens["bob"])
    assert err.value.code == "ExternalUserRefused"
    store.close()


def test_a_users_tokens_share_one_sign_in(team: Team, tmp_path: Path) -> None:
    auth, store = _auth(team, tmp_path, jupyterhub_cache_seconds=60)
    signed_in: list[str] = []
    sign_in = auth._sign_in

    def counted(*args: Any) -> None:
        signed_in.append(args[1])
        sign_in(*args)

    auth._sign_in = counted  # type: ignore[method-assign]
    server_like = team.jh.create_token("bob", scopes=["access:services!service=workbench"])
    for _ in range(3):
        assert auth.principal(store, team.tokens["bob"]).name == "bob"
        assert auth.principal(store, server_like).name == "bob"
    assert signed_in == ["bob"]
    store.close()


def test_service_name_decides_the_scope_a_token_needs(team: Team, tmp_path: Path) -> None:
    auth, store = _auth(team, tmp_path, jupyterhub_service_name="elsewhere")
    with pytest.raises(AuthenticationError) as err:
        auth.principal(store, team.tokens["bob"])
    assert err.value.code == "JupyterHubScopeMissing"
    store.close()


def test_managed_service_reads_jupyterhubs_variables(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_API_URL", team.jh.api_url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", team.jh.service_token)
    settings = HubSettings()
    assert settings.jupyterhub_api_url is None  # a single-user server has them too: not a service
    monkeypatch.setenv("JUPYTERHUB_SERVICE_NAME", "workbench")
    settings = HubSettings()
    assert (settings.jupyterhub_api_url, settings.jupyterhub_api_token, settings.jupyterhub_service_name) == (
        team.jh.api_url,
        team.jh.service_token,
        "workbench",
    )
    monkeypatch.setenv("WORKBENCH_JUPYTERHUB_API_URL", "http://127.0.0.1:1/hub/api")
    assert HubSettings().jupyterhub_api_url == "http://127.0.0.1:1/hub/api"


def test_deleted_user_token_stops_working_within_the_cache_bound(team: Team) -> None:
    token = team.tokens["alice"]
    assert team.hub_get("/api/whoami-v2", token).status_code == 200
    if team.server_url:
        team.jh.stop_server("alice")
    assert team.jh.api("DELETE", "/users/alice").status_code == 204
    deadline = time.monotonic() + CACHE_SECONDS + 5
    while time.monotonic() < deadline:
        r = team.hub_get("/api/whoami-v2", token)
        if r.status_code == 401:
            break
        assert r.status_code == 200
        time.sleep(0.25)
    assert r.status_code == 401 and r.headers["x-error-code"] == "InvalidToken", r.text


def test_jupyterhub_down_is_503_never_anonymous(team: Team) -> None:
    token = team.tokens["bob"]
    assert team.hub_get("/api/whoami-v2", token).status_code == 200
    team.jh.stop()
    time.sleep(CACHE_SECONDS + 0.5)  # past the cache
    r = team.hub_get("/api/whoami-v2", token)
    assert r.status_code == 503, r.text
    assert r.headers["x-error-code"] == "JupyterHubUnavailable" and "retry-after" in r.headers
    # Workbench tokens are checked by the hub alone
    assert team.hub_get("/api/whoami-v2", team.hub.token).json()["name"] == "admin"


async def _execute(server_url: str, token: str, code: str, timeout: float = 180) -> str:
    """Run ``code`` in a new kernel of a Jupyter server (REST + the kernel websocket); its
    stdout. Raises on an error in the cell."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    headers = {"Authorization": f"token {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        r = await client.post(f"{server_url}/api/kernels", json={"name": "python3"})
        assert r.status_code == 201, r.text
        kernel = r.json()["id"]
        try:
            ws_url = server_url.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels"
            ws = await websocket_connect(HTTPRequest(ws_url, headers=headers))
            msg_id = uuid.uuid4().hex
            ws.write_message(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "msg_type": "execute_request",
                            "session": uuid.uuid4().hex,
                            "username": "test",
                            "version": "5.3",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "content": {"code": code, "silent": False, "allow_stdin": False},
                        "channel": "shell",
                    }
                )
            )
            out: list[str] = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                raw = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
                assert raw is not None, "kernel websocket closed"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["header"]["msg_type"], msg["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind == "error":
                    raise AssertionError("\n".join(content["traceback"]))
                elif kind == "status" and content["execution_state"] == "idle":
                    break
            ws.close()
            return "".join(out)
        finally:
            await client.delete(f"{server_url}/api/kernels/{kernel}")


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"WORKBENCH_JUPYTERHUB_GROUP_ROLES": "ml-team=acme"}, "Invalid group mapping 'ml-team=acme'"),
        ({"WORKBENCH_JUPYTERHUB_API_TOKEN": ""}, "jupyterhub_api_token is not"),
    ],
)
def test_unusable_jupyterhub_settings_stop_the_hub_with_a_message(
    tmp_path: Path, settings: dict[str, str], says: str
) -> None:
    env = {
        **os.environ,
        **HF_ENV,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "WORKBENCH_JUPYTERHUB_API_URL": "http://127.0.0.1:1/hub/api",
        "WORKBENCH_JUPYTERHUB_API_TOKEN": "service-token",
        **settings,
    }
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "hub", "serve", "--data", str(tmp_path / "data"), "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1 and "error:" in done.stderr and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
