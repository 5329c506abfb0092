"""Column statistics of a split, computed once per Parquet commit, in the public viewer's shape.

Three kinds of DuckDB query over the split's Parquet: one pass of aggregates for every
column (nulls, min, max, mean, median, sample standard deviation, distinct counts, lengths),
one pass counting histogram bins (numbers, text lengths, list lengths), and one ``GROUP BY``
per label or text column for its most frequent values. Histograms have at most ``NUM_BINS``
bins with ``numpy.histogram``'s convention (each bin ``[lo, hi)``, the last ``[lo, hi]``), so
``np.histogram(values, bins=bin_edges)`` gives the same counts. Floats' NaN count as missing,
as in pandas. Results are kept per (Parquet commit, config, split) by the caller.

>>> compute_statistics(reader, features)["statistics"][0]["column_type"]   # doctest: +SKIP
'float'
"""

from __future__ import annotations

import decimal
import json
import math
import threading
from typing import Any

from workbench.errors import Conflict
from workbench.store import models as m
from workbench.store.jobs import JobContext
from workbench.store.store import Store, insert_missing, utcnow
from workbench.viewer.cells import is_media, jsonable
from workbench.viewer.conversions import job_conversion
from workbench.viewer.filters import quote_identifier
from workbench.viewer.query import SplitReader

NUM_BINS = 10
MAX_LABELS = 30
TOP_VALUES = 10


def column_kind(field: Any, feature: dict[str, Any]) -> str:
    import pyarrow as pa

    t = field.type
    if feature.get("_type") == "ClassLabel":
        return "class_label"
    if is_media(feature, t):
        return str(feature.get("_type", "binary")).lower().replace("media", "binary")
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "list"
    if pa.types.is_temporal(t):
        return "datetime"
    return "other"


def _num(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def int_edges(lo: int, hi: int) -> list[int]:
    width = max(1, math.ceil((hi - lo) / NUM_BINS))
    edges = list(range(lo, hi, width))
    return [*edges, hi] if edges else [lo, hi]


def float_edges(lo: float, hi: float) -> list[float]:
    if lo == hi:
        return [lo, hi]
    return [lo + (hi - lo) * i / NUM_BINS for i in range(NUM_BINS)] + [hi]


class _Aggregates:
    """Collects SELECT expressions and hands back their values by name."""

    def __init__(self) -> None:
        self.exprs: list[str] = []
        self.names: list[Any] = []

    def add(self, name: Any, expr: str) -> None:
        self.names.append(name)
        self.exprs.append(f"{expr} AS a{len(self.exprs)}")

    def run(self, reader: SplitReader, source: str) -> dict[Any, Any]:
        if not self.exprs:
            return {}
        sql = f"SELECT {', '.join(self.exprs)} FROM {source}"
        row = reader.run(lambda cur: cur.sql(sql).fetchall()[0], timeout=None)
        return dict(zip(self.names, row, strict=True))


def _value_expr(col: str, kind: str, is_float: bool) -> str:
    """The number a column's statistics are about: the value, a length; NULL if missing."""
    if kind == "string":
        return f"length({col})"
    if kind == "list":
        return f"len({col})"
    if is_float:
        return f"CASE WHEN isnan({col}) THEN NULL ELSE {col} END"  # NaN is missing, as in pandas
    return col


def _histogram(reader: SplitReader, source: str, value: str, edges: list[Any]) -> list[int]:
    """Counts per bin, numpy's way: ``[e_i, e_i+1)``, the last bin closed."""
    cases = " ".join(f"WHEN v >= ? THEN {i}" for i in range(len(edges) - 2, 0, -1))
    bin_of = f"CASE {cases} ELSE 0 END" if cases else "0"
    sql = (
        f"SELECT {bin_of} AS b, count(*) FROM (SELECT {value} AS v FROM "
        f"{source}) WHERE v IS NOT NULL GROUP BY b"
    )
    params = [edges[i] for i in range(len(edges) - 2, 0, -1)]
    rows = reader.run(lambda cur: cur.sql(sql, params=params or None).fetchall(), timeout=None)
    counts = [0] * (len(edges) - 1)
    for b, c in rows:
        counts[int(b)] = int(c)
    return counts


def compute_statistics(reader: SplitReader, features: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Statistics of every column of the split (see the module docstring)."""
    assert reader.schema is not None
    source = reader.source_sql()[0]
    n = reader.num_rows
    kinds = {f.name: column_kind(f, features.get(f.name, {})) for f in reader.schema}
    floats = {
        f.name for f in reader.schema if kinds[f.name] == "float" and not str(f.type).startswith("decimal")
    }
    # one pass: the values each statistic is about are projected once, then aggregated
    projected, value_of = [], {}
    agg = _Aggregates()
    for i, (name, kind) in enumerate(kinds.items()):
        col = quote_identifier(name)
        value_of[name] = _value_expr(col, kind, name in floats)
        v = f"v{i}"
        projected.append(f"{value_of[name]} AS {v}")
        agg.add((name, "missing"), f"count(*) - count({v})")
        if kind in ("int", "float", "string", "list"):
            for stat, fn in (
                ("min", "min"),
                ("max", "max"),
                ("mean", "avg"),
                ("median", "median"),
                ("std", "stddev_samp"),
            ):
                agg.add((name, stat), f"{fn}({v})")
        if kind == "string":
            projected.append(f"{col} AS s{i}")
            agg.add((name, "n_unique"), f"count(DISTINCT s{i})")
        elif kind == "bool":
            agg.add((name, "true"), f"sum(CASE WHEN {v} THEN 1 ELSE 0 END)")
            agg.add((name, "false"), f"sum(CASE WHEN NOT {v} THEN 1 ELSE 0 END)")
        elif kind == "datetime":
            agg.add((name, "min"), f"min({v})")
            agg.add((name, "max"), f"max({v})")
        elif kind == "class_label":
            agg.add((name, "no_label"), f"sum(CASE WHEN {v} = -1 THEN 1 ELSE 0 END)")
    values = agg.run(reader, f"(SELECT {', '.join(projected)} FROM {source})")
    values = {k: (0 if v is None and k[1] in ("true", "false", "no_label") else v) for k, v in values.items()}

    def is_label(name: str) -> bool:
        present = n - values[(name, "missing")]
        unique = values[(name, "n_unique")]
        return unique <= MAX_LABELS and present >= 2 * unique

    edges: dict[str, list[Any]] = {}
    counts: dict[str, list[int]] = {}
    for name, kind in kinds.items():
        if kind not in ("int", "float", "string", "list") or (kind == "string" and is_label(name)):
            continue
        lo, hi = _num(values[(name, "min")]), _num(values[(name, "max")])
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
            continue
        bins = float_edges(float(lo), float(hi)) if kind == "float" else int_edges(int(lo), int(hi))
        edges[name] = bins
        counts[name] = _histogram(reader, source, value_of[name], bins)

    stats = []
    for field in reader.schema:
        name, kind = field.name, kinds[field.name]
        missing = values[(name, "missing")]
        out: dict[str, Any] = {"nan_count": missing, "nan_proportion": missing / n if n else 0.0}
        column_type = kind
        if kind in ("int", "float", "list") or (kind == "string" and not is_label(name)):
            if kind == "string":
                column_type = "string_text"
            for stat in ("min", "max", "mean", "median", "std"):
                out[stat] = jsonable(_num(values[(name, stat)]))
            if name in edges:
                bins = edges[name]
                out["histogram"] = {"hist": counts[name], "bin_edges": bins}
            if kind == "string":
                out["n_unique"] = values[(name, "n_unique")]
                out["top_values"] = _frequencies(reader, source, name, TOP_VALUES)
        elif kind == "string":
            column_type = "string_label"
            out["n_unique"] = values[(name, "n_unique")]
            out["frequencies"] = _frequencies(reader, source, name, MAX_LABELS)
        elif kind == "bool":
            out["frequencies"] = {
                k: v for k, v in (("True", values[(name, "true")]), ("False", values[(name, "false")])) if v
            }
        elif kind == "datetime":
            out["min"] = jsonable(values[(name, "min")])
            out["max"] = jsonable(values[(name, "max")])
        elif kind == "class_label":
            names = features.get(name, {}).get("names") or []
            freq = _frequencies(reader, source, name, max(len(names), MAX_LABELS) + 1)
            out["no_label_count"] = values[(name, "no_label")]
            out["no_label_proportion"] = out["no_label_count"] / n if n else 0.0
            out["n_unique"] = len([k for k in freq if k != "-1"])
            out["frequencies"] = {
                (names[int(k)] if k.lstrip("-").isdigit() and 0 <= int(k) < len(names) else k): v
                for k, v in freq.items()
                if k != "-1"
            }
        stats.append({"column_name": name, "column_type": column_type, "column_statistics": out})
    return {"num_examples": n, "statistics": stats, "partial": False}


def _frequencies(reader: SplitReader, source: str, name: str, limit: int) -> dict[str, int]:
    col = quote_identifier(name)
    sql = (
        f"SELECT {col}, count(*) AS n FROM {source} WHERE {col} IS NOT NULL GROUP BY {col} "
        f"ORDER BY n DESC, {col} LIMIT {int(limit)}"
    )
    rows = reader.run(lambda cur: cur.sql(sql).fetchall(), timeout=None)
    return {str(v): int(c) for v, c in rows}


INLINE_ROWS = 2_000_000  # larger splits wait for the background job

_locks: dict[tuple[str, str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def _stored(store: Store, key: tuple[str, str, str]) -> dict[str, Any] | None:
    with store.read() as s:
        row = s.get(m.ViewerStatistics, key)
        return json.loads(row.statistics) if row is not None else None


def cached_statistics(
    store: Store, reader: SplitReader, *, inline_rows: int | None = INLINE_ROWS
) -> dict[str, Any]:
    """The split's statistics: stored ones, or computed now (once per process) and stored.

    With ``inline_rows``, a split with more rows is not computed here (a request would wait
    too long): ``ViewerNotReady`` until the background ``statistics`` job has stored them.
    """
    key = reader.cache_key
    found = _stored(store, key)
    if found is not None:
        return found
    if inline_rows is not None and reader.num_rows > inline_rows:
        raise Conflict(
            f"The statistics of split {reader.info.split!r} "
            f"({reader.num_rows:,} rows) are being computed in the background; try "
            "again in a while.",
            code="ViewerNotReady",
        )
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        found = _stored(store, key)
        if found is not None:
            return found
        result = compute_statistics(reader, reader.features())
        commit, config, split = key
        with store.write() as s:
            insert_missing(
                s,
                m.ViewerStatistics,
                commit=commit,
                config=config,
                split=split,
                statistics=json.dumps(result),
                created_at=utcnow(),
            )
    with _locks_guard:
        _locks.pop(key, None)
    return result


def run_statistics(ctx: JobContext) -> None:
    """The ``statistics`` job: every split of the Parquet commit ``ctx.job.commit``."""
    store = ctx.store
    with store.read() as s:
        found = job_conversion(ctx, s)
        if found is None:
            return
        _repo, conversion, superseded = found
    if not superseded:  # a newer conversion's statistics are more useful: skip to them
        for splits in conversion.configs.values():
            for info in splits.values():
                cached_statistics(store, SplitReader(store, conversion, info), inline_rows=None)
    with store.write() as s:
        ctx.finish(s, superseded=superseded, by="conversion")
