"""Structured diff of two 5 GB safetensors checkpoints (issue 28's measure): bytes read and time.

Two checkpoints of 48 tensors of 100 MiB and a few small ones, made as sparse files (the
header and the small tensors written, the rest a hole: ``truncate``), are placed straight in
a hub's blob store as whole blobs (no Xet chunks, so whether a large tensor changed cannot be
told without reading it: the hard case for the byte budget). The second has one small tensor
changed, one added and one reshaped. Measured in-process, ``StructuredDiff.file`` as the
compare endpoint calls it with ``structured=1``:

- bytes read, against the two files' size (what comparing them whole reads);
- time, median of ``REPEATS``, against ``safetensors.safe_open`` reading both headers (the
  library's own floor for "list the tensors of two files").
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import statistics
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import MB, MiB, Result
from workbench.config import HubSettings

log = logging.getLogger(__name__)

BIG = 48  # tensors of BIG_BYTES each: 48 x 100 MiB = 5.03 GB
BIG_BYTES = 100 * MiB
REPEATS = 20
GOAL_BYTES = 1 * MB


def _write(path: Path, small: dict[str, np.ndarray]) -> int:
    """A sparse safetensors file: the small tensors written, then ``BIG`` zero tensors as a hole."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    pos = 0
    for name, arr in small.items():
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [pos, pos + arr.nbytes]}
        pos += arr.nbytes
    for i in range(BIG):
        header[f"layers.{i}.weight"] = {
            "dtype": "F32",
            "shape": [BIG_BYTES // 4],
            "data_offsets": [pos, pos + BIG_BYTES],
        }
        pos += BIG_BYTES
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for arr in small.values():
            f.write(arr.astype("<f4").tobytes())
        f.truncate(8 + len(text) + pos)
    return 8 + len(text) + pos


def _checkpoints(work: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    old = {
        "emb.w": rng.standard_normal((64, 64), dtype=np.float32),
        "norm.b": rng.standard_normal(4096, dtype=np.float32),
        "proj.w": rng.standard_normal((32, 16), dtype=np.float32),
    }
    new = dict(old)
    new["emb.w"] = old["emb.w"].copy()
    new["emb.w"][7, 9] += 0.5
    new["proj.w"] = old["proj.w"].reshape(16, 32)
    new["head.w"] = rng.standard_normal((8, 8), dtype=np.float32)
    a, b = work / "a.safetensors", work / "b.safetensors"
    _write(a, old)
    _write(b, new)
    return a, b


def _place(store, path: Path):  # type: ignore[no-untyped-def]
    """Move a file into the blob store under a stand-in key (hashing 5 GB is not the point)."""
    from workbench.store.trees import TreeEntry

    with open(path, "rb") as f:
        key = hashlib.sha256(path.name.encode() + f.read(4096)).hexdigest()
    dest = Path(store.blobs.key(key))
    dest.parent.mkdir(parents=True, exist_ok=True)
    path.rename(dest)
    return TreeEntry.large("model.safetensors", key, dest.stat().st_size)


def _check(diff: dict[str, Any]) -> None:
    assert [t["name"] for t in diff["changed"]] == ["emb.w"], diff
    assert abs(diff["changed"][0]["maxAbsChange"] - 0.5) < 1e-6, diff
    assert [t["name"] for t in diff["added"]] == ["head.w"], diff
    assert [t["name"] for t in diff["reshaped"]] == ["proj.w"], diff
    assert diff["removed"] == [] and len(diff["unchecked"]) == BIG, diff


def run(root: Path) -> list[Result]:
    from safetensors import safe_open

    from workbench.store.diffs import StructuredDiff
    from workbench.store.store import Store

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    store = Store.open(HubSettings(data_dir=root / "data", write_user_config=False))
    try:
        old, new = (_place(store, p) for p in _checkpoints(root))
        size = old.size + new.size
        times, read = [], 0
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            diff = StructuredDiff(store)
            body = diff.file("model.safetensors", old, new)
            times.append(time.perf_counter() - t0)
            assert body is not None
            _check(body)
            read = diff.bytes_read
        floor = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            for entry in (old, new):
                with safe_open(store.blobs.key(entry.sha256), "np") as f:
                    names = [(k, f.get_slice(k).get_shape()) for k in f.keys()]
            floor.append(time.perf_counter() - t0)
        assert len(names) == BIG + 4
    finally:
        store.close()
        shutil.rmtree(root, ignore_errors=True)
    diff_s, floor_s = statistics.median(times), statistics.median(floor)
    log.info(
        "diffs: %d bytes read of %d, %.2f ms (safe_open %.2f ms)", read, size, diff_s * 1e3, floor_s * 1e3
    )
    gb = size / 2 / 1e9
    return [
        Result(
            f"diffs: safetensors diff of two {gb:.1f} GB checkpoints, bytes read",
            read / 1e3,
            "kB",
            size / 1e3,
            "both files whole",
            read / size,
            goal="<= 1 MB",
            passed=read <= GOAL_BYTES,
            note="sparse files as whole blobs (no Xet chunks); 1 changed, 1 added, 1 reshaped tensor",
        ),
        Result(
            f"diffs: safetensors diff of two {gb:.1f} GB checkpoints, time",
            diff_s * 1e3,
            "ms",
            floor_s * 1e3,
            "safe_open of both headers",
            diff_s / floor_s,
            note=f"median of {REPEATS}, warm page cache; StructuredDiff.file, as compare?structured=1",
        ),
    ]
