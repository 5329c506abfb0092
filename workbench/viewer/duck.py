"""The viewer's DuckDB: one in-memory database per process, a cursor per query.

Every viewer query (filters, substring search, statistics, search tables) runs on a cursor of
this one database, so Parquet footers and search tables cached by one request serve the next.
Conversions use their own database (:mod:`workbench.viewer.sources`), with a spill folder.

>>> cur = cursor()                                                  # doctest: +SKIP
>>> cur.sql("SELECT 42").fetchall()                                 # doctest: +SKIP
[(42,)]
"""

from __future__ import annotations

import threading
from typing import Any

MEMORY_LIMIT = "1GB"

_lock = threading.Lock()
_db: Any = None


def cursor() -> Any:
    """A new cursor on the process's viewer database (opened on first use); close it after."""
    global _db
    with _lock:
        if _db is None:
            import duckdb  # heavy: loaded by the first viewer query, not at hub start

            db = duckdb.connect(config={"memory_limit": MEMORY_LIMIT})
            for setting in ("SET parquet_metadata_cache=true", "SET enable_object_cache=true"):
                try:
                    db.execute(setting)
                except duckdb.Error:
                    pass
            _db = db
        return _db.cursor()
