"""Engine creation and schema migrations (Alembic) for the metadata store.

SQLite runs in WAL mode with a busy timeout so several hub processes can share one file;
PostgreSQL is used as is. ``open_database`` upgrades the schema to the newest revision.

>>> engine = open_database("sqlite:////tmp/wb/hub.sqlite")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    # Take the write lock at BEGIN so that read-then-write transactions never deadlock
    # into "database is locked" halfway through; other writers wait on busy_timeout.
    write = conn.get_execution_options().get("wb_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=20
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_tx(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=30)
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


#: A pooled PostgreSQL connection unused for longer than this is pinged before it is handed
#: out (a database restarted meanwhile has closed it). Under load connections come back
#: within milliseconds: a ping per checkout (``pool_pre_ping``) was a round trip for every
#: session, two per authenticated request. A connection that breaks within this time
#: fails its statement instead, which is answered like a database outage (a 503 with
#: Retry-After) and makes the pool replace every connection it holds.
PING_AFTER_IDLE = 1.0


def _checked_in(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
    since = record.info.get("checked_in")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE:
        return  # a new connection, or one in use a moment ago
    try:
        with dbapi_connection.cursor() as cur:
            cur.execute("SELECT 1")
        dbapi_connection.rollback()  # no transaction left open by the ping
    except Exception as exc:
        # The pool drops this connection and checks out another (SQLAlchemy's recipe for
        # pessimistic disconnect handling).
        raise DisconnectionError(f"stale pooled connection: {exc}") from exc


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_database(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


def session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions for reads, or (``write=True``) sessions that take SQLite's write lock up front."""
    bind = engine.execution_options(wb_write=True) if write else engine
    return sessionmaker(bind, expire_on_commit=False)
