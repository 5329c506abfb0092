"""Full-text search over a split's string columns: every word must appear, in any case.

Scanning the Parquet files decodes every string column for every query. So the first search
of a split builds, in this process's DuckDB, a table of one lower-cased column per row (the
row's string cells joined by a separator no query word can hold) and later searches scan
that. Tables are kept least-recently-used within ``CACHE_BYTES``; a split too large for it
is searched in its Parquet files directly, with the same semantics. Matching row numbers come
from one scan, which gives the count too; the page's rows are then read by number.

>>> table, row_idx, total = search(reader, "refund late", offset=0, length=100)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from workbench.errors import InvalidRequest
from workbench.viewer.duck import cursor
from workbench.viewer.filters import quote_identifier
from workbench.viewer.query import SplitReader

MAX_TERMS = 16
CACHE_BYTES = 256 * 1024 * 1024
SEPARATOR = "chr(31)"  # Python's str.split() treats \x1f as whitespace: no term contains it


def string_bytes(reader: SplitReader) -> int:
    """Uncompressed bytes of the split's string columns (from the Parquet footers)."""
    wanted = set(reader.string_columns())
    total = 0
    for footer in reader.footers:
        for g in range(footer.num_row_groups):
            group = footer.row_group(g)
            for c in range(group.num_columns):
                column = group.column(c)
                if column.path_in_schema in wanted:
                    total += column.total_uncompressed_size
    return total


class _Tables:
    """The lower-cased search tables of recently searched splits, within a byte budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._tables: OrderedDict[tuple[str, str, str], tuple[str, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[str, str, str], threading.Lock] = {}

    def get(self, reader: SplitReader) -> str | None:
        key = reader.cache_key
        with self._lock:
            if key in self._tables:
                self._tables.move_to_end(key)
                return self._tables[key][0]
        size = string_bytes(reader)
        if size > self.budget // 2:
            return None
        with self._lock:
            build = self._building.setdefault(key, threading.Lock())
        with build:
            with self._lock:
                if key in self._tables:
                    return self._tables[key][0]
            name = "search_" + hashlib.sha1("\0".join(key).encode()).hexdigest()[:20]
            source, row_idx = reader.source_sql()
            cols = ", ".join(quote_identifier(c) for c in reader.string_columns())
            reader.run(
                lambda cur: cur.execute(
                    f"CREATE OR REPLACE TABLE {name} AS SELECT {row_idx} AS r, "
                    f"lower(concat_ws({SEPARATOR}, {cols})) AS s FROM {source}"
                )
            )
            with self._lock:
                self._tables[key] = (name, size)
                self._building.pop(key, None)
                doomed = []
                while sum(s for _, s in self._tables.values()) > self.budget and len(self._tables) > 1:
                    doomed.append(self._tables.popitem(last=False)[1][0])
            for old in doomed:
                cur = cursor()
                try:
                    cur.execute(f"DROP TABLE IF EXISTS {old}")
                finally:
                    cur.close()
            return name


_tables = _Tables(CACHE_BYTES)


def search(reader: SplitReader, query: str, *, offset: int, length: int) -> tuple[Any, list[int], int]:
    """A page of the rows matching ``query``, their row numbers, and how many match."""
    terms = [t.lower() for t in query.split()][:MAX_TERMS]
    if not terms:
        raise InvalidRequest("Give a search query.", code="MissingParameter")
    columns = reader.string_columns()
    if not columns:
        raise InvalidRequest(
            f"Split {reader.info.split!r} has no string columns to search.", code="SearchNotSupported"
        )
    table = _tables.get(reader)
    if table is not None:
        source, row_idx = table, "r"
        where = " AND ".join("contains(s, ?)" for _ in terms)
        params: list[Any] = list(terms)
    else:
        source, row_idx = reader.source_sql()
        where = " AND ".join(
            "(" + " OR ".join(f"contains(lower({quote_identifier(c)}), ?)" for c in columns) + ")"
            for _ in terms
        )
        params = [t for t in terms for _ in columns]
    sql = f"SELECT {row_idx} AS r FROM {source} WHERE {where}"

    def work(cur: Any) -> Any:
        return cur.sql(sql, params=params).fetchnumpy()["r"]

    import numpy as np

    # One scan gives both the count and the page: the matching row numbers, in file order
    matches = np.asarray(reader.run(work), dtype=np.int64)
    if len(matches) > 1 and not bool(np.all(matches[:-1] <= matches[1:])):
        matches = np.sort(matches)
    indices = [int(i) for i in matches[offset : offset + length]]
    return reader.take(indices), indices, len(matches)
