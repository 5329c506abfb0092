"""Ranked full-text search over a split's string columns: one SQLite FTS5 index per split.

After a Parquet conversion a background job (kind ``search``) builds, for every split with
string columns, an FTS5 index of those columns (rowid = the row's number in the split,
``unicode61`` words folded for case and diacritics), stores it in the blob store beside the
Parquet files and records it in ``viewer_search_indexes``. A search then costs a posting-list
lookup instead of a scan of every string cell, and ranks by bm25.

Query semantics: the query's words (letters and digits) must all occur, in any column; the
last word also matches as a prefix (``refu`` finds ``refund``), so results follow typing.
Results are ranked by bm25 while at most ``RANK_CAP`` rows match; a broader query (a word in
most rows ranks them all about equally) lists its matches in row order, which keeps every
page fast. Until a split's index exists, :mod:`workbench.viewer.textsearch` answers with a
substring scan (``ranked`` is then false in the response).

>>> table, rows, total = search(reader, "refund late", offset=0, length=100)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

from workbench.errors import InvalidRequest
from workbench.store import models as m
from workbench.store.jobs import JobContext
from workbench.store.store import Store, insert_missing, utcnow
from workbench.viewer import textsearch
from workbench.viewer.conversions import LRU, job_conversion
from workbench.viewer.query import SplitReader, local_blob

log = logging.getLogger(__name__)

MAX_TERMS = 16
RANK_CAP = 20_000
BATCH_ROWS = 4096
TOKENIZER = "unicode61 remove_diacritics 2"
_WORD = re.compile(r"\w+", re.UNICODE)


def build_index(reader: SplitReader, path: Path) -> int:
    """Write the FTS5 index of the split's string columns to ``path``; return rows indexed."""
    import pyarrow.parquet as pq

    columns = reader.string_columns()
    db = sqlite3.connect(path)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        names = ", ".join(f"c{i}" for i in range(len(columns)))
        # contentless: the rows live in Parquet (bm25 needs detail=full there: with detail=column a
        # contentless table scores every row 0)
        db.execute(
            f"CREATE VIRTUAL TABLE rows USING fts5({names}, content='', prefix='3', tokenize='{TOKENIZER}')"
        )
        marks = ", ".join("?" for _ in range(len(columns) + 1))
        insert = f"INSERT INTO rows(rowid, {names}) VALUES ({marks})"
        row = 0
        for file, footer in zip(reader.files, reader.footers, strict=True):
            with pq.ParquetFile(file, metadata=footer) as pf:
                for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=columns, use_threads=False):
                    cols = [c.to_pylist() for c in batch.columns]
                    db.executemany(insert, zip(range(row, row + batch.num_rows), *cols, strict=True))
                    row += batch.num_rows
        db.execute("INSERT INTO rows(rows) VALUES ('optimize')")
        db.commit()
    finally:
        db.close()
    return row


def run_search_index(ctx: JobContext) -> None:
    """The ``search`` job: index every split with string columns of Parquet commit ``ctx.job.commit``."""
    store, job = ctx.store, ctx.job
    with store.read() as s:
        found = job_conversion(ctx, s)
        if found is None:
            return
        repo, conversion, superseded = found
        done = {
            (r.config, r.split)
            for r in s.scalars(select(m.ViewerSearchIndex).where(m.ViewerSearchIndex.commit == job.commit))
        }
    built: list[tuple[str, str, str, int]] = []
    if not superseded:  # a newer conversion's index is the useful one: skip to it
        for splits in conversion.configs.values():
            for info in splits.values():
                if (info.config, info.split) in done:
                    continue
                reader = SplitReader(store, conversion, info)
                if not reader.string_columns():
                    continue
                with tempfile.TemporaryDirectory(dir=store.blobs.tmp_dir) as tmp:
                    path = Path(tmp) / "index.sqlite"
                    n = build_index(reader, path)
                    blob = store.blobs.ingest_file(path)
                built.append((info.config, info.split, blob.sha256, n))
                log.info("search index of %s/%s (%d rows, %d bytes)", info.config, info.split, n, blob.size)
    with store.write() as s:
        for config, split, sha, n in built:
            if s.get(m.Blob, sha) is None:
                insert_missing(
                    s, m.Blob, sha256=sha, size=store.blobs.size(sha), git_oid=None, created_at=utcnow()
                )
            insert_missing(
                s,
                m.ViewerSearchIndex,
                commit=job.commit,
                config=config,
                split=split,
                repo_id=repo.id,
                blob_sha256=sha,
                num_rows=n,
                created_at=utcnow(),
            )
        ctx.finish(s, superseded=superseded, by="conversion")


_paths: LRU[tuple[str, str, str], str] = LRU(256)
_local = threading.local()


def index_path(store: Store, reader: SplitReader) -> str | None:
    """A local path of the split's index, or None while it is not built."""
    key = reader.cache_key
    found = _paths.get(key)
    if found is not None:
        return found
    commit, config, split = key
    with store.read() as s:
        row = s.get(m.ViewerSearchIndex, (commit, config, split))
        sha = row.blob_sha256 if row is not None else None
    if sha is None:
        return None
    return _paths.put(key, local_blob(store, sha, ".sqlite"))


def _connection(path: str) -> sqlite3.Connection:
    # sqlite3 connections are not shared between threads; the blob never changes: immutable
    conns: dict[str, sqlite3.Connection] = getattr(_local, "conns", None) or {}
    _local.conns = conns
    conn = conns.get(path)
    if conn is None:
        if len(conns) >= 16:
            conns.pop(next(iter(conns))).close()
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        conns[path] = conn
    return conn


def fts_query(query: str) -> str:
    """The FTS5 expression for ``query``: every word (quoted, so no FTS5 syntax gets through),
    the last one also as a prefix."""
    words = [w.lower() for w in _WORD.findall(query)][:MAX_TERMS]
    if not words:
        raise InvalidRequest(
            "Give a search query with at least one letter or digit.", code="MissingParameter"
        )
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " AND ".join(quoted)


def search_rows(
    reader: SplitReader, query: str, *, offset: int, length: int
) -> tuple[Any, list[int], int, bool]:
    """Rows where every word of ``query`` occurs in some string column, best first once the
    split's full-text index is built (then ``ranked`` is true), else in row order (a scan,
    :mod:`workbench.viewer.textsearch`): the page, its row numbers, the count, ranked?"""
    path = index_path(reader.store, reader) if reader.string_columns() else None
    if path is not None:
        return search(reader, path, query, offset=offset, length=length)
    return (*textsearch.search(reader, query, offset=offset, length=length), False)


def search(
    reader: SplitReader, path: str, query: str, *, offset: int, length: int
) -> tuple[Any, list[int], int, bool]:
    """A page of the rows matching ``query`` in the index at ``path`` (best first), their
    numbers, the count, ranked?"""
    import pyarrow as pa

    expr = fts_query(query)
    conn = _connection(path)
    total = int(conn.execute("SELECT count(*) FROM rows WHERE rows MATCH ?", (expr,)).fetchone()[0])
    ranked = total <= RANK_CAP
    order = "rank" if ranked else "rowid"
    found = [
        int(r)
        for (r,) in conn.execute(
            f"SELECT rowid FROM rows WHERE rows MATCH ? ORDER BY {order} LIMIT ? OFFSET ?",
            (expr, length, offset),
        )
    ]
    ordered = sorted(found)
    table = reader.take(ordered)
    if ranked and found:
        position = {r: i for i, r in enumerate(ordered)}
        table = table.take(pa.array([position[r] for r in found]))
    return table, found, total, ranked
