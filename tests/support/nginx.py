"""nginx in front of several hub processes, configured as docs/deploy.md tells operators.

The ``nginx`` block of docs/deploy.md is the configuration: :func:`deploy_config` reads it
from the page and changes only what cannot be the same here (the upstream servers become
the hubs' loopback ports, ``listen 443 ssl`` a loopback port, over TLS with a certificate
made for the test or plain without the certificate lines, the access log goes to the
temporary folder), so the page and the tests cannot drift apart. nginx runs in the
foreground (``daemon off``) with its own pid file, temporary paths and logs in a temporary
folder, and stops at exit.

>>> proxy = Nginx([hub.url for hub in hubs]).start()      # doctest: +SKIP
>>> httpx.get(f"{proxy.url}/api/health")                   # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.hub import free_port

__all__ = ["DEPLOY_DOC", "Nginx", "TlsFiles", "deploy_config", "find_nginx"]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
_INSTALL_HINT = "run scripts/ensure-nginx.sh (or `make test`, which runs it)"
_FENCE = re.compile(r"^```nginx\n(.*?)^```", re.S | re.M)
_UPSTREAM_SERVER = re.compile(r"^(\s*)server\s+[^\s;]+:\d+;\n", re.M)
_LISTEN = re.compile(r"^(\s*)listen\s+[^;]*;\n", re.M)
_TLS = re.compile(r"^\s*ssl_\w+\s+[^;]*;\n", re.M)
_CERT = re.compile(r"^(\s*)(ssl_certificate)\s+[^;]*;", re.M)
_KEY = re.compile(r"^(\s*)(ssl_certificate_key)\s+[^;]*;", re.M)
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


def deploy_config(
    upstreams: list[str], *, port: int, logs: Path, doc: Path = DEPLOY_DOC, tls: TlsFiles | None = None
) -> str:
    """The block of docs/deploy.md for ``upstreams`` (hub URLs), listening on loopback ``port``;
    with ``tls``, over HTTPS with that certificate (the page's own ``ssl`` lines), else plain.

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
    ssl = " ssl" if tls else ""
    text, listens = _LISTEN.subn(lambda m: f"{m.group(1)}listen 127.0.0.1:{port}{ssl};\n", text, count=1)
    if tls is None:
        text = _TLS.sub("", text)
    else:
        text, certs = _CERT.subn(lambda m: f"{m.group(1)}{m.group(2)} {tls.cert};", text)
        text, keys = _KEY.subn(lambda m: f"{m.group(1)}{m.group(2)} {tls.key};", text)
        if not (certs and keys):
            raise ValueError("the nginx block needs `ssl_certificate` and `ssl_certificate_key` lines")
    log = logs / "access.log"
    text, logs_set = _ACCESS_LOG.subn(lambda m: f"{m.group(1)}access_log {log}{m.group(2) or ''};", text)
    if not (listens and logs_set):
        raise ValueError("the nginx block needs a `listen` and an `access_log` line")
    return text


@dataclass(frozen=True)
class TlsFiles:
    """A certificate for 127.0.0.1 signed by a CA made for the test, and its key; clients
    trust ``ca`` (``SSL_CERT_FILE``)."""

    ca: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA (for httpx's ``verify``)."""
        return ssl.create_default_context(cafile=str(self.ca))

    @classmethod
    def make(cls, folder: Path) -> TlsFiles:
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.UTC)

        def build(
            subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name
        ) -> x509.CertificateBuilder:
            return (
                x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                .issuer_name(issuer)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
            )

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Workbench test CA")])
        ca = (
            build("Workbench test CA", ca_key, ca_name)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            build("127.0.0.1", key, ca_name)
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        folder.mkdir(parents=True, exist_ok=True)
        files = cls(folder / "ca.crt", folder / "hub.crt", folder / "hub.key")
        files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        files.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        files.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return files


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

    def __init__(self, upstreams: list[str], *, port: int | None = None, tls: TlsFiles | None = None) -> None:
        self.upstreams = list(upstreams)
        self.port = port or free_port()
        self.tls = tls
        self.dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

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
        site.write_text(deploy_config(self.upstreams, port=self.port, logs=self.dir, tls=self.tls))
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
                httpx.get(
                    f"{self.url}/api/health", timeout=1, verify=self.tls.context() if self.tls else True
                )
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
