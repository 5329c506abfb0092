"""A loopback receiver for webhook deliveries, and reading a webhook's delivery log; the
``hook_hub`` and ``receiver`` fixtures are in ``tests/hub/conftest.py``."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.support.hub import HubProcess

HANG_SECONDS = 3.0


class Receiver:
    """A loopback HTTP server that records each POST; ``plan[path]`` lists the answers to
    give that path in turn (a status, or ``"hang"``), then 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.plan: dict[str, list[int | str]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received.append(
                        {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                    )
                    answers = receiver.plan.get(self.path)
                    answer: int | str = answers.pop(0) if answers else 200
                if answer == "hang":
                    time.sleep(HANG_SECONDS)
                    answer = 200
                try:
                    self.send_response(int(answer))
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the hub gave up on us
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if r["path"] == path]

    def wait(self, path: str, count: int = 1, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{path}: {len(self.at(path))} deliveries, expected {count}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def path() -> str:
    return f"/hook/{secrets.token_hex(4)}"


def deliveries(hub: HubProcess, webhook_id: str, token: str | None = None) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{hub.url}/api/settings/webhooks/{webhook_id}/deliveries",
        headers={"Authorization": f"Bearer {token or hub.token}"},
    )
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def settled(hub: HubProcess, webhook_id: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
    """The log once ``count`` deliveries have finished (succeeded or failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = deliveries(hub, webhook_id)
        if sum(d["status"] in ("succeeded", "failed") for d in log) >= count:
            return log
        time.sleep(0.1)
    raise AssertionError(f"not settled: {deliveries(hub, webhook_id)}")
