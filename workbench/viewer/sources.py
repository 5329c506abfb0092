"""Reading a split's source files and writing them as one Parquet file.

CSV, TSV and JSON (Lines or arrays) are read and written by DuckDB: streaming, multi-threaded,
typed as DuckDB's sniffer decides (the whole file is sniffed again when a later row
contradicts the types guessed from the first ones), with pandas' null markers so that types
match what ``datasets`` reads. Parquet and Arrow files are rewritten by pyarrow, which keeps
their schema metadata (the ``datasets`` features). Row groups are kept small
(``ROW_GROUP_ROWS``) so that a page of rows reads one. Errors name the repo's file.

>>> write_parquet(layout, split, Sources(store, tmp), out, tmp)   # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.store import contents
from workbench.store.store import Store
from workbench.store.trees import TreeEntry
from workbench.viewer.layout import ConfigLayout, SplitLayout

ROW_GROUP_ROWS = 20_000
ROW_GROUP_BYTES = 32 * 1024 * 1024
DUCKDB_MEMORY = "1GB"
# Snappy: scans (search, filter, statistics) decode it faster than zstd, for somewhat larger
# files (bench/README.md)
COMPRESSION_CODEC = "snappy"
# pandas' default NA markers, which `datasets` (pandas underneath) reads as missing
PANDAS_NULLS = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]
COMPRESSION = {".gz": "gzip", ".zst": "zstd"}


class ConversionError(ValueError):
    """A data file cannot be read; the message names it and says why."""


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Sources:
    """Local paths of source files (copied first when the blob store does not keep them whole
    on this machine: a remote store, or a file uploaded through Xet)."""

    def __init__(self, store: Store, tmp: Path) -> None:
        self.store = store
        self.tmp = tmp
        self.by_local: dict[str, str] = {}

    def path(self, entry: TreeEntry) -> str:
        local = contents.local_path(self.store, entry)
        if local is None:
            local = self.tmp / entry.sha256
            if not local.exists():
                contents.copy_to(self.store, entry, local)
        self.by_local[str(local)] = entry.path
        return str(local)

    def explain(self, message: str) -> str:
        """DuckDB and pyarrow name blob paths; name the repo's files instead."""
        for local, path in self.by_local.items():
            message = message.replace(local, path)
        message = re.split(r"\n\s*(?:Possible (?:fixes|solutions)|  file = )", message)[0]
        return message.strip()[:2000]


def _compression(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in COMPRESSION:
        return COMPRESSION[suffix]
    if suffix in (".bz2", ".xz", ".zip", ".tar", ".7z", ".lz4"):
        raise ConversionError(
            f"{path}: {suffix} archives are not converted by the viewer; "
            "use plain or .gz/.zst compressed files."
        )
    return "none"


def _duckdb(tmp: Path):  # type: ignore[no-untyped-def]
    import duckdb

    return duckdb.connect(
        config={
            "memory_limit": DUCKDB_MEMORY,
            "temp_directory": str(tmp / "duckdb"),
            "preserve_insertion_order": True,
        }
    )


def _duck_source(layout: ConfigLayout, split: SplitLayout, sources: Sources, *, sample_all: bool) -> str:
    """A SELECT over the split's files (grouped by compression, all read alike)."""
    groups: dict[str, list[str]] = {}
    for entry in split.files:
        groups.setdefault(_compression(entry.path), []).append(sources.path(entry))
    sample = ", sample_size=-1" if sample_all else ""
    union = ", union_by_name=true" if len(split.files) > 1 else ""
    selects = []
    for compression, paths in groups.items():
        files = "[" + ", ".join(sql_literal(p) for p in paths) + "]"
        if layout.module == "csv":
            sep = str(layout.options.get("sep") or layout.options.get("delimiter") or ",")
            nulls = "[" + ", ".join(sql_literal(n) for n in PANDAS_NULLS) + "]"
            selects.append(
                f"SELECT * FROM read_csv({files}, header=true, skip=0, delim={sql_literal(sep)}, "
                f"quote='\"', escape='\"', nullstr={nulls}{union}, "
                f"compression={sql_literal(compression)}{sample})"
            )
        else:
            read = f"read_json({files}, format='auto'{union}, compression={sql_literal(compression)}{sample})"
            field = layout.options.get("field")
            selects.append(
                f"SELECT u.* FROM (SELECT unnest({sql_identifier(str(field))}) AS u FROM {read})"
                if field
                else f"SELECT * FROM {read}"
            )
    return " UNION ALL BY NAME ".join(selects)


def _write_with_duckdb(
    layout: ConfigLayout, split: SplitLayout, sources: Sources, out: Path, tmp: Path
) -> None:
    import duckdb

    con = _duckdb(tmp)
    try:
        for sample_all in (False, True):
            query = _duck_source(layout, split, sources, sample_all=sample_all)
            try:
                con.execute(
                    f"COPY ({query}) TO {sql_literal(str(out))} (FORMAT parquet, "
                    f"COMPRESSION {COMPRESSION_CODEC}, ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
                )
                return
            except duckdb.ConversionException as exc:
                # a type guessed from the first rows does not fit a later row: sniff them all
                if sample_all:
                    raise ConversionError(sources.explain(str(exc))) from None
            except duckdb.Error as exc:
                raise ConversionError(sources.explain(str(exc))) from None
    finally:
        con.close()


def _batches(path: str, module: str) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if module == "parquet":
        with pq.ParquetFile(path) as pf:
            yield from pf.iter_batches(batch_size=ROW_GROUP_ROWS)
        return
    with pa.memory_map(path) as source:
        try:
            reader = pa.ipc.open_stream(source)
            yield from reader
        except pa.ArrowInvalid:
            file_reader = pa.ipc.open_file(pa.memory_map(path))
            for i in range(file_reader.num_record_batches):
                yield file_reader.get_batch(i)


def _schema(path: str, module: str) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if module == "parquet":
        return pq.read_schema(path)
    with pa.memory_map(path) as source:
        try:
            return pa.ipc.open_stream(source).schema
        except pa.ArrowInvalid:
            return pa.ipc.open_file(pa.memory_map(path)).schema


def _align(batch: Any, schema: Any) -> Any:
    import pyarrow as pa

    arrays = []
    for fld in schema:
        idx = batch.schema.get_field_index(fld.name)
        col = batch.column(idx) if idx >= 0 else pa.nulls(batch.num_rows, fld.type)
        arrays.append(col if col.type == fld.type else col.cast(fld.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _write_with_pyarrow(layout: ConfigLayout, split: SplitLayout, sources: Sources, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    what = "Parquet" if layout.module == "parquet" else "Arrow"
    current = split.files[0].path

    def failed(exc: Exception) -> ConversionError:
        return ConversionError(sources.explain(f"{current}: cannot be read as {what}: {exc}"))

    paths = [sources.path(e) for e in split.files]
    schemas = []
    for entry, path in zip(split.files, paths, strict=True):
        current = entry.path
        try:
            schemas.append(_schema(path, layout.module))
        except (pa.ArrowException, OSError) as exc:
            raise failed(exc) from None
    schema = schemas[0]
    try:
        if any(not s.equals(schema) for s in schemas[1:]):
            schema = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    except pa.ArrowException as exc:
        raise ConversionError(
            f"The files of split {split.split!r} have incompatible columns: {exc}"
        ) from None
    with pq.ParquetWriter(out, schema, compression=COMPRESSION_CODEC) as writer:
        pending: list[Any] = []
        rows = size = 0
        for entry, path in zip(split.files, paths, strict=True):
            current = entry.path
            try:
                for batch in _batches(path, layout.module):
                    batch = batch if batch.schema.equals(schema) else _align(batch, schema)
                    pending.append(batch)
                    rows += batch.num_rows
                    size += batch.nbytes
                    if rows >= ROW_GROUP_ROWS or size >= ROW_GROUP_BYTES:
                        writer.write_table(pa.Table.from_batches(pending, schema=schema), row_group_size=rows)
                        pending, rows, size = [], 0, 0
            except (pa.ArrowException, OSError) as exc:
                raise failed(exc) from None
        if pending:
            writer.write_table(pa.Table.from_batches(pending, schema=schema), row_group_size=rows)


def write_parquet(layout: ConfigLayout, split: SplitLayout, sources: Sources, out: Path, tmp: Path) -> None:
    """Write the split's files to the Parquet file ``out``; ``ConversionError`` if one is bad."""
    if layout.module in ("csv", "json"):
        _write_with_duckdb(layout, split, sources, out, tmp)
    else:
        _write_with_pyarrow(layout, split, sources, out)
