"""Pytest fixtures for a real PostgreSQL server.

Load with ``pytest_plugins = ["tests.support.pg_fixtures"]`` in ``tests/conftest.py``
(or ``pytest -p tests.support.pg_fixtures``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, create_database


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole test session."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """URL of a fresh, empty database created for this test only."""
    stem = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower()).strip("_")[:40]
    return create_database(postgres_server, f"t_{stem}_{uuid.uuid4().hex[:12]}")
