"""The hub that the server extension starts when no hub is configured.

A ``python -m workbench hub serve`` child process on a free loopback port, with its own data
folder. The token the extension uses is created here, straight in the store, and kept in the
data folder (mode 0600) so restarts reuse it instead of piling up tokens.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

TOKEN_FILE = "jupyter-token"
PR_SET_PDEATHSIG = 1


def free_port(avoid: frozenset[int] = frozenset()) -> int:
    """A loopback port free now, other than those in ``avoid``: the Jupyter server loads its
    extensions before it binds its own port, so the system may offer that very port."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


def ensure_token(
    data_dir: Path, *, url: str | None = None, write_user_config: bool = False, admin_user: str = "admin"
) -> str:
    """The admin token this Jupyter server uses on its embedded hub (created once).

    On a new hub this also creates the admin user and, with ``write_user_config``, saves its
    token for ``url`` in the user config file, as a hub's first start does.
    """
    from sqlalchemy import select

    from workbench.config import HubSettings
    from workbench.errors import AuthenticationError
    from workbench.hub.bootstrap import ensure_admin
    from workbench.store import models as m
    from workbench.store.accounts import authenticate, create_token
    from workbench.store.store import Store

    data_dir.mkdir(parents=True, exist_ok=True)
    options: dict[str, object] = {
        "data_dir": data_dir,
        "admin_user": admin_user,
        "write_user_config": write_user_config,
    }
    settings = HubSettings(**options)  # type: ignore[arg-type]
    store = Store.open(settings)
    try:
        ensure_admin(store, settings, url=url)
        path = data_dir / TOKEN_FILE
        if path.exists():
            token = path.read_text().strip()
            with store.read() as s, contextlib.suppress(AuthenticationError):
                authenticate(s, token)
                return token
        with store.write() as s:
            admin = s.scalars(
                select(m.Account)
                .where(m.Account.kind == "user", m.Account.is_admin.is_(True))
                .order_by(m.Account.id)
                .limit(1)
            ).first()
            if admin is None:
                raise RuntimeError(f"no admin user in the hub at {data_dir}")
            token = create_token(s, admin, "jupyter-server", scope="write")
    finally:
        store.close()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return token


def _die_with_parent() -> None:
    # If the Jupyter server is killed outright, the kernel stops the hub too (Linux only).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedHub:
    """A hub child process: ``start`` waits until it answers, ``stop`` ends it."""

    def __init__(self, data_dir: Path, *, port: int = 0, log_path: Path | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or data_dir / "hub.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60.0) -> None:
        env = {
            **os.environ,
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_UPDATE_DOWNLOAD_COUNTS": "0",
            "WORKBENCH_WRITE_USER_CONFIG": "false",
        }
        env.pop("WORKBENCH_TOKEN", None)
        cmd = [
            sys.executable,
            "-m",
            "workbench",
            "hub",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data",
            str(self.data_dir),
        ]
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the embedded hub exited with {self.proc.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    log.info("embedded Workbench hub on %s (data: %s)", self.url, self.data_dir)
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the embedded hub did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.info("embedded Workbench hub stopped")
