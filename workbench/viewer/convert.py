"""Conversion of a dataset commit to Parquet, published as the ``refs/convert/parquet`` ref.

Each config and split (as ``datasets`` detects them, see :mod:`workbench.viewer.layout`)
becomes ``{config}/{split}/0000.parquet`` (written by :mod:`workbench.viewer.sources`) in a
commit of the dataset repo that the ref points at, as on the public hub. The tree also holds
a ``README.md`` whose ``configs:`` block maps splits to files (so ``load_dataset(repo,
revision="refs/convert/parquet")`` finds every config and split) and ``.viewer.json``, the
sizes and row counts the viewer serves.

>>> run_conversion(JobContext(store, settings, job, "worker-1"))   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from workbench.store import jobs
from workbench.store import models as m
from workbench.store.blobs import BlobInfo
from workbench.store.commits import commit_oid
from workbench.store.jobs import JobContext
from workbench.store.readme import card_at
from workbench.store.refs import create_ref, get_ref
from workbench.store.repos import GITATTRIBUTES
from workbench.store.store import Store, insert_missing, utcnow
from workbench.store.trees import Tree, TreeEntry
from workbench.viewer.layout import ConfigLayout, LayoutError, SplitLayout, plan_layout
from workbench.viewer.sources import ConversionError, Sources, write_parquet

log = logging.getLogger(__name__)

CONVERTER_VERSION = "1"
REF_KIND, REF_NAME = "convert", "parquet"
INFO_FILE = ".viewer.json"
AUTHOR = "workbench-viewer"


@dataclass(frozen=True)
class SplitResult:
    config: str
    split: str
    path: str  # in the Parquet tree
    blob: BlobInfo
    num_rows: int
    num_columns: int
    num_bytes_memory: int
    num_bytes_original_files: int
    files: tuple[str, ...]


def fingerprint(layout: list[ConfigLayout]) -> str:
    """Same files read the same way give the same Parquet: the conversion can be reused."""
    doc = [CONVERTER_VERSION] + [
        [
            c.name,
            c.default,
            c.module,
            sorted(c.options.items()),
            [[s.split, [[e.path, e.sha256] for e in s.files]] for s in c.splits],
        ]
        for c in layout
    ]
    return hashlib.sha256(json.dumps(doc, default=str).encode()).hexdigest()


def convert_split(
    store: Store, layout: ConfigLayout, split: SplitLayout, tmp: Path, sources: Sources
) -> SplitResult:
    """Write one split to a Parquet blob and return what the viewer needs to know of it."""
    import pyarrow.parquet as pq

    out = Path(tempfile.mkstemp(dir=store.blobs.tmp_dir, prefix="upload-viewer-", suffix=".parquet")[1])
    try:
        out.unlink()  # DuckDB's COPY wants to create it
        write_parquet(layout, split, sources, out, tmp)
        meta = pq.read_metadata(out)
        memory = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        num_rows, num_columns = meta.num_rows, meta.num_columns
        written = time.perf_counter()
        blob = store.blobs.adopt_file(out)  # hash, fsync, rename: as durable as any upload
        log.debug("%s/%s: Parquet stored in %.2f s", layout.name, split.split, time.perf_counter() - written)
    finally:
        out.unlink(missing_ok=True)
    return SplitResult(
        layout.name,
        split.split,
        f"{layout.name}/{split.split}/0000.parquet",
        blob,
        num_rows,
        num_columns,
        memory,
        sum(e.size for e in split.files),
        tuple(e.path for e in split.files),
    )


# -- the Parquet tree and its commit -----------------------------------------------------------


def card_text(repo_id: str, source: str, layout: list[ConfigLayout]) -> str:
    configs = []
    for c in layout:
        entry: dict[str, Any] = {"config_name": c.name}
        if c.default and len(layout) > 1:
            entry["default"] = True
        entry["data_files"] = [{"split": s.split, "path": f"{c.name}/{s.split}/*.parquet"} for s in c.splits]
        configs.append(entry)
    front = yaml.safe_dump({"configs": configs}, sort_keys=False, allow_unicode=True)
    return (
        f"---\n{front}---\n\n# {repo_id}, converted to Parquet\n\nEvery config and split "
        f"of commit `{source}` of `{repo_id}`, converted to Parquet by the Workbench "
        "dataset viewer. Do not commit here: the viewer replaces this ref after each "
        "commit to `main`.\n"
    )


def info_doc(source: str, fp: str, layout: list[ConfigLayout], results: list[SplitResult]) -> dict[str, Any]:
    def split_doc(r: SplitResult) -> dict[str, Any]:
        return {
            "split": r.split,
            "num_rows": r.num_rows,
            "num_columns": r.num_columns,
            "num_bytes_parquet_files": r.blob.size,
            "num_bytes_memory": r.num_bytes_memory,
            "num_bytes_original_files": r.num_bytes_original_files,
            "files": list(r.files),
            "parquet_files": [r.path],
        }

    by_key = {(r.config, r.split): r for r in results}
    return {
        "converter": CONVERTER_VERSION,
        "source_commit": source,
        "fingerprint": fp,
        "configs": [
            {
                "config": c.name,
                "default": c.default,
                "format": c.module,
                "splits": [split_doc(by_key[(c.name, s.split)]) for s in c.splits],
            }
            for c in layout
        ],
    }


def _ensure_blob(session: Any, info: BlobInfo) -> None:
    if session.get(m.Blob, info.sha256) is None:
        insert_missing(
            session, m.Blob, sha256=info.sha256, size=info.size, git_oid=info.git_oid, created_at=utcnow()
        )


def publish(
    ctx: JobContext, entries: list[TreeEntry], blobs: list[BlobInfo], *, title: str, description: str
) -> str:
    """Commit the Parquet tree and move the ref, in the transaction that finishes the job.

    The ref only moves forward: a conversion of an older commit that finishes after a newer
    one's keeps its commit (``revision=`` still finds it) but leaves the ref alone.
    """
    store, job = ctx.store, ctx.job
    tree = Tree.from_entries(entries)
    for attempt in range(3):
        try:
            with store.write() as s:
                repo = s.get(m.Repo, job.repo_id)
                source = s.get(m.Commit, job.commit)
                if repo is None or source is None:
                    ctx.complete(s, result=None, status="skipped", error="The repo or commit was deleted.")
                    return ""
                ref = get_ref(s, repo, REF_KIND, REF_NAME)
                move = True
                if ref is not None:
                    shown = s.scalar(
                        select(m.Job.commit)
                        .where(
                            m.Job.repo_id == repo.id, m.Job.kind == job.kind, m.Job.result == ref.commit_oid
                        )
                        .order_by(m.Job.id.desc())
                        .limit(1)
                    )
                    shown_commit = s.get(m.Commit, shown) if shown else None
                    move = shown_commit is None or shown_commit.depth <= source.depth
                for info in blobs:
                    _ensure_blob(s, info)
                if s.get(m.Tree, tree.hash) is None:
                    insert_missing(s, m.Tree, hash=tree.hash, entries=tree.to_json())
                s.flush()
                now = utcnow()
                parent = s.get(m.Commit, ref.commit_oid) if ref is not None and move else None
                oid = commit_oid(tree.hash, parent.oid if parent else None, AUTHOR, now, title, description)
                s.add(
                    m.Commit(
                        oid=oid,
                        repo_id=repo.id,
                        parent_oid=parent.oid if parent else None,
                        tree_hash=tree.hash,
                        author=AUTHOR,
                        title=title,
                        description=description,
                        created_at=now,
                        depth=parent.depth + 1 if parent else 0,
                    )
                )
                s.flush()
                if ref is None:
                    create_ref(s, repo, REF_KIND, REF_NAME, oid, validate=False)
                elif move:
                    ref.commit_oid, ref.updated_at = oid, now
                # column statistics and full-text indexes next, in the background too
                # (workbench.viewer.statistics, workbench.viewer.searchindex)
                for kind in ("statistics", "search"):
                    jobs.add(s, kind, repo.id, oid)
                ctx.complete(s, result=oid)
                store.trees.put(tree)
                return oid
        except DbIntegrityError:
            # another process created the ref at the same moment (PostgreSQL); look again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


WORKSPACE_PREFIX = "viewer-work-"


def cleanup_workspaces(store: Store, *, older_than: float = 6 * 3600) -> int:
    """Remove work folders that conversions killed mid-way left behind; return how many.

    Younger ones may belong to a conversion running in another process right now.
    """
    cutoff = time.time() - older_than
    n = 0
    for path in store.blobs.tmp_dir.glob(WORKSPACE_PREFIX + "*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                n += 1
        except FileNotFoundError:
            continue
    return n


@contextmanager
def _workspace(store: Store) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(dir=store.blobs.tmp_dir, prefix=WORKSPACE_PREFIX))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def current_info(store: Store, session: Any, repo: m.Repo) -> tuple[str, dict[str, Any]] | None:
    """The Parquet commit the ref points at and its ``.viewer.json``, if any."""
    ref = get_ref(session, repo, REF_KIND, REF_NAME)
    if ref is None:
        return None
    commit = session.get(m.Commit, ref.commit_oid)
    if commit is None:
        return None
    entry = store.load_tree(session, commit.tree_hash).get(INFO_FILE)
    if entry is None:
        return None
    try:
        return ref.commit_oid, json.loads(store.blobs.read(entry.sha256))
    except (OSError, ValueError):
        return None


def run_conversion(ctx: JobContext) -> None:
    """The ``parquet`` job: convert ``ctx.job.commit`` and publish it (see module docstring)."""
    store, job = ctx.store, ctx.job
    with store.read() as s:
        repo = s.get(m.Repo, job.repo_id)
        commit = s.get(m.Commit, job.commit)
        if repo is None or commit is None:
            return  # deleted: the job row went with the repo
        newer = s.scalar(
            select(m.Job.commit)
            .where(
                m.Job.repo_id == repo.id,
                m.Job.kind == job.kind,
                m.Job.id > job.id,
                m.Job.status.in_(("pending", "running", "done")),
            )
            .order_by(m.Job.id.desc())
            .limit(1)
        )
        repo_id = f"{repo.namespace}/{repo.name}"
        tree = store.load_tree(s, commit.tree_hash)
        current = current_info(store, s, repo)
    if newer is not None:
        with store.write() as s:
            ctx.complete(
                s, result=None, status="skipped", error=f"Superseded by commit {newer}, converted instead."
            )
        return
    try:
        with _workspace(store) as tmp:
            layout = plan_layout(tree, card_at(store, tree), tmp_dir=tmp)
            fp = fingerprint(layout)
            if current is not None and current[1].get("fingerprint") == fp:
                with store.write() as s:  # same files read the same way: reuse the Parquet commit
                    ctx.complete(s, result=current[0])
                return
            results: list[SplitResult] = []
            sources = Sources(store, tmp)
            for config in layout:
                for split in config.splits:
                    started = time.perf_counter()
                    results.append(convert_split(store, config, split, tmp, sources))
                    log.info(
                        "converted %s %s/%s: %d rows in %.2f s",
                        repo_id,
                        config.name,
                        split.split,
                        results[-1].num_rows,
                        time.perf_counter() - started,
                    )
    except LayoutError as exc:
        raise ConversionError(str(exc)) from None
    except ImportError as exc:
        raise ConversionError(
            f"The hub cannot convert datasets: {exc}. Install the viewer's "
            "packages on the hub: pip install 'workbench[ml]'."
        ) from None
    attributes = store.blobs.ingest_bytes(GITATTRIBUTES)
    card = store.blobs.ingest_bytes(card_text(repo_id, job.commit, layout).encode())
    info = store.blobs.ingest_bytes(json.dumps(info_doc(job.commit, fp, layout, results), indent=1).encode())
    entries = [
        TreeEntry.regular(".gitattributes", attributes.sha256, attributes.size, attributes.git_oid or ""),
        TreeEntry.regular("README.md", card.sha256, card.size, card.git_oid or ""),
        TreeEntry.regular(INFO_FILE, info.sha256, info.size, info.git_oid or ""),
    ]
    entries += [TreeEntry.large(r.path, r.blob.sha256, r.blob.size) for r in results]
    publish(
        ctx,
        entries,
        [attributes, card, info, *(r.blob for r in results)],
        title=f"Convert {job.commit[:7]} to Parquet",
        description=f"Parquet conversion of commit {job.commit} by the dataset viewer.",
    )
