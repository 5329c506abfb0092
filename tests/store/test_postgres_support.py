"""The test-support PostgreSQL server is real and usable through SQLAlchemy."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text


@pytest.mark.postgres
def test_postgres_url_is_a_real_empty_database(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://workbench@127.0.0.1:")
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            assert "PostgreSQL" in conn.execute(text("SELECT version()")).scalar_one()
            tables = conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar_one()
            assert tables == 0
            conn.execute(text("CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL)"))
            conn.execute(text("INSERT INTO item (name) VALUES (:name)"), {"name": "héllo"})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM item")).scalars().all() == ["héllo"]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_each_test_gets_its_own_database(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('public.item')")).scalar_one() is None
    finally:
        engine.dispose()
