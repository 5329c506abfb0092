"""Structured diffs on the compare endpoint: safetensors tensors, Parquet schema and rows,
card fields; read through headers and footers (``bytesRead``), never whole files.

Content goes up with the stock ``HfApi`` (through Xet by default; over git-LFS where a test
pins it, so both ways the hub keeps a file are diffed).
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from huggingface_hub import CommitOperationAdd, constants
from safetensors.torch import save_file

from tests.support.kernel import make_user
from workbench.errors import InvalidRequest
from workbench.store.diffs import (
    ChunkMap,
    StructuredDiff,
    Tensor,
    field_changes,
    max_abs_change,
    parse_header,
)
from workbench.store.trees import TreeEntry

MiB = 1024 * 1024


def _compare(hub, repo: str, base: str, head: str, *, kind: str = "models", **params: str):  # type: ignore[no-untyped-def]
    r = httpx.get(
        f"{hub.url}/api/{kind}/{repo}/compare/{base}/{head}",
        params={"structured": "1", **params},
        headers={"Authorization": f"Bearer {hub.token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return r.json()


def _by_path(answer: dict, path: str) -> dict:  # type: ignore[type-arg]
    return next(f["structured"] for f in answer["files"] if f["path"] == path)


def _checkpoints(tmp_path: Path) -> tuple[Path, Path]:
    """Two checkpoints: ``w`` changed (max abs change 0.5), ``extra`` added, ``r`` reshaped;
    ``big1`` and ``big2`` (4 MiB each) the same."""
    g = torch.Generator().manual_seed(0)
    old = {
        "big1": torch.randn(1024, 1024, generator=g),
        "big2": torch.randn(1024, 1024, generator=g),
        "w": torch.randn(8, 8, generator=g),
        "r": torch.randn(4, 6, generator=g),
        "b": torch.arange(10, dtype=torch.int64),
    }
    new = {k: v.clone() for k, v in old.items()}
    new["w"][3, 4] += 0.5
    new["w"][0, 0] -= 0.25
    new["r"] = old["r"].reshape(6, 4).clone()
    new["extra"] = torch.ones(3, dtype=torch.bfloat16)
    save_file(old, a := tmp_path / "a.safetensors")
    save_file(new, b := tmp_path / "b.safetensors")
    return a, b


def _upload_two(api, repo: str, path: str, a: Path, b: Path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    first = api.upload_file(path_or_fileobj=str(a), path_in_repo=path, repo_id=repo).oid
    second = api.upload_file(path_or_fileobj=str(b), path_in_repo=path, repo_id=repo).oid
    return first, second


def _assert_named(diff: dict) -> None:  # type: ignore[type-arg]
    assert diff["kind"] == "safetensors"
    assert [t["name"] for t in diff["added"]] == ["extra"]
    assert diff["added"][0] == {"name": "extra", "dtype": "BF16", "shape": [3]}
    assert diff["removed"] == []
    assert diff["reshaped"] == [
        {
            "name": "r",
            "old": {"name": "r", "dtype": "F32", "shape": [4, 6]},
            "new": {"name": "r", "dtype": "F32", "shape": [6, 4]},
        }
    ]
    assert [t["name"] for t in diff["changed"]] == ["w"]
    assert diff["changed"][0]["maxAbsChange"] == pytest.approx(0.5)


def test_safetensors_diff_through_xet_chunks(hub, api, repo_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = _checkpoints(tmp_path)
    first, second = _upload_two(api, repo_id, "model.safetensors", a, b)
    answer = _compare(hub, repo_id, first, second)
    diff = _by_path(answer, "model.safetensors")
    _assert_named(diff)
    # big1, big2 and b are known unchanged from the chunk hashes: no 8 MiB read
    assert diff["unchanged"] == 3 and diff["unchecked"] == []
    assert answer["bytesRead"] < 600 * 1024 < a.stat().st_size // 10


# huggingface_hub's git-LFS upload hands httpx the bytes as `data=`: its warning, not ours
@pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")
def test_safetensors_diff_of_whole_blobs(hub, api, repo_id: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # git-LFS: whole blobs
    a, b = _checkpoints(tmp_path)
    first, second = _upload_two(api, repo_id, "model.safetensors", a, b)

    answer = _compare(hub, repo_id, first, second)
    diff = _by_path(answer, "model.safetensors")
    _assert_named(diff)
    # without Xet chunks, telling big1 and big2 unchanged means reading them: past the budget
    assert diff["unchecked"] == ["big1", "big2"] and diff["unchanged"] == 1
    assert "values=1" in diff["notice"]
    assert answer["bytesRead"] < 64 * 1024

    answer = _compare(hub, repo_id, first, second, values="1")
    diff = _by_path(answer, "model.safetensors")
    _assert_named(diff)
    assert diff["unchanged"] == 3 and diff["unchecked"] == [] and "notice" not in diff
    assert answer["bytesRead"] >= 16 * MiB


def _lying(path: Path, header: dict, data: bytes) -> Path:  # type: ignore[type-arg]
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def test_lying_headers_get_a_clear_notice(hub, api, repo_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    past_end = _lying(
        tmp_path / "p.safetensors", {"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8
    )
    overlap = _lying(
        tmp_path / "o.safetensors",
        {
            "x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
        },
        b"\0" * 12,
    )
    base = api.upload_file(path_or_fileobj=b"hello\n", path_in_repo="notes.txt", repo_id=repo_id).oid
    head = api.create_commit(
        repo_id,
        [
            CommitOperationAdd("past_end.safetensors", str(past_end)),
            CommitOperationAdd("overlap.safetensors", str(overlap)),
        ],
        commit_message="two liars",
    ).oid
    answer = _compare(hub, repo_id, base, head)
    for path, words in (("past_end.safetensors", "data_offsets"), ("overlap.safetensors", "overlaps")):
        error = _by_path(answer, path)["error"]
        assert error["code"] == "InvalidSafetensors"
        assert path in error["message"] and words in error["message"]


@pytest.mark.parametrize(
    ("header", "data", "words"),
    [
        ({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, 8, "data bytes"),
        ({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, 16, "takes 12 bytes"),
        ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, 8, "hole"),
        ({"x": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}, 4, "unknown dtype"),
        ({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4, "shape"),
        ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}, 8, "data_offsets"),
        ({"__metadata__": ["no"]}, 0, "__metadata__"),
    ],
)
def test_parse_header_refuses_lies(header: dict, data: int, words: str) -> None:  # type: ignore[type-arg]
    text = json.dumps(header).encode()
    head = struct.pack("<Q", len(text)) + text
    with pytest.raises(InvalidRequest, match=words) as info:
        parse_header("m.safetensors", head, len(head) + data)
    assert info.value.code == "InvalidSafetensors"


def test_parse_header_refuses_a_length_past_the_file() -> None:
    with pytest.raises(InvalidRequest, match="claims"):
        parse_header("m.safetensors", struct.pack("<Q", 10**12) + b"{}", 100)
    with pytest.raises(InvalidRequest, match="not JSON"):
        parse_header("m.safetensors", struct.pack("<Q", 2) + b"{[", 10)


def test_max_abs_change_dtypes() -> None:
    f32 = torch.tensor([1.0, 2.0, float("nan")])
    g32 = torch.tensor([1.5, 0.0, float("nan")])
    assert max_abs_change("F32", f32.numpy().tobytes(), g32.numpy().tobytes()) == 2.0
    bf = torch.tensor([1.0, 2.0], dtype=torch.bfloat16).view(torch.int16).numpy().tobytes()
    bg = torch.tensor([1.0, 4.0], dtype=torch.bfloat16).view(torch.int16).numpy().tobytes()
    assert max_abs_change("BF16", bf, bg) == 2.0
    assert max_abs_change("U8", bytes([0, 200]), bytes([255, 0])) == 255.0
    assert max_abs_change("F8_E4M3", b"\x01", b"\x02") is None


def _table(rows: int, *, extra: bool) -> pa.Table:
    cols = {"id": pa.array(range(rows), pa.int64()), "text": pa.array([f"row {i}" for i in range(rows)])}
    if extra:
        cols["score"] = pa.array([i / 2 for i in range(rows)], pa.float64())
    return pa.table(cols)


def test_parquet_schema_and_rows(hub, api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = "admin/diff-parquet"
    api.create_repo(repo, repo_type="dataset", exist_ok=True)
    pq.write_table(_table(200_000, extra=False), a := tmp_path / "a.parquet")
    pq.write_table(_table(250_000, extra=True), b := tmp_path / "b.parquet")
    first = api.upload_file(
        path_or_fileobj=str(a), path_in_repo="data/train.parquet", repo_id=repo, repo_type="dataset"
    ).oid
    second = api.upload_file(
        path_or_fileobj=str(b), path_in_repo="data/train.parquet", repo_id=repo, repo_type="dataset"
    ).oid
    answer = _compare(hub, repo, first, second, kind="datasets")
    diff = _by_path(answer, "data/train.parquet")
    columns = {"added": [{"name": "score", "type": "double"}], "removed": [], "retyped": []}
    assert diff == {
        "kind": "parquet",
        "columns": columns,
        "rows": {"old": 200_000, "new": 250_000},
        "config": "default",
        "split": "train",
    }
    assert answer["splits"] == [
        {"config": "default", "split": "train", "rowsChange": 50_000, "columns": columns}
    ]
    assert answer["bytesRead"] < (a.stat().st_size + b.stat().st_size) // 4

    api.upload_file(
        path_or_fileobj=b"PAR1 not really", path_in_repo="data/bad.parquet", repo_id=repo, repo_type="dataset"
    )
    error = _by_path(_compare(hub, repo, second, "main", kind="datasets"), "data/bad.parquet")["error"]
    assert error["code"] == "InvalidParquet" and "data/bad.parquet" in error["message"]


def test_card_fields(hub, api, repo_id: str) -> None:  # type: ignore[no-untyped-def]
    card = "---\nlicense: mit\ntags: [a]\nmodel-index:\n  name: x\n---\n# Card\n"
    first = api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id).oid
    card = "---\nlicense: apache-2.0\ntags: [a, b]\nlanguage: en\n---\n# Card, edited\n"
    second = api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id).oid
    diff = _by_path(_compare(hub, repo_id, first, second), "README.md")
    assert diff == {
        "kind": "card",
        "fields": [
            {"field": "license", "change": "changed", "old": "mit", "new": "apache-2.0"},
            {"field": "model-index.name", "change": "removed", "old": "x"},
            {"field": "tags", "change": "changed", "old": ["a"], "new": ["a", "b"]},
            {"field": "language", "change": "added", "new": "en"},
        ],
    }


def test_field_changes_keep_yaml_values_json() -> None:
    import datetime

    changes = field_changes({"when": datetime.date(2024, 1, 2)}, {"when": float("nan")})
    assert changes == [{"field": "when", "change": "changed", "old": "2024-01-02", "new": "nan"}]


def test_private_repo_stays_private(hub, api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = "admin/diff-private"
    api.create_repo(repo, private=True, exist_ok=True)
    a, b = _checkpoints(tmp_path)
    first, second = _upload_two(api, repo, "model.safetensors", a, b)
    other = make_user(hub)
    r = httpx.get(
        f"{hub.url}/api/models/{repo}/compare/{first}/{second}",
        params={"structured": "1"},
        headers={"Authorization": f"Bearer {other.read_token}"},
    )
    assert r.status_code == 404
    assert "structured" not in r.text


def test_plain_compare_reads_nothing(hub, api, repo_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = _checkpoints(tmp_path)
    first, second = _upload_two(api, repo_id, "model.safetensors", a, b)
    r = httpx.get(
        f"{hub.url}/api/models/{repo_id}/compare/{first}/{second}",
        headers={"Authorization": f"Bearer {hub.token}"},
    )
    assert r.status_code == 200
    assert "bytesRead" not in r.json() and "structured" not in r.json()["files"][0]


def test_pull_request_diff_through_compare(hub, api, repo_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A PR's structured diff: compare its fork point with its head, both from its details."""
    a, b = _checkpoints(tmp_path)
    api.upload_file(path_or_fileobj=str(a), path_in_repo="model.safetensors", repo_id=repo_id)
    info = api.upload_file(
        path_or_fileobj=str(b), path_in_repo="model.safetensors", repo_id=repo_id, create_pr=True
    )
    num = int(info.pr_url.rsplit("/", 1)[1])
    details = httpx.get(
        f"{hub.url}/api/models/{repo_id}/discussions/{num}", headers={"Authorization": f"Bearer {hub.token}"}
    ).json()
    changes = details["changes"]
    _assert_named(_by_path(_compare(hub, repo_id, changes["baseOid"], changes["head"]), "model.safetensors"))
    # the PR's ref names the same head
    _assert_named(
        _by_path(_compare(hub, repo_id, changes["baseOid"], f"refs%2Fpr%2F{num}"), "model.safetensors")
    )


class _InMemory(StructuredDiff):
    """The diff's decisions over two files held in memory, chunked at given offsets."""

    def __init__(self, files: dict[str, bytes], cuts: dict[str, list[int]], budget: int) -> None:
        super().__init__(store=None, value_budget=budget)  # type: ignore[arg-type]
        self.data = files
        for name, starts in cuts.items():
            ends = [*starts[1:], len(files[name])]
            hashes = [hashlib.sha256(files[name][s:e]).digest() for s, e in zip(starts, ends, strict=True)]
            self._chunks[name] = ChunkMap(starts, hashes, len(files[name]))

    def read(self, entry, start: int, end: int) -> bytes:  # type: ignore[no-untyped-def]
        self.bytes_read += end - start
        return self.data[entry.xet_hash][start:end]


def _entry(name: str, size: int) -> TreeEntry:
    return TreeEntry.large("m.safetensors", name * 64, size, xet_hash=name)


def test_chunk_hashes_decide_without_reading_what_they_cover() -> None:
    tensor = bytes(range(256)) * 64  # 16 KiB
    a, b = b"A" * 100 + tensor + b"z" * 50, b"BB" * 75 + tensor + b"y" * 70
    ta, tb = (
        Tensor("U8", (len(tensor),), 100, 100 + len(tensor)),
        Tensor("U8", (len(tensor),), 150, 150 + len(tensor)),
    )
    ea, eb = _entry("a", len(a)), _entry("b", len(b))
    aligned = {"a": [0, 40, *range(1124, 16484, 1024)], "b": [0, 90, *range(1174, 16534, 1024)]}
    diff = _InMemory({"a": a, "b": b}, aligned, budget=1 << 20)
    assert diff._same_bytes(ea, ta, eb, tb) is True
    assert diff.bytes_read == 2 * (1024 + 1024)  # the first kilobyte and the last, not 16 KiB
    # cut differently on each side (as after a change upstream): nothing decided, all read
    shifted = {"a": list(range(0, len(a), 1000)), "b": list(range(0, len(b), 1000))}
    diff = _InMemory({"a": a, "b": b}, shifted, budget=1 << 20)
    assert diff._same_bytes(ea, ta, eb, tb) is True and diff.bytes_read == 2 * len(tensor)
    assert _InMemory({"a": a, "b": b}, shifted, budget=1024)._same_bytes(ea, ta, eb, tb) is None
    # a change inside a chunk both sides cut alike: decided without reading
    changed = b[:5000] + b"\xff" + b[5001:]
    diff = _InMemory({"a": a, "b": changed}, aligned, budget=1 << 20)
    assert diff._same_bytes(ea, ta, eb, tb) is False and diff.bytes_read == 0
