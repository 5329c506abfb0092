"""The ``Workbench`` server extension app: which hub, its token, and the kernels' environment.

With ``c.Workbench.hub_url`` unset it starts an :class:`EmbeddedHub` (and stops it with the
server). Either way it puts the hub URL and token in this process's environment, which is
what the kernels and terminals it starts inherit, so ``import workbench as wb`` and the
Hugging Face libraries find the hub with no arguments. The browser gets neither: it talks to
the proxy in :mod:`workbench.jupyter.handlers`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from tornado.routing import PathMatches, Rule
from traitlets import Bool, Float, Int, Unicode, default

from workbench.config import UserConfig, jupyterhub_token
from workbench.jupyter.embedded import EmbeddedHub, ensure_token, free_port
from workbench.jupyter.handlers import DeepLinkHandler, handlers


class Workbench(ExtensionApp):
    """Connects JupyterLab to a Workbench hub (``c.Workbench.*``)."""

    name = "workbench"
    load_other_extensions = True

    hub_url = Unicode(
        "",
        config=True,
        help="URL of the hub to use; empty: start an embedded hub (environment: WORKBENCH_HUB_URL).",
    )
    token = Unicode(
        "",
        config=True,
        help="Hub token, kept server-side and added by the proxy (environment: WORKBENCH_TOKEN); "
        "empty with hub_url set: JUPYTERHUB_API_TOKEN in a JupyterHub single-user server.",
    )
    data_dir = Unicode(
        "",
        config=True,
        help="Data folder of the embedded hub (default: $WORKBENCH_DATA or ~/.local/share/workbench).",
    )
    port = Int(0, config=True, help="Port of the embedded hub (0: a free loopback port).")
    demo = Bool(
        False,
        config=True,
        help="Publish the demo model, dataset and paper to the hub "
        "at start-up (idempotent), in the background.",
    )
    write_user_config = Bool(
        True,
        config=True,
        help="Save the embedded hub's token for its address (a new port at each start) in the "
        "user config file (mode 0600), so the CLI finds it outside this server too; a saved "
        "login to a hub on another machine is kept.",
    )
    startup_timeout = Float(60.0, config=True, help="Seconds to wait for the embedded hub.")
    proxy_timeout = Float(300.0, config=True, help="Seconds the proxy waits for one hub answer.")

    @default("hub_url")
    def _hub_url_default(self) -> str:
        return os.environ.get("WORKBENCH_HUB_URL", "")

    @default("token")
    def _token_default(self) -> str:
        return os.environ.get("WORKBENCH_TOKEN", "")

    @default("data_dir")
    def _data_dir_default(self) -> str:
        from workbench.config import default_data_dir

        return os.environ.get("WORKBENCH_DATA") or str(default_data_dir())

    def initialize_settings(self) -> None:
        self.embedded: EmbeddedHub | None = None
        self.demo_state = "off"
        url, token = self.hub_url.rstrip("/"), self.token
        if url and not token:
            # In a JupyterHub single-user server: act as its user on a hub that accepts
            # JupyterHub tokens (docs/teams.md), with nothing to configure or paste.
            token = jupyterhub_token() or ""
        if not url:
            data = Path(self.data_dir).expanduser().absolute()
            server_port = self.serverapp.port if self.serverapp is not None else 0
            port = self.port or free_port(avoid=frozenset({server_port}))
            self.embedded = EmbeddedHub(data, port=port)
            token = ensure_token(data, url=self.embedded.url, write_user_config=self.write_user_config)
            self.embedded.start(timeout=self.startup_timeout)
            url = self.embedded.url
            self._save_login(url, token)
        self.configured_url, self._configured_token = url, token
        self.connected_url, self._token = url, token
        self._export_environment(url, token)
        self.settings["workbench"] = self
        from workbench.jupyter.evals import EvalRuns
        from workbench.jupyter.publish import Publishes

        self.evals = EvalRuns(self)
        self.publishes = Publishes(self)
        if self.demo:
            self.demo_state = "loading"
            threading.Thread(target=self._load_demo, name="workbench-demo", daemon=True).start()

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())
        self._route_deep_links_first()

    def _route_deep_links_first(self) -> None:
        # JupyterLab answers every other /lab/... path with its page and a "Path Not Found"
        # dialog, and its rules come before ours; a colleague's /lab/workbench/... link must
        # reach DeepLinkHandler, so that one rule goes first.
        if self.serverapp is None or self.serverapp.web_app is None:
            return
        pattern = url_path_join(self.serverapp.base_url, "/lab/workbench/(.+)")
        router = self.serverapp.web_app.default_router
        router.rules.insert(0, router.process_rule(Rule(PathMatches(pattern), DeepLinkHandler)))

    @property
    def hub_token_for_runs(self) -> str:
        """Evaluation runs always use the configured hub and its token."""
        return self._configured_token

    @property
    def hub_token(self) -> str:
        """The token the proxy adds; never part of a response."""
        return self._token

    def status(self) -> dict[str, Any]:
        return {
            "hubUrl": self.connected_url,
            "configuredUrl": self.configured_url,
            "embedded": self.embedded is not None and self.connected_url == self.configured_url,
            "demo": self.demo_state,
            "authenticated": bool(self._token),
        }

    def use_hub(self, url: str) -> None:
        """Browse another hub from the UI (the Hub URL setting); empty: the configured one.

        The configured token only ever goes to the configured hub: another hub is used
        anonymously, so a setting cannot send the token anywhere else.
        """
        url = url.strip().rstrip("/")
        if not url or url == self.configured_url:
            self.connected_url, self._token = self.configured_url, self._configured_token
            return
        if not url.startswith(("http://", "https://")):
            from workbench.errors import InvalidRequest

            raise InvalidRequest(
                f"Hub URL {url!r} must start with http:// or https://.", code="InvalidHubUrl"
            )
        self.connected_url, self._token = url, ""

    def _save_login(self, url: str, token: str) -> None:
        # The embedded hub listens on a new port at each start, and a saved token goes only to
        # the address it was saved for; a login to a hub elsewhere is the user's choice to keep.
        if self.write_user_config:
            UserConfig.load().save_local(url, token)

    def _export_environment(self, url: str, token: str) -> None:
        # Kernels and terminals inherit this process's environment.
        os.environ.update(
            {
                "WORKBENCH_HUB_URL": url,
                "HF_ENDPOINT": url,
                "HF_HUB_DISABLE_TELEMETRY": "1",
                "HF_UPDATE_DOWNLOAD_COUNTS": "0",
            }
        )
        if token:
            os.environ["WORKBENCH_TOKEN"] = token
            os.environ["HF_TOKEN"] = token

    def _load_demo(self) -> None:
        env = {**os.environ, "WORKBENCH_HUB_URL": self.connected_url, "WORKBENCH_TOKEN": self._token}
        done = subprocess.run(
            [sys.executable, "-m", "workbench", "demo", "--url", self.connected_url],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            self.demo_state = "ready"
            self.log.info("Workbench demo content published to %s", self.connected_url)
        else:
            self.demo_state = "failed"
            self.log.error("Workbench demo content failed: %s", done.stderr[-2000:])

    async def stop_extension(self) -> None:
        self.evals.close()
        self.publishes.close()
        if self.embedded is not None:
            self.embedded.stop()
