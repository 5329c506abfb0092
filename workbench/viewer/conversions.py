"""Which Parquet conversion the viewer shows, and where the conversion of a dataset stands.

A conversion is one commit on the dataset's ``refs/convert/parquet`` ref (or an older one,
found through the job of the commit it converted); its ``.viewer.json`` lists configs,
splits, row counts and sizes. Conversions never change, so they are cached by commit.

>>> conv = find_conversion(store, session, repo, None)      # doctest: +SKIP
>>> conv.split("default", "train").num_rows                  # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest, NotFound, WorkbenchError
from workbench.store import models as m
from workbench.store.jobs import JobContext
from workbench.store.refs import get_ref, resolve_revision
from workbench.store.store import Store
from workbench.viewer.convert import INFO_FILE, REF_KIND, REF_NAME

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe least-recently-used map."""

    def __init__(self, capacity: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class Shard:
    path: str  # in the Parquet tree
    sha256: str
    size: int


@dataclass(frozen=True)
class SplitInfo:
    config: str
    split: str
    num_rows: int
    num_columns: int
    num_bytes_parquet_files: int
    num_bytes_memory: int
    num_bytes_original_files: int
    shards: tuple[Shard, ...]


@dataclass(frozen=True)
class Conversion:
    """One Parquet commit: its configs and splits, as ``.viewer.json`` describes them."""

    commit: str
    source_commit: str
    default_config: str
    formats: dict[str, str]
    configs: dict[str, dict[str, SplitInfo]]

    def config(self, config: str | None) -> dict[str, SplitInfo]:
        name = config or self.default_config
        splits = self.configs.get(name)
        if splits is None:
            raise NotFound(
                f"Config {name!r} not found; the configs are: {', '.join(self.configs)}.",
                code="ConfigNotFound",
            )
        return splits

    def split(self, config: str | None, split: str | None) -> SplitInfo:
        name = config or self.default_config
        splits = self.config(name)
        if not split:
            raise InvalidRequest(f"Give a split: one of {', '.join(splits)}.", code="MissingParameter")
        info = splits.get(split)
        if info is None:
            raise NotFound(
                f"Split {split!r} not found in config {name!r}; the splits are: {', '.join(splits)}.",
                code="SplitNotFound",
            )
        return info


_conversions: LRU[str, Conversion] = LRU(128)


def _load_conversion(store: Store, session: Session, commit_oid: str) -> Conversion:
    cached = _conversions.get(commit_oid)
    if cached is not None:
        return cached
    commit = session.get(m.Commit, commit_oid)
    tree = store.load_tree(session, commit.tree_hash) if commit is not None else None
    entry = tree.get(INFO_FILE) if tree is not None else None
    if tree is None or entry is None:
        raise NotFound(f"Commit {commit_oid} is not a Parquet conversion.", code="ConversionNotFound")
    info = json.loads(store.blobs.read(entry.sha256))
    configs: dict[str, dict[str, SplitInfo]] = {}
    default = None
    for c in info["configs"]:
        if c.get("default") and default is None:
            default = c["config"]
        splits = {}
        for sp in c["splits"]:
            shards = []
            for path in sp["parquet_files"]:
                e = tree.get(path)
                if e is not None:
                    shards.append(Shard(path, e.sha256, e.size))
            splits[sp["split"]] = SplitInfo(
                c["config"],
                sp["split"],
                sp["num_rows"],
                sp["num_columns"],
                sp["num_bytes_parquet_files"],
                sp["num_bytes_memory"],
                sp["num_bytes_original_files"],
                tuple(shards),
            )
        configs[c["config"]] = splits
    conv = Conversion(
        commit_oid,
        info["source_commit"],
        default or next(iter(configs)),
        {c["config"]: c["format"] for c in info["configs"]},
        configs,
    )
    return _conversions.put(commit_oid, conv)


def conversion_by_commit(store: Store, session: Session, repo: m.Repo, oid: str) -> Conversion:
    """The conversion committed as ``oid`` in ``repo`` (asset URLs name it)."""
    commit = session.get(m.Commit, oid)
    if commit is None or commit.repo_id != repo.id:
        raise NotFound(f"Commit {oid} not found.", code="ConversionNotFound")
    return _load_conversion(store, session, oid)


def job_conversion(ctx: JobContext, session: Session) -> tuple[m.Repo, Conversion, bool] | None:
    """For a job on a Parquet commit (``statistics``, ``search``): its repo, the conversion, and
    whether a newer job of its kind superseded it; None when the repo is gone."""
    repo = session.get(m.Repo, ctx.job.repo_id)
    if repo is None:
        return None
    return repo, conversion_by_commit(ctx.store, session, repo, ctx.job.commit), ctx.superseded(session)


def _not_ready(job: m.Job | None, commit: str) -> WorkbenchError:
    if job is None:
        return NotFound(
            f"Commit {commit} has no Parquet conversion: the viewer converts the "
            "commits made to `main` of dataset repos.",
            code="ConversionNotFound",
        )
    if job.status == "failed":
        return Conflict(
            f"The conversion of commit {commit} to Parquet failed: {job.error}", code="ConversionFailed"
        )
    if job.status == "skipped":
        return NotFound(f"Commit {commit} was not converted: {job.error}", code="ConversionNotFound")
    return Conflict(
        f"Commit {commit} is being converted to Parquet ({job.status}); try again "
        "in a moment (`/viewer/status` tells when it is done).",
        code="ViewerNotReady",
    )


def find_conversion(store: Store, session: Session, repo: m.Repo, revision: str | None = None) -> Conversion:
    """The conversion the viewer shows: the ref's, or that of commit ``revision``."""
    if revision:
        resolved = resolve_revision(session, repo, revision)
        if resolved.kind == REF_KIND:
            return _load_conversion(store, session, resolved.oid)
        job = session.scalar(
            select(m.Job).where(
                m.Job.repo_id == repo.id, m.Job.kind == "parquet", m.Job.commit == resolved.oid
            )
        )
        if job is not None and job.status == "done" and job.result:
            return _load_conversion(store, session, job.result)
        raise _not_ready(job, resolved.oid)
    ref = get_ref(session, repo, REF_KIND, REF_NAME)
    if ref is not None:
        return _load_conversion(store, session, ref.commit_oid)
    head = resolve_revision(session, repo, "main").oid
    job = session.scalar(
        select(m.Job)
        .where(m.Job.repo_id == repo.id, m.Job.kind == "parquet")
        .order_by(m.Job.id.desc())
        .limit(1)
    )
    raise _not_ready(job, job.commit if job is not None else head)


def viewer_status(session: Session, repo: m.Repo) -> dict[str, Any]:
    """Where the conversion of ``main``'s head stands, and which commit the viewer shows."""
    head = resolve_revision(session, repo, "main").oid
    job = session.scalar(
        select(m.Job).where(m.Job.repo_id == repo.id, m.Job.kind == "parquet", m.Job.commit == head)
    )
    ref = get_ref(session, repo, REF_KIND, REF_NAME)
    shown = None
    if ref is not None:
        source = session.scalar(
            select(m.Job.commit)
            .where(m.Job.repo_id == repo.id, m.Job.kind == "parquet", m.Job.result == ref.commit_oid)
            .order_by(m.Job.id.desc())
            .limit(1)
        )
        later = {
            kind: status
            for kind, status in session.execute(
                select(m.Job.kind, m.Job.status).where(
                    m.Job.repo_id == repo.id,
                    m.Job.kind.in_(("statistics", "search")),
                    m.Job.commit == ref.commit_oid,
                )
            )
        }
        shown = {
            "commit": ref.commit_oid,
            "source_commit": source,
            "stale": source != head,
            "statistics": later.get("statistics", "none"),
            "search": later.get("search", "none"),
        }
    return {
        "dataset": f"{repo.namespace}/{repo.name}",
        "commit": head,
        "status": job.status if job is not None else "none",
        "error": job.error if job is not None else None,
        "attempts": job.attempts if job is not None else 0,
        "updated_at": job.updated_at.isoformat() + "Z" if job is not None else None,
        "parquet": shown,
    }
