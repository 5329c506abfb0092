"""Structured diffs of files whose bytes mean something, read by range, never whole:

- safetensors checkpoints: tensors added, removed, reshaped or retyped, and changed (with the
  largest absolute change), from the two headers; whether a tensor changed comes from the Xet
  chunk hashes covering it when both sides are Xet files, otherwise from reading it, within a
  byte budget;
- Parquet files: columns added, removed or retyped and the row count, from the footers;
- cards (``README.md``): the YAML metadata as fields added, removed or changed.

A file that cannot be read as its kind (a header that lies about its offsets, a broken
footer or front matter) gets an ``error`` with its code instead of a diff: the other files
still diff.

>>> diff = StructuredDiff(store)                                          # doctest: +SKIP
>>> diff.file("model.safetensors", old_entry, new_entry)["changed"]       # doctest: +SKIP
[{'name': 'w', 'dtype': 'F32', 'shape': [4, 4], 'maxAbsChange': 0.5}]
>>> diff.bytes_read                                                       # doctest: +SKIP
412
"""

from __future__ import annotations

import bisect
import functools
import io
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.errors import InvalidRequest, NotFound
from workbench.repocard import README, split_card
from workbench.store import contents, xet_cas
from workbench.store.field_diff import field_changes, finite
from workbench.store.notebook_diff import MAX_NOTEBOOK_DIFF_BYTES, notebook_diff, parsed
from workbench.store.readme import MAX_CARD_BYTES
from workbench.store.store import Store
from workbench.store.trees import TreeEntry

KiB, MiB = 1024, 1024 * 1024
DEFAULT_VALUE_BYTES = 512 * KiB  # tensor bytes a diff may read unless asked for values
MAX_VALUE_BYTES = 1024 * MiB  # ... and when asked (``values=1``)
MAX_HEADER = 100 * MiB  # safetensors' own limit
MAX_FILES = 100  # files one comparison diffs structurally; the rest get a notice
PIECE = 4 * MiB  # tensors are compared a piece at a time, so memory stays bounded
# bits per element of each safetensors dtype; numpy's reading where numpy has one
BITS = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8}
BITS |= {"F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16}
BITS |= {"BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64}
NUMPY = {"BOOL": "u1", "U8": "u1", "I8": "i1", "I16": "<i2", "U16": "<u2", "F16": "<f2", "I32": "<i4"}
NUMPY |= {"U32": "<u4", "F32": "<f4", "C64": "<c8", "F64": "<f8", "I64": "<i8", "U64": "<u8"}


def kind_of(path: str) -> str | None:
    """Which structured diff a path gets: ``safetensors``, ``parquet``, ``notebook``,
    ``card`` or None."""
    if path.endswith(".safetensors"):
        return "safetensors"
    if path.endswith(".parquet"):
        return "parquet"
    if path.endswith(".ipynb"):
        return "notebook"
    return "card" if path == README else None


@dataclass(frozen=True)
class Tensor:
    dtype: str
    shape: tuple[int, ...]
    start: int  # file offsets of its bytes, [start, end)
    end: int

    def doc(self, name: str) -> dict[str, Any]:
        return {"name": name, "dtype": self.dtype, "shape": list(self.shape)}


def _bad_header(path: str, why: str) -> InvalidRequest:
    return InvalidRequest(
        f"{path} is not a valid safetensors file: {why}. The header (8-byte length, then JSON) "
        "must give every tensor a known dtype, a shape and data_offsets that lie inside the "
        "file, in order, without overlaps or holes, and match dtype x shape.",
        code="InvalidSafetensors",
    )


def parse_header(path: str, head: bytes, size: int) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors and ``__metadata__`` of a safetensors file of ``size`` bytes, from its
    header bytes ``head`` (the 8-byte length and the JSON); every offset is checked."""
    if size < 8 or len(head) < 8:
        raise _bad_header(path, f"{size} bytes is too short for a header")
    (n,) = struct.unpack("<Q", head[:8])
    if n > MAX_HEADER or 8 + n > size:
        raise _bad_header(path, f"the header claims {n} bytes in a {size}-byte file")
    try:
        doc = json.loads(head[8 : 8 + n])
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad_header(path, f"the header is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise _bad_header(path, "the header is not a JSON object")
    meta = doc.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise _bad_header(path, "__metadata__ is not an object")
    tensors: dict[str, Tensor] = {}
    base, data = 8 + n, size - 8 - n
    for name, info in doc.items():
        tensors[name] = _tensor(path, name, info, base)
    pos = 0
    for name, t in sorted(tensors.items(), key=lambda kv: (kv[1].start, kv[1].end)):
        if t.start - base != pos:
            how = "overlaps the tensor before it" if t.start - base < pos else "leaves a hole before it"
            raise _bad_header(path, f"tensor {name!r} at data offset {t.start - base} {how}")
        pos = t.end - base
    if pos != data:
        raise _bad_header(path, f"the tensors end at data offset {pos}; the file holds {data} data bytes")
    return tensors, meta


def _tensor(path: str, name: str, info: Any, base: int) -> Tensor:
    if not isinstance(info, dict):
        raise _bad_header(path, f"tensor {name!r} is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in BITS:
        raise _bad_header(path, f"tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise _bad_header(path, f"tensor {name!r} has shape {shape!r}, not a list of sizes")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(o) is int for o in offsets)
        or not 0 <= offsets[0] <= offsets[1]
    ):
        raise _bad_header(path, f"tensor {name!r} has data_offsets {offsets!r}")
    bits = math.prod(shape) * BITS[dtype]
    if bits % 8 or bits // 8 != offsets[1] - offsets[0]:
        raise _bad_header(
            path,
            f"tensor {name!r} ({dtype} {shape}) takes {bits / 8:g} bytes, "
            f"its data_offsets {offsets} give {offsets[1] - offsets[0]}",
        )
    return Tensor(dtype, tuple(shape), base + offsets[0], base + offsets[1])


def max_abs_change(dtype: str, old: bytes, new: bytes) -> float | None:
    """The largest ``|new - old|`` over the elements (NaNs ignored), or None for a dtype
    numpy cannot read; infinite when an element became or stopped being infinite."""
    if dtype == "BF16":
        a = (np.frombuffer(old, "<u2").astype("<u4") << 16).view("<f4")
        b = (np.frombuffer(new, "<u2").astype("<u4") << 16).view("<f4")
    elif dtype in NUMPY:
        a, b = np.frombuffer(old, NUMPY[dtype]), np.frombuffer(new, NUMPY[dtype])
    else:
        return None
    wide = np.complex128 if a.dtype.kind == "c" else np.float64
    with np.errstate(all="ignore"):
        delta = np.abs(a.astype(wide) - b.astype(wide))
        return float(np.fmax.reduce(delta, initial=0.0))


@dataclass
class ChunkMap:
    """Where each chunk of a Xet file lies: ``starts[i]`` is the file offset of chunk ``i``."""

    starts: list[int]
    hashes: list[bytes]
    size: int

    def inside(self, start: int, end: int) -> dict[int, tuple[int, bytes]]:
        """The chunks wholly inside bytes ``[start, end)``: offset from ``start`` to (size, hash)."""
        first = bisect.bisect_left(self.starts, start)
        out: dict[int, tuple[int, bytes]] = {}
        for i in range(first, len(self.starts)):
            stop = self.starts[i + 1] if i + 1 < len(self.starts) else self.size
            if stop > end:
                break
            out[self.starts[i] - start] = (stop - self.starts[i], self.hashes[i])
        return out


@dataclass
class StructuredDiff:
    """One comparison's diffs, the bytes they read and the budget for reading tensors."""

    store: Store
    value_budget: int = DEFAULT_VALUE_BYTES
    ignore_outputs: bool = False  # notebooks: leave outputs (and execution counts) out
    ignore_metadata: bool = False  # notebooks: leave notebook, cell and output metadata out
    bytes_read: int = 0
    files: int = 0
    _chunks: dict[str, ChunkMap] = field(default_factory=dict)

    def read(self, entry: TreeEntry, start: int, end: int) -> bytes:
        data = contents.read_range(self.store, entry, start, end)
        self.bytes_read += len(data)
        return data

    def take(self, n: int) -> bool:
        """Spend ``n`` bytes of the tensor budget; False (nothing spent) when it has not them."""
        if n > self.value_budget:
            return False
        self.value_budget -= n
        return True

    def file(self, path: str, old: TreeEntry | None, new: TreeEntry | None) -> dict[str, Any] | None:
        """The structured diff of one changed file (None when its kind has none)."""
        kind = kind_of(path)
        if kind is None:
            return None
        self.files += 1
        if self.files > MAX_FILES:
            return {"kind": kind, "notice": f"Not diffed: one comparison diffs {MAX_FILES} files."}
        try:
            if kind == "safetensors":
                body = self._safetensors(path, old, new)
            elif kind == "parquet":
                body = self._parquet(path, old, new)
            elif kind == "notebook":
                return self._notebook(path, old, new)
            else:
                body = self._card(old, new)
        except InvalidRequest as exc:
            return {"kind": kind, "error": {"code": exc.code, "message": str(exc)}}
        return {"kind": kind, **body}

    # -- safetensors ------------------------------------------------------------------------
    def header(self, path: str, entry: TreeEntry | None) -> tuple[dict[str, Tensor], dict[str, Any]]:
        if entry is None:
            return {}, {}
        head = self.read(entry, 0, 8)
        if len(head) == 8:
            (n,) = struct.unpack("<Q", head)
            if n <= MAX_HEADER and 8 + n <= entry.size:
                head += self.read(entry, 8, 8 + n)
        return parse_header(path, head, entry.size)

    def _safetensors(self, path: str, old: TreeEntry | None, new: TreeEntry | None) -> dict[str, Any]:
        (a, meta_a), (b, meta_b) = self.header(path, old), self.header(path, new)
        out: dict[str, Any] = {
            "added": [b[k].doc(k) for k in b if k not in a],
            "removed": [a[k].doc(k) for k in a if k not in b],
            "reshaped": [
                {"name": k, "old": a[k].doc(k), "new": b[k].doc(k)}
                for k in a
                if k in b and (a[k].dtype, a[k].shape) != (b[k].dtype, b[k].shape)
            ],
            "changed": [],
            "unchanged": 0,
            "unchecked": [],
            "metadata": field_changes(meta_a, meta_b),
        }
        same = [k for k in a if k in b and (a[k].dtype, a[k].shape) == (b[k].dtype, b[k].shape)]
        for k in sorted(same, key=lambda k: a[k].end - a[k].start):
            assert old is not None and new is not None
            verdict = self._same_bytes(old, a[k], new, b[k])
            if verdict is True:
                out["unchanged"] += 1
                continue
            if not self.take(2 * (a[k].end - a[k].start)):
                if verdict is None:
                    out["unchecked"].append(k)
                else:
                    out["changed"].append({**b[k].doc(k), "maxAbsChange": None})
                continue
            equal, delta = self._compare(old, a[k], new, b[k])
            if equal:
                out["unchanged"] += 1
            else:
                out["changed"].append({**b[k].doc(k), "maxAbsChange": finite(delta)})
        out["changed"].sort(key=lambda d: d["name"])
        out["unchecked"].sort()
        if out["unchecked"]:
            out["notice"] = (
                f"{len(out['unchecked'])} tensors of the same shape and dtype were not compared: "
                "reading them would pass the diff's byte budget (ask with values=1)."
            )
        return out

    def _same_bytes(self, old: TreeEntry, a: Tensor, new: TreeEntry, b: Tensor) -> bool | None:
        """True (same bytes) or False (changed) from Xet chunk hashes, reading only the bytes
        that no pair of chunks decides; None when that cannot tell (not Xet on both sides,
        or no budget left for those bytes)."""
        if a.end == a.start or (old.sha256 == new.sha256 and a.start == b.start):
            return True
        if old.xet_hash is None or new.xet_hash is None:
            return None
        ca, cb = self._chunk_map(old.xet_hash), self._chunk_map(new.xet_hash)
        if ca is None or cb is None:
            return None
        # A chunk wholly inside the tensor on both sides, at the same place in it and of the
        # same size, decides those bytes: same hash, same bytes; another hash, a change.
        ours, theirs = ca.inside(a.start, a.end), cb.inside(b.start, b.end)
        decided = []
        for at, (size, digest) in ours.items():
            other = theirs.get(at)
            if other is not None and other[0] == size:
                if other[1] != digest:
                    return False
                decided.append((at, at + size))
        gaps, pos = [], 0  # the rest (chunks shared with neighbours, cut differently) is read
        for lo, hi in [*sorted(decided), (a.end - a.start, a.end - a.start)]:
            gaps += [(at, min(lo, at + PIECE)) for at in range(pos, lo, PIECE)]
            pos = hi
        if not self.take(2 * sum(hi - lo for lo, hi in gaps)):
            return None
        return all(
            self.read(old, a.start + lo, a.start + hi) == self.read(new, b.start + lo, b.start + hi)
            for lo, hi in gaps
        )

    def _chunk_map(self, xet_hash: str) -> ChunkMap | None:
        if xet_hash not in self._chunks:
            try:
                plan = xet_cas.reconstruct(self.store, xet_hash, repo_id=None, byte_range=None)
            except NotFound:  # a Xet hash without its chunks: the blob is read instead
                return None
            starts, hashes, pos = [], [], 0
            for term in plan.terms:
                for chunk in term.xorb.chunks[term.start : term.end]:
                    starts.append(pos)
                    hashes.append(chunk.hash)
                    pos += chunk.size
            self._chunks[xet_hash] = ChunkMap(starts, hashes, plan.size)
        return self._chunks[xet_hash]

    def _compare(self, old: TreeEntry, a: Tensor, new: TreeEntry, b: Tensor) -> tuple[bool, float | None]:
        """Read both tensors a piece at a time: (equal, max abs change; None for a dtype
        numpy cannot read)."""
        size, equal = a.end - a.start, True
        best: float | None = 0.0
        for off in range(0, size, PIECE):
            x = self.read(old, a.start + off, a.start + min(size, off + PIECE))
            y = self.read(new, b.start + off, b.start + min(size, off + PIECE))
            if x != y:
                equal = False
                piece = max_abs_change(a.dtype, x, y)
                best = None if piece is None or best is None else max(best, piece)
        return equal, best

    # -- Parquet ----------------------------------------------------------------------------
    def _parquet(self, path: str, old: TreeEntry | None, new: TreeEntry | None) -> dict[str, Any]:
        a, b = self.footer(path, old), self.footer(path, new)
        cols_a, cols_b = a["columns"], b["columns"]
        return {
            "columns": {
                "added": [{"name": k, "type": cols_b[k]} for k in cols_b if k not in cols_a],
                "removed": [{"name": k, "type": cols_a[k]} for k in cols_a if k not in cols_b],
                "retyped": [
                    {"name": k, "old": cols_a[k], "new": cols_b[k]}
                    for k in cols_a
                    if k in cols_b and cols_a[k] != cols_b[k]
                ],
            },
            "rows": {"old": a["rows"], "new": b["rows"]},
        }

    def footer(self, path: str, entry: TreeEntry | None) -> dict[str, Any]:
        """Columns (name to Arrow type) and row count of a Parquet file, from its footer."""
        if entry is None:
            return {"columns": {}, "rows": None}
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            meta = pq.read_metadata(_RangeFile(self, entry))
            schema = meta.schema.to_arrow_schema()
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InvalidRequest(
                f"{path} is not a valid Parquet file: its footer cannot be read ({exc}).",
                code="InvalidParquet",
            ) from None
        return {"columns": {f.name: str(f.type) for f in schema}, "rows": meta.num_rows}

    # -- notebooks --------------------------------------------------------------------------
    def _notebook(self, path: str, old: TreeEntry | None, new: TreeEntry | None) -> dict[str, Any]:
        """nbdime's diff (``notebook_diff``); a side that is too large, not JSON or not an
        nbformat notebook makes it a text diff with a ``notice`` saying why."""
        for entry in (old, new):
            if entry is not None and entry.size > MAX_NOTEBOOK_DIFF_BYTES:
                why = f"{path} is over {MAX_NOTEBOOK_DIFF_BYTES // MiB} MiB"
                return {"kind": "text", "notice": f"Shown as text: {why}."}
        try:
            sides = [
                parsed(path, e.sha256, functools.partial(self.read, e, 0, e.size)) if e is not None else None
                for e in (old, new)
            ]
            body = notebook_diff(
                path,
                sides[0],
                sides[1],
                ignore_outputs=self.ignore_outputs,
                ignore_metadata=self.ignore_metadata,
            )
        except InvalidRequest as exc:
            return {"kind": "text", "notice": f"Shown as text: {exc.message}"}
        return {"kind": "notebook", **body}

    # -- cards ------------------------------------------------------------------------------
    def _card(self, old: TreeEntry | None, new: TreeEntry | None) -> dict[str, Any]:
        metas = []
        for entry in (old, new):  # a README over MAX_CARD_BYTES has no metadata, as in card_at
            text = ""
            if entry is not None and entry.size <= MAX_CARD_BYTES:
                text = self.read(entry, 0, entry.size).decode("utf-8", "replace")
            metas.append(split_card(text)[0])
        return {"fields": field_changes(metas[0], metas[1])}


class _RangeFile(io.RawIOBase):
    """A read-only file over ranged reads, for pyarrow to find and read a footer."""

    def __init__(self, diff: StructuredDiff, entry: TreeEntry) -> None:
        self.diff, self.entry, self.pos = diff, entry, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.entry.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer: Any) -> int:
        data = self.diff.read(self.entry, self.pos, self.pos + len(buffer))
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)
