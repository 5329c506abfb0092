"""nginx in front of several hub processes, configured as docs/deploy.md tells operators.

The ``nginx`` block of docs/deploy.md is the configuration: :func:`deploy_config` reads it
from the page and changes only what cannot be the same here (the upstream servers become
the hubs' loopback ports, ``listen 443 ssl`` and the certificate lines become one plain
loopback ``listen``, the access log goes to the temporary folder), so the page and the tests
cannot drift apart. nginx runs in the foreground (``daemon off``) with its own pid file,
temporary paths and logs in a temporary folder, and stops at exit.

>>> proxy = Nginx([hub.url for hub in hubs]).start()      # doctest: +SKIP
>>> httpx.get(f"{proxy.url}/api/health")                   # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.hub import free_port

__all__ = ["DEPLOY_DOC", "Nginx", "deploy_config", "find_nginx"]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
_INSTALL_HINT = "run scripts/ensure-nginx.sh (or `make test`, which runs it)"
_FENCE = re.compile(r"^```nginx\n(.*?)^```", re.S | re.M)
_UPSTREAM_SERVER = re.compile(r"^(\s*)server\s+[^\s;]+:\d+;\n", re.M)
_LISTEN = re.compile(r"^(\s*)listen\s+[^;]*;\n", re.M)
_TLS = re.compile(r"^\s*ssl_\w+\s+[^;]*;\n", re.M)
_ACCESS_LOG = re.compile(r"^(\s*)access_log\s+\S+(\s+\w+)?;", re.M)


def find_nginx() -> Path:
    """The nginx binary (Debian's package), or RuntimeError with a hint."""
    for candidate in (os.environ.get("WORKBENCH_NGINX"), "/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise RuntimeError(f"nginx not found; {_INSTALL_HINT}")


def doc_block(doc: Path = DEPLOY_DOC) -> str:
    """The one ```nginx block of docs/deploy.md."""
    blocks = _FENCE.findall(doc.read_text())
    if len(blocks) != 1:
        raise ValueError(f"{doc} must hold exactly one ```nginx block, found {len(blocks)}")
    return str(blocks[0])


def deploy_config(upstreams: list[str], *, port: int, logs: Path, doc: Path = DEPLOY_DOC) -> str:
    """The block of docs/deploy.md for ``upstreams`` (hub URLs), listening on loopback ``port``.

    >>> deploy_config(["http://127.0.0.1:8001"], port=8080, logs=Path("/tmp/x"))  # doctest: +SKIP
    """
    text = doc_block(doc)
    servers = _UPSTREAM_SERVER.findall(text)
    if not servers:
        raise ValueError("the nginx block has no upstream servers")
    indent = servers[0]
    hosts = "".join(f"{indent}server {urlsplit(u).netloc};\n" for u in upstreams)
    first = True

    def upstream(match: re.Match[str]) -> str:
        nonlocal first
        out, first = (hosts if first else ""), False
        return out

    text = _UPSTREAM_SERVER.sub(upstream, text)
    text, listens = _LISTEN.subn(lambda m: f"{m.group(1)}listen 127.0.0.1:{port};\n", text, count=1)
    text = _TLS.sub("", text)
    log = logs / "access.log"
    text, logs_set = _ACCESS_LOG.subn(lambda m: f"{m.group(1)}access_log {log}{m.group(2) or ''};", text)
    if not (listens and logs_set):
        raise ValueError("the nginx block needs a `listen` and an `access_log` line")
    return text


def _main_config(tmp: Path, site: Path, *, as_root: bool) -> str:
    """nginx.conf around the site: everything nginx writes stays in ``tmp``."""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Workers run as `nobody` when the master is root; they could not write the temporary folder.
    user = "user root;\n" if as_root else ""
    return (
        f"{user}daemon off;\n"
        "worker_processes 2;\n"
        f"pid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"{temp_paths}\n"
        f"    access_log {tmp / 'default-access.log'};\n"
        f"    include {site};\n"
        "}\n"
    )


class Nginx:
    """``start()`` nginx in front of ``upstreams`` on a free loopback port, then ``stop()``."""

    def __init__(self, upstreams: list[str], *, port: int | None = None) -> None:
        self.upstreams = list(upstreams)
        self.port = port or free_port()
        self.dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        assert self.dir is not None, "nginx not started"
        return self.dir / "access.log"

    def log_tail(self) -> str:
        assert self.dir is not None, "nginx not started"
        logs = [self.dir / "error.log", self.dir / "out.log"]
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())

    def start(self, timeout: float = 15) -> Nginx:
        if self.proc is not None:
            raise RuntimeError("nginx already started")
        binary = find_nginx()
        self.dir = Path(tempfile.mkdtemp(prefix="workbench-nginx-"))
        site = self.dir / "workbench.conf"
        site.write_text(deploy_config(self.upstreams, port=self.port, logs=self.dir))
        conf = self.dir / "nginx.conf"
        conf.write_text(_main_config(self.dir, site, as_root=os.geteuid() == 0))
        cmd = [str(binary), "-p", str(self.dir), "-c", str(conf), "-e", str(self.dir / "error.log")]
        check = subprocess.run([*cmd, "-t", "-q"], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"nginx rejected the configuration:\n{check.stderr}\n{site.read_text()}")
        with open(self.dir / "out.log", "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        atexit.register(self.stop)  # a test run that dies leaves no nginx behind
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                httpx.get(f"{self.url}/api/health", timeout=1)
                return self
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not start:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop nginx (SIGTERM: fast shutdown) and remove its folder. Idempotent."""
        atexit.unregister(self.stop)
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
