"""A throwaway PostgreSQL server for the test suite.

The server runs from the system's PostgreSQL binaries (installed by
``scripts/ensure-postgres.sh``) in a temporary data directory, listens on a free
loopback TCP port with ``trust`` authentication, and is removed on ``stop()``.
Durability is switched off for speed; nothing here is meant for real data.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

__all__ = ["PostgresServer", "create_database", "find_bindir"]

_PG_ROOT = Path("/usr/lib/postgresql")
_SYSTEM_USER = "postgres"  # initdb/postgres refuse to run as root
_BINDIR_ENV = "WORKBENCH_PG_BINDIR"
_INSTALL_HINT = "run scripts/ensure-postgres.sh (or `make test`, which runs it)"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_START_ATTEMPTS = 3

_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
}


def find_bindir() -> Path:
    """Return the newest PostgreSQL bin dir, or raise RuntimeError with a hint.

    ``$WORKBENCH_PG_BINDIR`` overrides the search of ``/usr/lib/postgresql/*/bin``.
    """
    override = os.environ.get(_BINDIR_ENV)
    candidates = [Path(override)] if override else _debian_bindirs()
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    where = override or f"{_PG_ROOT}/*/bin"
    raise RuntimeError(f"PostgreSQL server binaries not found in {where}; {_INSTALL_HINT}")


def _debian_bindirs() -> list[Path]:
    """``/usr/lib/postgresql/<major>/bin`` dirs, newest major version first."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)

    return sorted(_PG_ROOT.glob("*/bin"), key=version, reverse=True)


def _free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A temporary PostgreSQL cluster: ``start()``, use ``url``, then ``stop()``."""

    def __init__(
        self, *, user: str = "workbench", dbname: str = "workbench", bindir: Path | None = None
    ) -> None:
        self.user = user
        self.dbname = dbname
        self.host = "127.0.0.1"
        self.port = 0
        self._bindir = bindir
        self._tmpdir: Path | None = None
        self._as_system_user = os.geteuid() == 0

    # -- public API -------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server's default database."""
        return self.url_for(self.dbname)

    @property
    def running(self) -> bool:
        """Whether ``start()`` succeeded and ``stop()`` has not been called."""
        return self._tmpdir is not None and self.port != 0

    @property
    def pid(self) -> int:
        """The server process (postmaster): the first line of ``postmaster.pid``."""
        with open(self._datadir(self._dir) / "postmaster.pid") as f:
            return int(f.readline())

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL (``postgresql+psycopg://...``) of database ``dbname``."""
        if not self.running:
            raise RuntimeError("PostgresServer is not running; call start() first")
        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            host=self.host,
            port=self.port,
            database=dbname,
        ).render_as_string(hide_password=False)

    def start(self) -> None:
        """Create the cluster, start the server and create the default database."""
        if self._tmpdir is not None:
            raise RuntimeError("PostgresServer already started")
        bindir = self._bindir or find_bindir()
        self._bindir = bindir
        # Under /tmp (world-traversable) so the postgres system user can reach it,
        # and short enough for the unix socket path limit.
        self._tmpdir = Path(tempfile.mkdtemp(prefix="workbench-pg-", dir="/tmp"))
        atexit.register(self.stop)
        try:
            self._initdb()
            self._write_config()
            self._start_server()
            create_database(self, self.dbname)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its data directory. Idempotent."""
        tmpdir, self._tmpdir = self._tmpdir, None
        atexit.unregister(self.stop)
        if tmpdir is None:
            return
        try:
            if (self._datadir(tmpdir) / "postmaster.pid").exists():
                datadir = str(self._datadir(tmpdir))
                for mode in ("fast", "immediate"):
                    stop_cmd = ["pg_ctl", "stop", "-D", datadir, "-m", mode, "-w", "-t", "60"]
                    result = self._run(stop_cmd, tmpdir, check=False)
                    if result.returncode == 0:
                        break
        finally:
            self.port = 0
            shutil.rmtree(tmpdir, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server process but keep its data and port, as in a database restart."""
        datadir = str(self._datadir(self._dir))
        self._run(["pg_ctl", "stop", "-D", datadir, "-m", "fast", "-w", "-t", "60"], self._dir)

    def resume(self) -> None:
        """Start the paused server again on the same port."""
        datadir = str(self._datadir(self._dir))
        log = str(self._dir / "postgres.log")
        self._run(
            ["pg_ctl", "start", "-w", "-t", "60", "-D", datadir, "-l", log, "-o", f"-p {self.port}"],
            self._dir,
        )

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals --------------------------------------------------------

    @staticmethod
    def _datadir(tmpdir: Path) -> Path:
        return tmpdir / "data"

    @property
    def _dir(self) -> Path:
        assert self._tmpdir is not None, "server not started"
        return self._tmpdir

    def _run(self, argv: Sequence[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary, as the postgres system user when we are root."""
        assert self._bindir is not None
        cmd = [str(self._bindir / argv[0]), *argv[1:]]
        if self._as_system_user:
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root needs `runuser` to start PostgreSQL as 'postgres'")
            cmd = ["runuser", "-u", _SYSTEM_USER, "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_MESSAGES"] = "C"
        result = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            output = result.stdout + result.stderr
            raise RuntimeError(f"{' '.join(cmd)} failed (exit {result.returncode}):\n{output}")
        return result

    def _initdb(self) -> None:
        if self._as_system_user:
            try:
                shutil.chown(self._dir, user=_SYSTEM_USER)
            except LookupError as exc:
                raise RuntimeError(
                    f"running as root needs the '{_SYSTEM_USER}' system user; {_INSTALL_HINT}"
                ) from exc
        base = ["initdb", "-D", str(self._datadir(self._dir)), "-A", "trust", "-U", self.user]
        base += ["--encoding=UTF8", "--no-sync"]
        try:
            self._run([*base, "--locale=C.UTF-8"], self._dir)
        except RuntimeError:
            shutil.rmtree(self._datadir(self._dir), ignore_errors=True)
            self._run([*base, "--no-locale"], self._dir)

    def _write_config(self) -> None:
        settings = dict(_SETTINGS, unix_socket_directories=f"'{self._dir}'")
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        with open(self._datadir(self._dir) / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# workbench test settings\n" + lines)

    def _start_server(self) -> None:
        log = self._dir / "postgres.log"
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = _free_port()
            log.unlink(missing_ok=True)
            datadir = str(self._datadir(self._dir))
            start_cmd = ["pg_ctl", "start", "-w", "-t", "60", "-D", datadir, "-l", str(log)]
            result = self._run([*start_cmd, "-o", f"-p {self.port}"], self._dir, check=False)
            if result.returncode == 0:
                return
            log_text = log.read_text(errors="replace") if log.exists() else ""
            self.port = 0
            if "already in use" in log_text and attempt < _START_ATTEMPTS:
                time.sleep(0.2)
                continue
            raise RuntimeError(
                f"pg_ctl start failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n--- server log ---\n{log_text[-4000:]}"
            )


def create_database(server: PostgresServer, name: str) -> str:
    """Create a fresh, empty database ``name`` on ``server`` and return its URL."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"invalid database name {name!r} (use [A-Za-z_][A-Za-z0-9_]*, max 63)")
    url = server.url_for(name)  # raises if the server is not running
    maintenance_db = "postgres" if name == server.dbname else server.dbname
    with psycopg.connect(
        host=server.host, port=server.port, user=server.user, dbname=maintenance_db, autocommit=True
    ) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url
