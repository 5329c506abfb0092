"""Typed cells: Arrow rows as the JSON the viewer answers, in the public dataset-viewer's shape.

Features come from the Parquet schema (with ``datasets``' own metadata when the files carry
it). Media (``datasets`` Image and Audio columns, any ``{bytes, path}`` struct, binary
columns) is never inlined: the cell holds the URL of the viewer's asset endpoint. Strings
longer than ``MAX_CELL_CHARS`` are cut, and the row lists them in ``truncated_cells``.

>>> render_rows(table, [0, 1], media_url=lambda row, col: f"/a/{row}/{col}")  # doctest: +SKIP
[{'row_idx': 0, 'row': {'text': 'hello'}, 'truncated_cells': []}, ...]
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
import mimetypes
from collections.abc import Callable, Sequence
from typing import Any

MAX_CELL_CHARS = 1000
MEDIA_TYPES = ("Image", "Audio", "Video", "Pdf")

MediaUrl = Callable[[int, str], str]


def features_of(schema: Any) -> dict[str, dict[str, Any]]:
    """``{column: feature}`` as ``datasets.Features.to_dict()`` writes them."""
    out: dict[str, dict[str, Any]] = {}
    try:
        from datasets import Features

        features = Features.from_arrow_schema(schema).to_dict()
    except Exception:  # types datasets does not know (DuckDB's TIME, HUGEINT, ...)
        features = {}
    for field in schema:
        feat = features.get(field.name)
        if not isinstance(feat, dict):
            feat = {"dtype": str(field.type), "_type": "Value"}
        if feat.get("_type") == "Value" and is_media_struct(field.type):
            feat = {"_type": "Media"}
        out[field.name] = feat
    return out


def features_list(features: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"feature_idx": i, "name": name, "type": feat} for i, (name, feat) in enumerate(features.items())]


def is_media_struct(arrow_type: Any) -> bool:
    import pyarrow as pa

    if not pa.types.is_struct(arrow_type):
        return False
    names = {arrow_type.field(i).name for i in range(arrow_type.num_fields)}
    return names == {"bytes", "path"}


def is_media(feature: dict[str, Any], arrow_type: Any) -> bool:
    import pyarrow as pa

    return (
        feature.get("_type") in (*MEDIA_TYPES, "Media")
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
    )


_MAGIC = [
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "audio/wav"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"%PDF", "application/pdf"),
    (b"BM", "image/bmp"),
]


def media_type(data: bytes | None, path: str | None, feature: dict[str, Any]) -> str:
    """The MIME type of a media cell: from its bytes, then its file name, then its feature."""
    if data:
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return "image/webp"
        for magic, mime in _MAGIC:
            if data.startswith(magic):
                return mime
    if path:
        guessed = mimetypes.guess_type(path)[0]
        if guessed:
            return guessed
    return {"Image": "image/png", "Audio": "audio/wav", "Video": "video/mp4", "Pdf": "application/pdf"}.get(
        str(feature.get("_type")), "application/octet-stream"
    )


def media_bytes(value: Any) -> tuple[bytes | None, str | None]:
    """(bytes, path) of a media cell value (a ``{bytes, path}`` dict or raw bytes)."""
    if isinstance(value, dict):
        data = value.get("bytes")
        return (bytes(data) if data is not None else None), value.get("path")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value), None
    return None, None


def _media_cell(value: Any, feature: dict[str, Any], url: str) -> Any:
    data, path = media_bytes(value)
    if data is None and not path:
        return None
    item: dict[str, Any] = {"src": url, "type": media_type(data, path, feature)}
    if item["type"].startswith("audio/"):
        return [item]  # the public viewer's shape for audio: a list of sources
    if data is not None and not item["type"].startswith(("image/", "audio/", "video/")):
        item["size"] = len(data)
    return item


def jsonable(value: Any) -> Any:
    """A cell value that JSON can carry (non-finite floats become null)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # Arrow maps come back as lists of (key, value) pairs
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + base64.b64encode(bytes(value)[:MAX_CELL_CHARS]).decode()
    return str(value)


def render_rows(
    table: Any,
    row_indices: Sequence[int],
    *,
    features: dict[str, dict[str, Any]],
    media_url: MediaUrl,
    max_chars: int = MAX_CELL_CHARS,
) -> list[dict[str, Any]]:
    """Rows as ``{"row_idx", "row", "truncated_cells"}``, cells typed as described above."""
    columns: dict[str, list[Any]] = {}
    for field in table.schema:
        feature = features.get(field.name, {})
        values = table.column(field.name).to_pylist()
        if is_media(feature, field.type):
            columns[field.name] = [
                _media_cell(v, feature, media_url(row_indices[i], field.name)) for i, v in enumerate(values)
            ]
        else:
            columns[field.name] = values
    rows = []
    for i, row_idx in enumerate(row_indices):
        row: dict[str, Any] = {}
        truncated = []
        for name, values in columns.items():
            value = values[i]
            if isinstance(value, str) and len(value) > max_chars:
                value = value[:max_chars]
                truncated.append(name)
            row[name] = jsonable(value)
        rows.append({"row_idx": int(row_idx), "row": row, "truncated_cells": truncated})
    return rows
