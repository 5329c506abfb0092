"""A real JupyterHub on free loopback ports, with configurable-http-proxy, for tests.

Users ``alice`` (group ``ml-team``) and ``bob``; single-user servers spawned in local processes
(``SimpleLocalProcessSpawner``, each with its own home folder); the Workbench hub registered
as the service ``workbench`` and given to the users and their servers through the scope
``access:services!service=workbench``, as docs/teams.md configures it; and a ``tester``
service with JupyterHub's admin role, whose token drives JupyterHub's REST API.

>>> jh = JupyterHubProcess(tmp_path, hub_url=hub.url).start()   # doctest: +SKIP
>>> token = jh.create_token("alice")                            # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.hub import HF_ENV, free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "workbench"
USERS = {"alice": ["ml-team"], "bob": []}


def chp_path() -> str:
    """configurable-http-proxy from tests/support/chp (installed by scripts/ensure-chp.sh)."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure-chp.sh")], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


class JupyterHubProcess:
    """``jupyterhub`` in a subprocess with its own folder, database and proxy."""

    def __init__(self, root: Path, *, hub_url: str, user_password: str = "correct horse battery") -> None:
        self.root = Path(root)
        self.hub_url = hub_url  # the Workbench hub, handed to single-user servers
        self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.service_token = secrets.token_hex(32)  # the Workbench hub's api_token
        self.admin_token = secrets.token_hex(32)  # the tester service's
        self.user_password = user_password
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.root / "jupyterhub.log"

    @property
    def url(self) -> str:
        """The proxy: JupyterHub's public URL (``/hub/...``, ``/user/NAME/...``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """JupyterHub's API as services reach it (not through the proxy)."""
        return f"http://127.0.0.1:{self.hub_port}/hub/api"

    def workbench_env(
        self, *, group_roles: str = "ml-team=acme:write", cache_seconds: int = 2
    ) -> dict[str, str]:
        """The Workbench hub's settings for this JupyterHub."""
        return {
            "WORKBENCH_JUPYTERHUB_API_URL": self.api_url,
            "WORKBENCH_JUPYTERHUB_API_TOKEN": self.service_token,
            "WORKBENCH_JUPYTERHUB_GROUP_ROLES": group_roles,
            "WORKBENCH_JUPYTERHUB_CACHE_SECONDS": str(cache_seconds),
        }

    def _config(self) -> str:
        spawner_env = {"WORKBENCH_HUB_URL": self.hub_url, **HF_ENV}
        access = f"access:services!service={SERVICE}"
        config: dict[str, Any] = {
            "JupyterHub": {
                "ip": "127.0.0.1",
                "port": self.port,
                "hub_ip": "127.0.0.1",
                "hub_port": self.hub_port,
                "db_url": f"sqlite:///{self.root / 'jupyterhub.sqlite'}",
                "cookie_secret_file": str(self.root / "jupyterhub_cookie_secret"),
                "pid_file": str(self.root / "jupyterhub.pid"),
                "authenticator_class": "shared-password",
                "spawner_class": "simple",
                "load_groups": {
                    g: {"users": [u for u, gs in USERS.items() if g in gs]} for g in ("ml-team",)
                },
                "services": [
                    {"name": SERVICE, "api_token": self.service_token},
                    {"name": "tester", "api_token": self.admin_token},
                ],
                "load_roles": [
                    {"name": "user", "scopes": ["self", access]},
                    {"name": "server", "scopes": ["users:activity!user", "access:servers!server", access]},
                    {"name": "workbench-service", "services": [SERVICE], "scopes": ["read:users"]},
                    {"name": "admin", "services": ["tester"]},
                ],
            },
            "SharedPasswordAuthenticator": {"user_password": self.user_password},
            "Authenticator": {"allowed_users": sorted(USERS)},
            "ConfigurableHTTPProxy": {
                "command": [chp_path()],
                "api_url": f"http://127.0.0.1:{self.proxy_api_port}",
                "pid_file": str(self.root / "proxy.pid"),
            },
            "Spawner": {
                "cmd": [str(Path(sys.executable).parent / "jupyterhub-singleuser")],
                "args": ["--allow-root"],
                "environment": spawner_env,
                "start_timeout": 120,
                "http_timeout": 120,
            },
            "SimpleLocalProcessSpawner": {"home_dir_template": str(self.root / "home" / "{username}")},
        }
        lines = ["c = get_config()  # noqa"]
        for section, values in config.items():
            for key, value in values.items():
                lines.append(f"c.{section}.{key} = {json.dumps(value)}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 90) -> JupyterHubProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "jupyterhub_config.py").write_text(self._config())
        env = {**os.environ, **HF_ENV}
        for name in list(env):  # never the variables of a JupyterHub this test runs inside
            if name.startswith("JUPYTERHUB_"):
                env.pop(name)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(self.root / "jupyterhub_config.py")],
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # the proxy and the servers stop with it
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/hub/api/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jupyterhub did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM (JupyterHub stops the servers it spawned and its proxy), then the group."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    # -- JupyterHub's REST API, as the tester service ---------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"token {self.admin_token}"}
        return httpx.request(method, f"{self.api_url}{path}", headers=headers, timeout=30, **kwargs)

    def create_token(self, user: str, **body: Any) -> str:
        r = self.api("POST", f"/users/{user}/tokens", json={"note": "test", **body})
        assert r.status_code == 201, f"{r.text}\n{self.log()}"
        return str(r.json()["token"])

    def spawn(self, user: str, timeout: float = 180) -> str:
        """Start ``user``'s server through JupyterHub; its URL through the proxy."""
        r = self.api("POST", f"/users/{user}/server")
        assert r.status_code in (201, 202), r.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.api("GET", f"/users/{user}").json().get("servers", {}).get("", {})
            if server.get("ready"):
                return f"{self.url}{server['url'].rstrip('/')}"
            time.sleep(0.5)
        raise RuntimeError(f"{user}'s server did not start:\n{self.log()}")

    def stop_server(self, user: str, timeout: float = 60) -> None:
        r = self.api("DELETE", f"/users/{user}/server")
        assert r.status_code in (202, 204), r.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.api("GET", f"/users/{user}").json().get("servers"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{user}'s server did not stop:\n{self.log()}")
