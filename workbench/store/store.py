"""The metadata store and blob store of one hub, and the sessions that use them.

>>> store = Store.open(HubSettings(data_dir="/tmp/wb"))   # doctest: +SKIP
>>> with store.read() as s: ...                            # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from workbench.config import HubSettings
from workbench.errors import RepoNotFound
from workbench.store import models as m
from workbench.store.blobs import BlobStore
from workbench.store.db import open_database, session_factory
from workbench.store.trees import Tree, TreeCache, parse_tree


def utcnow() -> datetime:
    """Naive UTC timestamps everywhere in the database (both backends store them alike)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    def __init__(self, engine: Engine, blobs: BlobStore, *, data_dir: Path) -> None:
        self.engine = engine
        self.blobs = blobs
        self.data_dir = data_dir
        self._read = session_factory(engine)
        self._write = session_factory(engine, write=True)
        self.trees = TreeCache()

    @classmethod
    def open(cls, settings: HubSettings) -> Store:
        data_dir = Path(settings.data_dir).absolute()
        data_dir.mkdir(parents=True, exist_ok=True)
        engine = open_database(settings.resolved_database_url())
        return cls(engine, BlobStore.for_hub(settings), data_dir=data_dir)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error."""
        with self._write() as session, session.begin():
            yield session

    # -- lookups shared by the services ---------------------------------------------------
    def load_tree(self, session: Session, tree_hash: str) -> Tree:
        tree = self.trees.get(tree_hash)
        if tree is None:
            row = session.get(m.Tree, tree_hash)
            if row is None:
                raise LookupError(f"tree {tree_hash} missing")
            tree = parse_tree(row.hash, row.entries)
            self.trees.put(tree)
        return tree

    def main_tree(self, session: Session, repo: m.Repo) -> Tree | None:
        """The tree at the head of ``repo``'s ``main`` branch, or None when it has none."""
        oid = session.scalar(
            select(m.Ref.commit_oid).where(
                m.Ref.repo_id == repo.id, m.Ref.kind == "branch", m.Ref.name == "main"
            )
        )
        commit = session.get(m.Commit, oid) if oid else None
        return self.load_tree(session, commit.tree_hash) if commit is not None else None

    def get_repo(self, session: Session, repo_type: str, namespace: str, name: str) -> m.Repo:
        """The repo of that type and id; ids match whatever their case, and a moved repo
        answers to its old ids too (``move_repo``), as on the public hub. No two repos of a
        type differ only in case: ``create_repo`` refuses it."""
        repo = session.scalar(
            select(m.Repo).where(m.Repo.type == repo_type, m.Repo.namespace == namespace, m.Repo.name == name)
        )
        if repo is None:
            repo = session.scalar(
                select(m.Repo).where(
                    m.Repo.type == repo_type,
                    func.lower(m.Repo.namespace) == namespace.lower(),
                    func.lower(m.Repo.name) == name.lower(),
                )
            )
        if repo is None:  # an id the repo had before it moved
            repo = session.scalar(
                select(m.Repo)
                .join(m.RepoRedirect, m.RepoRedirect.repo_id == m.Repo.id)
                .where(
                    m.RepoRedirect.type == repo_type,
                    func.lower(m.RepoRedirect.namespace) == namespace.lower(),
                    func.lower(m.RepoRedirect.name) == name.lower(),
                )
            )
        if repo is None:
            raise RepoNotFound(
                f"Repository {namespace}/{name} ({repo_type}) not found. Check the "
                "name and type, and that your token may read it."
            )
        return repo


def insert_missing(session: Session, model: type[m.Base], **values: object) -> None:
    """INSERT the row unless its primary key exists (``ON CONFLICT DO NOTHING``).

    For content-addressed rows (blobs, trees) that concurrent transactions may both add: a
    get-then-add would fail the second one with a unique violation on PostgreSQL.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:
        if session.get(model, tuple(values[c.name] for c in model.__table__.primary_key)) is None:
            session.add(model(**values))
        return
    session.execute(insert(model).values(**values).on_conflict_do_nothing())


def retry_delays(attempts: int = 10) -> Iterator[float]:
    for i in range(attempts):
        yield min(0.01 * 2**i, 0.5)


def sleep(seconds: float) -> None:
    time.sleep(seconds)
