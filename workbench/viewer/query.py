"""Reading one split of a Parquet conversion: pages of rows, filters, rows by number.

A page of rows reads only the row groups it covers (pyarrow, with the file footers cached),
so it costs the same at row 0 and at row 10 million. Search and filter are DuckDB queries
over the split's Parquet files, with every user value bound as a parameter and every column
name checked and quoted (:mod:`workbench.viewer.filters`). Search is in
:mod:`workbench.viewer.searchindex` (ranked, once indexed) and :mod:`workbench.viewer.textsearch`
(a scan until then), statistics in :mod:`workbench.viewer.statistics`.

>>> conv = find_conversion(store, session, repo, None)          # doctest: +SKIP
>>> split = SplitReader(store, conv, conv.split("default", "train"))   # doctest: +SKIP
>>> table, row_idx = split.rows(0, 10)                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from workbench.errors import InvalidRequest, NotFound
from workbench.store.store import Store
from workbench.viewer.cells import features_of
from workbench.viewer.conversions import LRU, Conversion, Shard, SplitInfo
from workbench.viewer.duck import cursor
from workbench.viewer.filters import parse_orderby, parse_where
from workbench.viewer.sources import sql_literal

MAX_PAGE = 100
TAKE_GROUPS = 3  # pages spread over more row groups are read by DuckDB
QUERY_TIMEOUT_SECONDS = 60.0
ROW_IDX = "__wb_row_idx"


def local_blob(store: Store, sha256: str, suffix: str) -> str:
    """A local path of a blob the viewer reads as a file (copied once from a remote blob store
    into ``viewer-cache/``; ``suffix``: the file name's, e.g. ``.parquet``)."""
    local = store.blobs.local_path(sha256)
    if local is not None:
        return str(local)
    cached = store.data_dir / "viewer-cache" / f"{sha256}{suffix}"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp-{threading.get_ident()}")
        with store.blobs.open(sha256) as src, open(tmp, "wb") as dst:
            while chunk := src.read(4 * 1024 * 1024):
                dst.write(chunk)
        tmp.replace(cached)
    return str(cached)


def local_file(store: Store, shard: Shard) -> str:
    """A local path of a Parquet shard (see :func:`local_blob`)."""
    return local_blob(store, shard.sha256, ".parquet")


class SplitReader:
    """The Parquet files of one split, ready to be read."""

    def __init__(self, store: Store, conversion: Conversion, info: SplitInfo) -> None:
        import pyarrow.parquet as pq

        self.store = store
        self.conversion = conversion
        self.info = info
        self.files = [local_file(store, s) for s in info.shards]
        self.footers = []
        for shard, path in zip(info.shards, self.files, strict=True):
            footer = _footers.get(shard.sha256)
            if footer is None:
                footer = _footers.put(shard.sha256, pq.read_metadata(path))
            self.footers.append(footer)
        self.offsets = []
        total = 0
        for footer in self.footers:
            self.offsets.append(total)
            total += footer.num_rows
        self.num_rows = total
        self.schema = self.footers[0].schema.to_arrow_schema() if self.footers else None
        self.columns = list(self.schema.names) if self.schema is not None else []

    @property
    def cache_key(self) -> tuple[str, str, str]:
        return (self.conversion.commit, self.info.config, self.info.split)

    def features(self) -> dict[str, dict[str, Any]]:
        """``{column: datasets feature}`` of the split (cached)."""
        cached = _features.get(self.cache_key)
        if cached is None:
            cached = _features.put(self.cache_key, features_of(self.schema) if self.schema else {})
        return cached

    def rows(self, offset: int, length: int, *, columns: list[str] | None = None) -> tuple[Any, list[int]]:
        """Rows ``offset`` to ``offset + length`` (and their indices), reading only their row groups."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        end = min(offset + length, self.num_rows)
        tables = []
        for path, footer, start in zip(self.files, self.footers, self.offsets, strict=True):
            lo, hi = max(offset, start) - start, min(end, start + footer.num_rows) - start
            if lo >= hi:
                continue
            groups, first, pos = [], None, 0
            for i in range(footer.num_row_groups):
                n = footer.row_group(i).num_rows
                if pos + n > lo and pos < hi:
                    groups.append(i)
                    first = pos if first is None else first
                pos += n
            with pq.ParquetFile(path, metadata=footer) as pf:
                table = pf.read_row_groups(groups, columns=columns, use_threads=False)
            tables.append(table.slice(lo - (first or 0), hi - lo))
        if not tables:
            schema = self.schema if self.schema is not None else pa.schema([])
            if columns is not None:
                schema = pa.schema([schema.field(c) for c in columns])
            return schema.empty_table(), []
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        return table, list(range(offset, offset + table.num_rows))

    def _row_groups(self, indices: list[int]) -> dict[tuple[int, int, int], list[int]]:
        """{(file, first row, rows) of each row group holding some of ``indices``: those}."""
        out: dict[tuple[int, int, int], list[int]] = {}
        bounds = []
        for f, (footer, start) in enumerate(zip(self.footers, self.offsets, strict=True)):
            pos = start
            for g in range(footer.num_row_groups):
                n = footer.row_group(g).num_rows
                bounds.append((pos, n, f))
                pos += n
        j = 0
        for i in indices:
            while j < len(bounds) and i >= bounds[j][0] + bounds[j][1]:
                j += 1
            if j == len(bounds):
                break
            first, n, f = bounds[j]
            out.setdefault((f, first, n), []).append(i)
        return out

    # -- DuckDB ---------------------------------------------------------------------------
    def source_sql(self) -> tuple[str, str]:
        files = "[" + ", ".join(sql_literal(f) for f in self.files) + "]"
        if len(self.files) == 1:
            return f"read_parquet({files}, file_row_number=true)", "file_row_number"
        cases = " ".join(
            f"WHEN {sql_literal(f)} THEN {o}" for f, o in zip(self.files, self.offsets, strict=True)
        )
        return (
            f"read_parquet({files}, file_row_number=true, filename=true)",
            f"file_row_number + CASE filename {cases} END",
        )

    def run(self, work: Callable[[Any], Any], *, timeout: float | None = QUERY_TIMEOUT_SECONDS) -> Any:
        """``work(cursor)`` on the viewer's DuckDB, interrupted after ``timeout`` seconds."""
        import duckdb

        cur = cursor()
        timer = threading.Timer(timeout or 0, cur.interrupt)
        if timeout:
            timer.start()
        try:
            return work(cur)
        except duckdb.InterruptException:
            raise InvalidRequest(
                f"The query took longer than {QUERY_TIMEOUT_SECONDS:.0f} s; narrow the filter.",
                code="QueryTimeout",
            ) from None
        except (duckdb.ConversionException, duckdb.BinderException, duckdb.InvalidInputException) as exc:
            # e.g. a string compared with a number column: the user's filter, not our SQL
            message = str(exc).split("\n")[0]
            raise InvalidRequest(
                f"The filter cannot be applied to this split: {message}", code="InvalidFilter"
            ) from None
        finally:
            timer.cancel()
            cur.close()

    def select(
        self, where: str, params: list[Any], *, order: str | None, offset: int, length: int
    ) -> tuple[Any, list[int], int]:
        """Matching rows (a page, in ``order`` then row order), their indices, and how many match."""
        source, row_idx = self.source_sql()
        extra = "file_row_number" if len(self.files) == 1 else "file_row_number, filename"
        order_sql = f"{order}, {ROW_IDX}" if order else ROW_IDX
        sql = (
            f"SELECT * EXCLUDE ({extra}), {row_idx} AS {ROW_IDX} FROM {source} "
            f"WHERE {where} ORDER BY {order_sql} LIMIT {int(length)} OFFSET {int(offset)}"
        )
        count_sql = f"SELECT count(*) FROM {source} WHERE {where}"
        key = (self.cache_key, where, json.dumps(params, default=str))
        total = _counts.get(key)

        def work(cur: Any) -> tuple[Any, int]:
            table = cur.sql(sql, params=params or None).to_arrow_table()
            n = total if total is not None else cur.sql(count_sql, params=params or None).fetchall()[0][0]
            return table, int(n)

        table, n = self.run(work)
        _counts.put(key, n)
        indices = [int(i) for i in table.column(ROW_IDX).to_pylist()]
        return table.drop_columns([ROW_IDX]), indices, n

    def filter(
        self, where: str | None, orderby: str | None, *, offset: int, length: int
    ) -> tuple[Any, list[int], int]:
        filt = parse_where(where, columns=self.columns) if where and where.strip() else None
        order = parse_orderby(orderby, columns=self.columns) if orderby and orderby.strip() else None
        return self.select(
            filt.sql if filt else "true",
            filt.params if filt else [],
            order=order,
            offset=offset,
            length=length,
        )

    def string_columns(self) -> list[str]:
        import pyarrow as pa

        if self.schema is None:
            return []
        return [
            f.name
            for f in self.schema
            if pa.types.is_string(f.type)
            or pa.types.is_large_string(f.type)
            or pa.types.is_string_view(f.type)
        ]

    def take(self, indices: list[int]) -> Any:
        """The rows at ``indices`` (sorted): from their row groups when they are few, else by
        DuckDB, which decodes only those rows."""
        import pyarrow as pa

        groups = self._row_groups(indices)
        if len(groups) <= TAKE_GROUPS:
            tables = []
            for (_file, first, count), wanted in groups.items():
                table, _ = self.rows(first, count)
                tables.append(table.take(pa.array([i - first for i in wanted])))
            if tables:
                return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        source, _ = self.source_sql()
        extra = "file_row_number" if len(self.files) == 1 else "file_row_number, filename"
        if not indices:
            return self.rows(0, 0)[0]
        conds = []
        for path, start, footer in zip(self.files, self.offsets, self.footers, strict=True):
            local = [str(i - start) for i in indices if start <= i < start + footer.num_rows]
            if local:
                cond = f"file_row_number IN ({', '.join(local)})"
                conds.append(cond if len(self.files) == 1 else f"(filename = {sql_literal(path)} AND {cond})")
        sql = (
            f"SELECT * EXCLUDE ({extra}) FROM {source} WHERE {' OR '.join(conds)} "
            f"ORDER BY {self.source_sql()[1]}"
        )
        return self.run(lambda cur: cur.sql(sql).to_arrow_table())

    def cell(self, row: int, column: str) -> Any:
        if column not in self.columns:
            raise NotFound(f"Column {column!r} not found.", code="ColumnNotFound")
        if not 0 <= row < self.num_rows:
            raise NotFound(f"Row {row} not found: the split has {self.num_rows} rows.", code="RowNotFound")
        table, _ = self.rows(row, 1, columns=[column])
        return table.column(0)[0].as_py()


_counts: LRU[tuple[Any, ...], int] = LRU(1024)
_footers: LRU[str, Any] = LRU(512)
_features: LRU[tuple[str, str, str], dict[str, dict[str, Any]]] = LRU(256)
