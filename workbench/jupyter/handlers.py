"""Tornado handlers of the server extension; every one requires Jupyter's authentication.

``/workbench/hub/<path>`` forwards to the hub with the server-side token added and streams
the answer back (status, body and the error headers the UI reads). Paths that hand out
credentials are refused, so no hub token can reach the browser through the proxy.
``/workbench/status`` says which hub this server uses and whether it answers.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any
from urllib.parse import quote, urlencode

import tornado.web
from jupyter_server.base.handlers import APIHandler
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from workbench.errors import WorkbenchError
from workbench.jupyter.base import WorkbenchHandler
from workbench.jupyter.evals import EvalRunHandler, EvalsHandler
from workbench.jupyter.publish import PublishHandler, PublishTaskHandler

# Answer headers worth passing on; hop-by-hop, cookies and anything else stay behind.
PASSED_HEADERS = (
    "Content-Type",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "Last-Modified",
    "X-Error-Code",
    "X-Error-Message",
    "X-Repo-Commit",
    "X-Linked-Etag",
    "X-Linked-Size",
    "X-Total-Count",
    "Link",
)
FORWARDED_HEADERS = ("Content-Type", "Accept", "Range", "If-None-Match")
# The hub's credential endpoints, which the generic proxy never forwards: token management
# (``/api/tokens``, whose POST answers a new token's secret) and the HF Xet token routes
# (``/api/{type}s/{ns}/{name}/xet-{read,write}-token/{rev}``). Anchored to those API paths, so
# that a repo or a folder named ``token``/``tokens`` stays reachable. The lab's Team panel
# manages the user's own tokens through :class:`TokensHandler`, a door for that alone.
REFUSED = re.compile(
    r"^api/(?:tokens|(?:models|datasets|spaces|papers)/[^/]+/[^/]+/xet-[a-z]+-token)"
    r"(?:/|$)",
    re.IGNORECASE,
)


def refused(path: str) -> bool:
    """Whether the proxy refuses ``path`` (decoded, relative to the hub's root).

    Matched the way the hub's router would read it: repeated slashes and dot segments do
    not hide a refused path.

    >>> refused("api/tokens"), refused("api//./tokens/"), refused("api/models/admin/tokens")
    (True, True, False)
    """
    return REFUSED.match(posixpath.normpath("/" + path).lstrip("/")) is not None


class HubProxyHandler(WorkbenchHandler):
    """Forwards one request to the hub, adding the token; streams the answer."""

    async def _forward(self, path: str, *, credentials: bool = False) -> None:
        if refused(path) and not credentials:
            self.fail(403, "ProxyRefused", "The Workbench proxy does not hand out credentials.")
            return
        wb = self.workbench
        # Forward the path as the browser encoded it: revisions such as refs%2Fpr%2F1 must
        # stay one segment (tornado hands `path` over decoded).
        prefix = self._proxy_base() + "/"
        raw = self.request.path
        rest = raw[len(prefix) :] if raw.startswith(prefix) else quote(path, safe="/:@!$&()*+,;=-._~")
        url = f"{wb.connected_url}/{rest}"
        if self.request.query:
            url += "?" + self.request.query
        headers = {h: self.request.headers[h] for h in FORWARDED_HEADERS if h in self.request.headers}
        if wb.hub_token:
            headers["Authorization"] = f"Bearer {wb.hub_token}"
        started = False

        def on_header(line: str) -> None:
            nonlocal started
            line = line.strip()
            if line.startswith("HTTP/"):
                self.clear()
                parts = line.split(" ", 2)
                self.set_status(int(parts[1]), parts[2] if len(parts) > 2 else None)
                for name in ("Content-Type", "Server", "Date"):
                    self.clear_header(name)
            elif ":" in line:
                name, value = line.split(":", 1)
                name = "-".join(p.capitalize() for p in name.strip().split("-"))
                if name in PASSED_HEADERS or name.lower() in (h.lower() for h in PASSED_HEADERS):
                    value = value.strip().replace(wb.connected_url, self._proxy_base())
                    self.set_header(name, value)

        def on_chunk(chunk: bytes) -> None:
            nonlocal started
            started = True
            self.write(chunk)
            self.flush()

        body = self.request.body if self.request.method in ("POST", "PUT", "PATCH", "DELETE") else None
        request = HTTPRequest(
            url,
            method=self.request.method or "GET",
            headers=headers,
            body=body,
            allow_nonstandard_methods=True,
            follow_redirects=False,
            header_callback=on_header,
            streaming_callback=on_chunk,
            request_timeout=wb.proxy_timeout,
            decompress_response=False,
        )
        try:
            await AsyncHTTPClient().fetch(request, raise_error=False)
        except HTTPClientError:
            pass
        except OSError as exc:  # connection refused, reset: the hub is down
            if started:
                raise
            self.clear()
            self.fail(
                502,
                "HubUnavailable",
                f"The Workbench hub at {wb.connected_url} does not "
                f"answer ({exc.strerror or exc}). Start it, or check c.Workbench.hub_url.",
            )
            return
        self.finish()

    def _proxy_base(self) -> str:
        return self.base_url.rstrip("/") + "/workbench/hub"

    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    async def head(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    async def post(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    async def put(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    async def delete(self, path: str) -> None:
        await self._forward(path)


class TokensHandler(HubProxyHandler):
    """The user's own hub tokens, for the lab's Team panel: list, create (the answer carries
    the new secret, once), revoke. Only ``/api/tokens`` of the hub, and only these methods;
    POST and DELETE pass Jupyter's XSRF check like every other write to the server."""

    @tornado.web.authenticated
    async def get(self, token_id: str | None = None) -> None:  # type: ignore[override]
        await self._forward("api/tokens", credentials=True)

    @tornado.web.authenticated
    async def post(self, token_id: str | None = None) -> None:  # type: ignore[override]
        await self._forward("api/tokens", credentials=True)

    @tornado.web.authenticated
    async def delete(self, token_id: str | None = None) -> None:  # type: ignore[override]
        if not token_id:
            self.fail(405, "MethodNotAllowed", "Name the token to revoke: DELETE /workbench/tokens/ID.")
            return
        await self._forward(f"api/tokens/{token_id}", credentials=True)

    async def head(self, token_id: str | None = None) -> None:  # type: ignore[override]
        raise tornado.web.HTTPError(405)

    async def put(self, token_id: str | None = None) -> None:  # type: ignore[override]
        raise tornado.web.HTTPError(405)


class StatusHandler(WorkbenchHandler):
    """Which hub, and whether it answers (``reachable``, ``version``, ``user``)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        wb = self.workbench
        out: dict[str, Any] = {**wb.status(), "reachable": False}
        headers = {"Authorization": f"Bearer {wb.hub_token}"} if wb.hub_token else {}
        client = AsyncHTTPClient()
        try:
            health = await client.fetch(f"{wb.connected_url}/api/health", request_timeout=5)
            out.update(reachable=True, version=json.loads(health.body).get("version"))
            if wb.hub_token:
                who = await client.fetch(
                    f"{wb.connected_url}/api/whoami-v2", headers=headers, request_timeout=5, raise_error=False
                )
                if who.code == 200:
                    out["user"] = json.loads(who.body).get("name")
        except (OSError, HTTPClientError, ValueError) as exc:
            out["error"] = f"The hub at {wb.connected_url} does not answer: {exc}"
        self.finish(json.dumps(out))


class ConnectionHandler(WorkbenchHandler):
    """``PUT {"hubUrl": ...}``: which hub the UI browses (see ``Workbench.use_hub``)."""

    @tornado.web.authenticated
    async def put(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            url = body.get("hubUrl", "") if isinstance(body, dict) else None
            if not isinstance(url, str):
                raise ValueError
        except ValueError:
            self.fail(
                400,
                "InvalidRequest",
                'Send a JSON object: {"hubUrl": "http://..."} '
                "(an empty string goes back to the configured hub).",
            )
            return
        try:
            self.workbench.use_hub(url)
        except WorkbenchError as exc:
            self.fail(exc.status, exc.code, exc.message)
            return
        self.finish(json.dumps(self.workbench.status()))


class DeepLinkHandler(WorkbenchHandler):
    """``/lab/workbench/{type}/{ns}/{name}[/pr/N]`` (routed ahead of JupyterLab's rules by
    the app) and ``/workbench/open/...``: a colleague's link to a repo page or a pull request.
    It becomes ``/lab?workbench-open=...``, which the lab extension opens."""

    @tornado.web.authenticated
    async def get(self, target: str) -> None:
        lab = self.base_url.rstrip("/") + "/lab"
        self.redirect(f"{lab}?{urlencode({'workbench-open': target.strip('/')})}")


def handlers() -> list[tuple[str, type[APIHandler]]]:
    # ExtensionApp prefixes these with the server's base_url.
    return [
        (r"/workbench/evals", EvalsHandler),
        (r"/workbench/evals/([0-9a-f]+)", EvalRunHandler),
        (r"/workbench/publish", PublishHandler),
        (r"/workbench/publish/([0-9a-f]+)", PublishTaskHandler),
        (r"/workbench/status", StatusHandler),
        (r"/workbench/connection", ConnectionHandler),
        (r"/workbench/hub/(.*)", HubProxyHandler),
        (r"/workbench/tokens(?:/([0-9]+))?", TokensHandler),
        (r"/workbench/open/(.+)", DeepLinkHandler),
    ]
