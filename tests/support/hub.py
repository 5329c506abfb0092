"""A real hub process on a free loopback port, for tests.

>>> hub = HubProcess(tmp_path).start()     # doctest: +SKIP
>>> hub.url, hub.token                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HF_ENV = {"HF_HUB_DISABLE_TELEMETRY": "1", "HF_UPDATE_DOWNLOAD_COUNTS": "0", "DO_NOT_TRACK": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HubProcess:
    """``workbench hub serve`` in a subprocess with its own data folder and config folder."""

    def __init__(
        self,
        root: Path,
        *,
        port: int | None = None,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.data = self.root / "data"
        self.config_home = self.root / "config"
        self.port = port or free_port()
        self.database_url = database_url
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.token: str = ""
        self.log_path = self.root / "hub.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {**os.environ, **HF_ENV, "XDG_CONFIG_HOME": str(self.config_home), **self.extra_env}
        env.pop("WORKBENCH_DATA", None)
        return env

    def start(self, timeout: float = 30) -> HubProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "workbench",
            "hub",
            "serve",
            "--port",
            str(self.port),
            "--data",
            str(self.data),
        ]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc.wait()
                raise RuntimeError(
                    f"hub exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            self.kill()
            raise RuntimeError(f"hub did not start:\n{self.log_path.read_text()[-3000:]}")
        config = self.config_home / "workbench" / "config.json"
        if config.exists():
            self.token = json.loads(config.read_text())["token"]
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cli(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``workbench ARGS`` against this hub (its data folder and config)."""
        env = {**self.env(), "WORKBENCH_DATA": str(self.data), "WORKBENCH_HUB_URL": self.url}
        if self.database_url:
            env["WORKBENCH_DATABASE_URL"] = self.database_url
        return subprocess.run(
            [sys.executable, "-m", "workbench", *args],
            capture_output=True,
            text=True,
            env=env,
            check=check,
            input=input,
            timeout=600,
        )
