"""The dataset viewer on a real hub: conversion to Parquet, rows, search, filter, statistics.

CSV, JSON Lines and Parquet datasets with several splits are uploaded with the HF client,
converted in the background, and every answer is checked against pandas reading the same
files. Private datasets stay invisible; a file that cannot be parsed fails its conversion
with the reason while the rest of the repo works.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import time
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.client import HubClient
from workbench.config import HubSettings
from workbench.errors import Conflict, InvalidRequest
from workbench.kernel.viewer import Viewer
from workbench.store.accounts import create_token, create_user
from workbench.store.store import Store

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
# a valid 8 kHz mono 16-bit WAV of 4 silent samples
WAV = (
    b"RIFF"
    + (36 + 8).to_bytes(4, "little")
    + b"WAVEfmt "
    + (16).to_bytes(4, "little")
    + (1).to_bytes(2, "little")
    + (1).to_bytes(2, "little")
    + (8000).to_bytes(4, "little")
    + (16000).to_bytes(4, "little")
    + (2).to_bytes(2, "little")
    + (16).to_bytes(2, "little")
    + b"data"
    + (8).to_bytes(4, "little")
    + b"\0" * 8
)


def wait_converted(
    hub: Any, repo: str, *, token: str | None = None, commit: str | None = None, timeout: float = 90
) -> dict[str, Any]:
    """Poll the viewer status until the latest (or ``commit``'s) conversion is done or failed."""
    headers = {"Authorization": f"Bearer {token or hub.token}"}
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(f"{hub.url}/api/datasets/{repo}/viewer/status", headers=headers, timeout=30).json()
        if status["status"] in ("done", "failed") and (commit is None or status["commit"] == commit):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def csv_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array("alpha beta gamma delta refund great awful okay shipping late".split())
    score = rng.normal(0.5, 0.25, n).round(4)
    score[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(n) + seed * 1000,
            "user name": rng.choice(["ann", "bob", "cy"], n),
            "text": [
                " ".join(rng.choice(words, 5)) + ("," if i % 7 == 0 else "") + ' "q"' * (i % 11 == 0)
                for i in range(n)
            ],
            "score": score,
            "count": rng.integers(-50, 500, n),
            "flag": rng.random(n) < 0.3,
            "label": rng.choice(["pos", "neg", "neutral"], n),
        }
    )


@pytest.fixture(scope="module")
def client(hub: Any) -> HubClient:
    c = HubClient(hub.url, hub.token, progress=False)
    yield c  # type: ignore[misc]
    c.close()


@pytest.fixture(scope="module")
def csv_repo(hub: Any, client: HubClient) -> dict[str, Any]:
    repo = f"admin/viewer-csv-{secrets.token_hex(3)}"
    frames = {"train": csv_frame(600, 1), "validation": csv_frame(40, 2), "test": csv_frame(80, 3)}
    files = {f"data/{split}.csv": df.to_csv(index=False).encode() for split, df in frames.items()}
    client.create_repo(repo, type="dataset")
    commit = client.upload(repo, files, type="dataset", message="csv")["commitOid"]
    status = wait_converted(hub, repo, commit=commit)
    assert status["status"] == "done", status
    # what pandas (and so `datasets`) reads from the same bytes
    read = {
        split: pd.read_csv(io.BytesIO(data)) for split, data in ((s, files[f"data/{s}.csv"]) for s in frames)
    }
    return {"repo": repo, "frames": read, "commit": commit, "status": status}


def get(hub: Any, repo: str, what: str, token: str | None = "admin", **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {hub.token if token == 'admin' else token}"} if token else {}
    return httpx.get(
        f"{hub.url}/api/datasets/{repo}/viewer/{what}", params=params, headers=headers, timeout=60
    )


def frame_of(page: dict[str, Any]) -> pd.DataFrame:
    names = [f["name"] for f in page["features"]]
    return pd.DataFrame(
        [r["row"] for r in page["rows"]], columns=names, index=[r["row_idx"] for r in page["rows"]]
    )


def same_rows(page: dict[str, Any], expected: pd.DataFrame) -> None:
    got = frame_of(page)
    assert list(got.index) == list(expected.index)
    got = got.astype(expected.dtypes.to_dict())  # an all-null page column has no type of its own
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


# -- conversion and pages ----------------------------------------------------------------------


def test_csv_splits_and_refs(hub: Any, client: HubClient, csv_repo: dict[str, Any]) -> None:
    repo = csv_repo["repo"]
    splits = get(hub, repo, "splits").json()
    assert [(s["config"], s["split"], s["num_rows"]) for s in splits["splits"]] == [
        ("default", "train", 600),
        ("default", "validation", 40),
        ("default", "test", 80),
    ]
    assert csv_repo["status"]["parquet"]["source_commit"] == csv_repo["commit"]
    refs = client.list_refs(repo, type="dataset")
    assert [r["ref"] for r in refs["converts"]] == ["refs/convert/parquet"]
    files = {f["path"] for f in client.list_files(repo, type="dataset", revision="refs/convert/parquet")}
    assert {
        "default/train/0000.parquet",
        "default/validation/0000.parquet",
        "default/test/0000.parquet",
        "README.md",
    } <= files
    size = get(hub, repo, "size").json()["size"]
    assert size["dataset"]["num_rows"] == 720
    assert {s["split"]: s["num_columns"] for s in size["splits"]} == dict.fromkeys(
        ("train", "validation", "test"), 7
    )
    assert get(hub, repo, "is-valid").json() == dict.fromkeys(
        ("preview", "viewer", "search", "filter", "statistics"), True
    )
    parquet = get(hub, repo, "parquet").json()["parquet_files"]
    data = httpx.get(parquet[0]["url"], headers={"Authorization": f"Bearer {hub.token}"}).content
    assert pq.read_table(io.BytesIO(data)).num_rows == 600


def test_rows_pages_match_the_file(hub: Any, csv_repo: dict[str, Any]) -> None:
    repo, df = csv_repo["repo"], csv_repo["frames"]["train"]
    first = get(hub, repo, "first-rows", split="train").json()
    assert first["truncated"] is True and len(first["rows"]) == 100
    assert [f["name"] for f in first["features"]] == list(df.columns)
    types = {f["name"]: f["type"] for f in first["features"]}
    assert types["id"] == {"dtype": "int64", "_type": "Value"}
    assert types["flag"] == {"dtype": "bool", "_type": "Value"}
    same_rows(first, df.iloc[:100])
    for offset, length in ((0, 1), (17, 100), (590, 100), (599, 5)):
        page = get(hub, repo, "rows", split="train", offset=offset, length=length).json()
        assert page["num_rows_total"] == 600
        same_rows(page, df.iloc[offset : offset + length])
    assert get(hub, repo, "rows", split="train", offset=600).json()["rows"] == []
    test = get(hub, repo, "rows", split="test", offset=3, length=4).json()
    same_rows(test, csv_repo["frames"]["test"].iloc[3:7])


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"split": "train", "length": 101}, 400, "InvalidParameter"),
        ({"split": "train", "offset": -1}, 400, "InvalidParameter"),
        ({"split": "nope"}, 404, "SplitNotFound"),
        ({"split": "train", "config": "nope"}, 404, "ConfigNotFound"),
        ({}, 400, "MissingParameter"),
        ({"split": "train", "revision": "no-such-branch"}, 404, "RevisionNotFound"),
    ],
)
def test_bad_page_requests(
    hub: Any, csv_repo: dict[str, Any], params: dict[str, Any], status: int, code: str
) -> None:
    r = get(hub, csv_repo["repo"], "rows", **params)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert r.headers["X-Error-Code"] == code


def wait_indexed(hub: Any, repo: str, timeout: float = 90) -> dict[str, Any]:
    """Poll the viewer status until the shown conversion's full-text index job has finished."""
    headers = {"Authorization": f"Bearer {hub.token}"}
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(f"{hub.url}/api/datasets/{repo}/viewer/status", headers=headers, timeout=30).json()
        if (status.get("parquet") or {}).get("search") in ("done", "failed", "skipped"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def word_matches(df: pd.DataFrame, columns: list[str], query: str) -> pd.DataFrame:
    """Rows holding every word of ``query`` (the last also as a prefix), as the index means it."""
    words = re.findall(r"\w+", query.lower())
    tokens = (
        df[columns]
        .fillna("")
        .astype(str)
        .apply(lambda row: set(re.findall(r"\w+", " ".join(row).lower())), axis=1)
    )
    keep = tokens.apply(
        lambda ts: all(w in ts for w in words[:-1]) and any(t.startswith(words[-1]) for t in ts)
    )
    return df[keep]


def test_search_matches_pandas(hub: Any, csv_repo: dict[str, Any]) -> None:
    repo, df = csv_repo["repo"], csv_repo["frames"]["train"]
    assert wait_indexed(hub, repo)["parquet"]["search"] == "done"
    columns = ["user name", "text", "label"]
    for query in ("refund", "REFUND late", "ann", '"q"', "gamma  delta bob", "refu", "sh late"):
        expected = word_matches(df, columns, query)
        page = get(hub, repo, "search", split="train", query=query, length=100).json()
        assert page["num_rows_total"] == len(expected), query
        assert page["ranked"] is True
        got = frame_of(page)
        if len(expected) <= 100:
            assert sorted(got.index) == list(expected.index), query
        else:
            assert len(got) == 100 and set(got.index) <= set(expected.index), query
        if len(got):
            pd.testing.assert_frame_equal(
                got.sort_index().astype(df.dtypes.to_dict()), df.loc[sorted(got.index)], check_dtype=False
            )
    # pages of one query are disjoint and together give every match
    everything = word_matches(df, columns, "refund")
    seen: list[int] = []
    for offset in range(0, len(everything), 100):
        page = get(hub, repo, "search", split="train", query="refund", offset=offset, length=100)
        seen += [r["row_idx"] for r in page.json()["rows"]]
    assert sorted(seen) == list(everything.index) and len(seen) == len(set(seen))
    assert get(hub, repo, "search", split="train", query="zzzz").json()["rows"] == []


FILTERS = [
    ("score > 0.6", lambda d: d[d.score > 0.6], None),
    ("score is null", lambda d: d[d.score.isna()], None),
    ("score is not null and count < 0", lambda d: d[d.score.notna() & (d["count"] < 0)], None),
    (
        "label = 'neg' or (flag = true and not \"user name\" = 'ann')",
        lambda d: d[(d.label == "neg") | (d.flag & (d["user name"] != "ann"))],
        None,
    ),
    (
        "label in ('pos', 'neutral') and count >= 100",
        lambda d: d[d.label.isin(["pos", "neutral"]) & (d["count"] >= 100)],
        None,
    ),
    ("text like '%refund%'", lambda d: d[d.text.str.contains("refund")], None),
    ("label not in ('pos')", lambda d: d[d.label != "pos"], None),
    ("id >= 1100 and id < 1120", lambda d: d[(d.id >= 1100) & (d.id < 1120)], "count desc, id"),
    (
        None,
        lambda d: d.sort_values(["score", "id"], ascending=[False, True], na_position="last"),
        "score desc",
    ),
]


@pytest.mark.parametrize(("where", "select", "orderby"), FILTERS)
def test_filter_matches_pandas(
    hub: Any, csv_repo: dict[str, Any], where: str | None, select: Any, orderby: str | None
) -> None:
    repo, df = csv_repo["repo"], csv_repo["frames"]["train"]
    expected = select(df)
    if orderby == "count desc, id":
        expected = expected.sort_values(["count", "id"], ascending=[False, True])
    params = {k: v for k, v in (("where", where), ("orderby", orderby)) if v}
    page = get(hub, repo, "filter", split="train", length=50, **params).json()
    assert page["num_rows_total"] == len(expected)
    same_rows(page, expected.iloc[:50])


INJECTIONS = [
    "1=1; DROP TABLE jobs",
    "id = 1; DROP TABLE jobs",
    "id = 1 -- and the rest",
    "id = 1 /* comment */",
    "id = 1 or 1=1",
    "read_csv('/etc/passwd') = 1",
    "id = (SELECT count(*) FROM jobs)",
    "id IN (SELECT id FROM read_parquet('x'))",
    "id = 1 UNION SELECT * FROM jobs",
    '"id" = 1) OR (1=1',
    "label = 'x' || 'y'",
    "nope = 1",
    "count = 'many'",
]


@pytest.mark.parametrize("where", INJECTIONS)
def test_filter_refuses_sql(hub: Any, csv_repo: dict[str, Any], where: str) -> None:
    r = get(hub, csv_repo["repo"], "filter", split="train", where=where)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "InvalidFilter"


def test_filter_quotes_are_data_not_sql(hub: Any, csv_repo: dict[str, Any]) -> None:
    repo = csv_repo["repo"]
    page = get(
        hub,
        repo,
        "filter",
        split="train",
        where="label = 'pos'' OR ''1''=''1' or text like '%''; drop table jobs; --%'",
    ).json()
    assert page["num_rows_total"] == 0
    for orderby in ("random()", "id; DROP TABLE jobs", "(SELECT 1)", "id desc nulls first"):
        r = get(hub, repo, "filter", split="train", orderby=orderby)
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidFilter", orderby
    assert get(hub, repo, "status").json()["status"] == "done"  # the jobs table is intact


# -- statistics --------------------------------------------------------------------------------


def test_statistics_match_pandas(hub: Any, csv_repo: dict[str, Any]) -> None:
    repo, df = csv_repo["repo"], csv_repo["frames"]["train"]
    started = time.perf_counter()
    stats = get(hub, repo, "statistics", split="train").json()
    first = time.perf_counter() - started
    assert stats["num_examples"] == 600 and stats["partial"] is False
    by_name = {s["column_name"]: s for s in stats["statistics"]}
    assert list(by_name) == list(df.columns)
    for name in ("id", "score", "count"):
        col = by_name[name]
        s = col["column_statistics"]
        values = df[name].dropna()
        assert col["column_type"] == ("float" if name == "score" else "int")
        assert s["nan_count"] == int(df[name].isna().sum())
        assert s["nan_proportion"] == pytest.approx(df[name].isna().mean())
        assert s["min"] == pytest.approx(values.min()) and s["max"] == pytest.approx(values.max())
        assert s["mean"] == pytest.approx(values.mean())
        assert s["median"] == pytest.approx(values.median())
        assert s["std"] == pytest.approx(values.std())  # sample std, as pandas
        hist, edges = s["histogram"]["hist"], s["histogram"]["bin_edges"]
        assert len(hist) <= 10 and edges[0] == s["min"] and edges[-1] == s["max"]
        assert hist == np.histogram(values, bins=edges)[0].tolist()
    label = by_name["label"]
    assert label["column_type"] == "string_label"
    assert label["column_statistics"]["frequencies"] == df.label.value_counts().to_dict()
    assert label["column_statistics"]["n_unique"] == 3
    assert by_name["flag"]["column_type"] == "bool"
    assert by_name["flag"]["column_statistics"]["frequencies"] == {
        str(k): v for k, v in df.flag.value_counts().to_dict().items()
    }
    text = by_name["text"]
    assert text["column_type"] == "string_text"
    lengths = df.text.str.len()
    ts = text["column_statistics"]
    assert (ts["min"], ts["max"]) == (lengths.min(), lengths.max())
    assert ts["mean"] == pytest.approx(lengths.mean())
    assert ts["histogram"]["hist"] == np.histogram(lengths, bins=ts["histogram"]["bin_edges"])[0].tolist()
    assert ts["n_unique"] == df.text.nunique()
    top = df.text.value_counts()
    assert list(ts["top_values"].values()) == top.iloc[: len(ts["top_values"])].tolist()
    # computed once per commit: the second answer is the stored one
    started = time.perf_counter()
    again = get(hub, repo, "statistics", split="train").json()
    assert again == stats
    assert time.perf_counter() - started < max(first, 0.5)


# -- other formats -----------------------------------------------------------------------------


def test_jsonl_dataset(hub: Any, client: HubClient) -> None:
    repo = f"admin/viewer-jsonl-{secrets.token_hex(3)}"
    rows = {
        split: [
            {
                "q": f"question {i} of {split}",
                "tags": ["a", "b"][: i % 3],
                "meta": {"n": i, "ok": i % 2 == 0},
                "answer": None if i % 5 == 0 else i * 1.5,
            }
            for i in range(n)
        ]
        for split, n in (("train", 30), ("test", 7))
    }
    files = {
        f"{split}.jsonl": "\n".join(json.dumps(r) for r in items).encode() + b"\n"
        for split, items in rows.items()
    }
    client.create_repo(repo, type="dataset")
    client.upload(repo, files, type="dataset")
    assert wait_converted(hub, repo)["status"] == "done"
    splits = [s["split"] for s in get(hub, repo, "splits").json()["splits"]]
    assert splits == ["train", "test"]
    page = get(hub, repo, "rows", split="test", offset=0, length=7).json()
    assert [r["row"] for r in page["rows"]] == rows["test"]
    stats = {s["column_name"]: s for s in get(hub, repo, "statistics", split="train").json()["statistics"]}
    assert stats["tags"]["column_type"] == "list"
    assert stats["tags"]["column_statistics"]["max"] == 2
    assert stats["answer"]["column_statistics"]["nan_count"] == 6
    wait_indexed(hub, repo)
    found = get(hub, repo, "search", split="train", query="question 1").json()
    # words, not substrings: "1" is a prefix of 1 and 10..19, not part of 21
    assert sorted(r["row_idx"] for r in found["rows"]) == [i for i in range(30) if str(i).startswith("1")]


def parquet_table(n: int, offset: int) -> pa.Table:
    features = {
        "text": {"dtype": "string", "_type": "Value"},
        "label": {"names": ["neg", "pos"], "_type": "ClassLabel"},
        "image": {"_type": "Image"},
        "audio": {"_type": "Audio"},
    }
    table = pa.table(
        {
            "text": [f"sentence {i + offset}" for i in range(n)],
            "label": pa.array([(i + offset) % 2 for i in range(n)], pa.int64()),
            "image": pa.array(
                [{"bytes": PNG, "path": f"img{i}.png"} if i % 4 else None for i in range(n)],
                pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
            ),
            "audio": pa.array(
                [{"bytes": WAV, "path": f"clip{i}.wav"} for i in range(n)],
                pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
            ),
        }
    )
    meta = {"huggingface": json.dumps({"info": {"features": features}})}
    return table.replace_schema_metadata(meta)


def test_parquet_configs_classlabels_and_images(hub: Any, client: HubClient) -> None:
    repo = f"admin/viewer-pq-{secrets.token_hex(3)}"
    files: dict[str, bytes] = {}
    for name, table in (
        ("en/train.parquet", parquet_table(40, 0)),
        ("en/test.parquet", parquet_table(10, 100)),
        ("fr/train-00000.parquet", parquet_table(12, 200)),
        ("fr/train-00001.parquet", parquet_table(8, 300)),
    ):
        buf = io.BytesIO()
        pq.write_table(table, buf)
        files[name] = buf.getvalue()
    files["README.md"] = b"""---
configs:
- config_name: en
  default: true
  data_files:
  - split: train
    path: en/train.parquet
  - split: test
    path: en/test.parquet
- config_name: fr
  data_files: "fr/*.parquet"
---
# Two configs
"""
    client.create_repo(repo, type="dataset")
    client.upload(repo, files, type="dataset")
    assert wait_converted(hub, repo)["status"] == "done"
    splits = get(hub, repo, "splits").json()
    assert [(s["config"], s["split"], s["num_rows"]) for s in splits["splits"]] == [
        ("en", "train", 40),
        ("en", "test", 10),
        ("fr", "train", 20),
    ]
    assert splits["default_config"] == "en"
    fr = get(hub, repo, "rows", config="fr", split="train", offset=10, length=4).json()
    assert [r["row"]["text"] for r in fr["rows"]] == [f"sentence {i}" for i in (210, 211, 300, 301)]
    page = get(hub, repo, "rows", split="train", length=5).json()  # the default config
    types = {f["name"]: f["type"] for f in page["features"]}
    assert types["label"] == {"names": ["neg", "pos"], "_type": "ClassLabel"}
    assert types["image"] == {"_type": "Image"}
    assert page["rows"][0]["row"]["image"] is None
    cell = page["rows"][1]["row"]["image"]
    assert cell["type"] == "image/png" and "/viewer/assets/" in cell["src"]
    r = httpx.get(cell["src"], headers={"Authorization": f"Bearer {hub.token}"})
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert "sandbox" in r.headers["content-security-policy"]
    assert httpx.get(cell["src"]).status_code == 200  # public repo: no token needed
    assert types["audio"] == {"_type": "Audio"}
    clip = page["rows"][1]["row"]["audio"][0]  # as the HF viewer: a list of sources
    assert clip["type"] == "audio/wav" and "/viewer/assets/" in clip["src"]
    r = httpx.get(clip["src"])
    assert r.status_code == 200 and r.content == WAV and r.headers["content-type"] == "audio/wav"
    stats = {s["column_name"]: s for s in get(hub, repo, "statistics", split="train").json()["statistics"]}
    assert stats["label"]["column_type"] == "class_label"
    assert stats["label"]["column_statistics"]["frequencies"] == {"neg": 20, "pos": 20}
    assert stats["image"]["column_type"] == "image"
    assert stats["image"]["column_statistics"]["nan_count"] == 10


def test_long_text_is_truncated(hub: Any, client: HubClient) -> None:
    repo = f"admin/viewer-long-{secrets.token_hex(3)}"
    long = "word " * 1000
    client.create_repo(repo, type="dataset")
    client.upload(repo, {"train.csv": f"id,body\n1,short\n2,{long}\n".encode()}, type="dataset")
    assert wait_converted(hub, repo)["status"] == "done"
    rows = get(hub, repo, "rows", split="train").json()["rows"]
    assert rows[0]["truncated_cells"] == [] and rows[0]["row"]["body"] == "short"
    assert rows[1]["truncated_cells"] == ["body"]
    assert long.startswith(rows[1]["row"]["body"]) and len(rows[1]["row"]["body"]) == 1000


# -- lifecycle: new commits, failures, revisions, reuse ----------------------------------------


def test_bad_file_fails_with_reason_and_the_repo_stays_usable(hub: Any, client: HubClient, api: Any) -> None:
    repo = f"admin/viewer-bad-{secrets.token_hex(3)}"
    client.create_repo(repo, type="dataset")
    client.upload(
        repo, {"data/train.jsonl": b'{"a": 1}\n{"a": 2,,}\n', "README.md": b"# broken\n"}, type="dataset"
    )
    status = wait_converted(hub, repo)
    assert status["status"] == "failed"
    assert "data/train.jsonl" in status["error"] and "Malformed JSON" in status["error"]
    r = get(hub, repo, "rows", split="train")
    assert r.status_code == 409 and r.json()["error"]["code"] == "ConversionFailed"
    assert "data/train.jsonl" in r.json()["error"]["message"]
    # the repo itself is fine: info, listing, download
    assert {s.rfilename for s in api.dataset_info(repo).siblings} >= {"data/train.jsonl"}
    assert api.hf_hub_download(repo, "README.md", repo_type="dataset")
    # a fix converts; a new bad file fails again but the last good conversion stays visible
    fixed = client.upload(repo, {"data/train.jsonl": b'{"a": 1}\n{"a": 2}\n'}, type="dataset")
    assert wait_converted(hub, repo, commit=fixed["commitOid"])["status"] == "done"
    bad = client.upload(repo, {"data/test.jsonl": b"not json at all\n"}, type="dataset")
    status = wait_converted(hub, repo, commit=bad["commitOid"])
    assert status["status"] == "failed" and "data/test.jsonl" in status["error"]
    assert status["parquet"]["source_commit"] == fixed["commitOid"] and status["parquet"]["stale"]
    assert get(hub, repo, "rows", split="train").json()["num_rows_total"] == 2
    # a failed job can be queued again by a writer
    again = httpx.post(
        f"{hub.url}/api/datasets/{repo}/viewer/refresh", headers={"Authorization": f"Bearer {hub.token}"}
    ).json()
    assert again["status"] in ("pending", "running", "failed")


def test_new_commits_revisions_and_reuse(hub: Any, client: HubClient, csv_repo: dict[str, Any]) -> None:
    repo = f"admin/viewer-rev-{secrets.token_hex(3)}"
    client.create_repo(repo, type="dataset")
    one = client.upload(repo, {"train.csv": b"x\n1\n2\n"}, type="dataset")["commitOid"]
    assert wait_converted(hub, repo, commit=one)["status"] == "done"
    two = client.upload(repo, {"train.csv": b"x\n1\n2\n3\n"}, type="dataset")["commitOid"]
    status = wait_converted(hub, repo, commit=two)
    assert status["parquet"]["source_commit"] == two
    assert get(hub, repo, "rows", split="train").json()["num_rows_total"] == 3
    assert get(hub, repo, "rows", split="train", revision=one).json()["num_rows_total"] == 2
    log = client.log(repo, type="dataset", revision="refs/convert/parquet")
    assert len(log) == 2 and [c["title"] for c in log] == [
        f"Convert {two[:7]} to Parquet",
        f"Convert {one[:7]} to Parquet",
    ]
    # a commit that changes no data file reuses the conversion
    three = client.upload(repo, {"notes.txt": b"no data here"}, type="dataset")["commitOid"]
    status = wait_converted(hub, repo, commit=three)
    assert status["status"] == "done" and status["parquet"]["commit"] == log[0]["id"]
    # other branches are not converted
    client.create_branch(repo, "dev", type="dataset")
    dev = client.upload(repo, {"train.csv": b"x\n9\n"}, type="dataset", revision="dev")
    r = get(hub, repo, "rows", split="train", revision=dev["commitOid"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "ConversionNotFound"


# -- permissions -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bob_token(hub: Any) -> str:
    store = Store.open(HubSettings(data_dir=hub.data, write_user_config=False))
    try:
        with store.write() as s:
            return create_token(s, create_user(s, f"bob-{secrets.token_hex(3)}"), "rw")
    finally:
        store.close()


VIEWER_GETS = [
    ("status", {}),
    ("splits", {}),
    ("first-rows", {"split": "train"}),
    ("rows", {"split": "train"}),
    ("search", {"split": "train", "query": "a"}),
    ("filter", {"split": "train", "where": "x > 1"}),
    ("statistics", {"split": "train"}),
    ("size", {}),
    ("is-valid", {}),
    ("parquet", {}),
]


def test_private_dataset_is_invisible(hub: Any, client: HubClient, bob_token: str) -> None:
    repo = f"admin/viewer-private-{secrets.token_hex(3)}"
    client.create_repo(repo, type="dataset", private=True)
    client.upload(repo, {"train.csv": b"x,t\n1,a\n2,b\n"}, type="dataset")
    assert wait_converted(hub, repo)["status"] == "done"
    for what, params in VIEWER_GETS:
        assert get(hub, repo, what, **params).status_code == 200, what
        for token in (None, bob_token):
            r = get(hub, repo, what, token=token, **params)
            assert r.status_code == 404, (what, token, r.text)
            assert r.json()["error"]["code"] == "RepoNotFound"
    page = get(hub, repo, "rows", split="train").json()
    conv = get(hub, repo, "splits").json()["commit"]
    asset = f"{hub.url}/api/datasets/{repo}/viewer/assets/{conv}/default/train/0/x"
    assert httpx.get(asset).status_code == 404
    assert page["num_rows_total"] == 2
    r = httpx.post(
        f"{hub.url}/api/datasets/{repo}/viewer/refresh", headers={"Authorization": f"Bearer {bob_token}"}
    )
    assert r.status_code == 404


# -- datasets and the notebook side ------------------------------------------------------------


def test_load_dataset_reads_the_converted_files(
    csv_repo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    monkeypatch.setattr(datasets.config, "USE_PARQUET_EXPORT", False)
    ds = datasets.load_dataset(csv_repo["repo"], revision="refs/convert/parquet")
    assert {k: v.num_rows for k, v in ds.items()} == {"train": 600, "validation": 40, "test": 80}
    train = ds["train"].to_pandas()
    pd.testing.assert_frame_equal(train, csv_repo["frames"]["train"], check_dtype=False)


def test_kernel_viewer_and_widget(hub: Any, client: HubClient, csv_repo: dict[str, Any]) -> None:
    df = csv_repo["frames"]["train"]
    v = Viewer(csv_repo["repo"], "train", client=client)
    assert v.wait()["status"] == "done"
    rows = v.rows(150, 250)
    assert list(rows.index) == list(range(150, 400))
    pd.testing.assert_frame_equal(
        rows.reset_index(drop=True), df.iloc[150:400].reset_index(drop=True), check_dtype=False
    )
    found = v.search("refund")
    assert found.attrs["num_rows_total"] == int(df.text.str.contains("refund").sum())
    neg = v.filter("label = 'neg'", orderby="id desc", length=10)
    assert list(neg["id"]) == list(df[df.label == "neg"].id.sort_values(ascending=False)[:10])
    with pytest.raises(InvalidRequest) as err:
        v.filter("id = 1; drop table jobs")
    assert err.value.code == "InvalidFilter"
    stats = v.statistics()
    assert stats.loc["score", "mean"] == pytest.approx(df.score.mean())
    assert stats.loc["label", "column_type"] == "string_label"
    assert v.splits()["split"].tolist() == ["train", "validation", "test"]
    html = v._repr_html_()
    assert "600 rows" in html and "<table" in html
    assert "<script" not in Viewer(csv_repo["repo"], "<script>", client=client)._repr_html_()

    w = v.widget()
    assert "rows 1–20 of 600" in w.info.value and "<table" in w.grid.value
    assert w.histograms.value.count("<b>") == 7
    w.search_box.value = "refund"
    assert f"of {found.attrs['num_rows_total']:,}" in w.info.value
    w.search_box.value = ""
    w.where_box.value = "label = 'neg'"
    w.next_button.click()
    assert w.info.value.startswith("rows 21–40 of")
    w.where_box.value = "label = neg"
    assert "InvalidFilter" in w.message.value
    with pytest.raises(Conflict):
        bad = f"admin/viewer-kbad-{secrets.token_hex(3)}"
        client.create_repo(bad, type="dataset")
        client.upload(bad, {"train.parquet": b"garbage"}, type="dataset")
        Viewer(bad, client=client).wait(timeout=60)


def test_tsv_json_array_arrow_and_gzip(hub: Any, client: HubClient) -> None:
    import gzip

    frame = pd.DataFrame({"n": [1, 2, 3], "word": ["a", "b\tc", None]})
    stream = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    cases = {
        "tsv": {"train.tsv": b'n\tword\n1\ta\n2\t"b\tc"\n3\t\n'},
        "json": {
            "train.json": json.dumps(
                [{"n": 1, "word": "a"}, {"n": 2, "word": "b\tc"}, {"n": 3, "word": None}]
            ).encode()
        },
        "arrow": {"data/train.arrow": stream.getvalue()},
        "gzip": {"train.csv.gz": gzip.compress(frame.to_csv(index=False).encode())},
    }
    for kind, files in cases.items():
        repo = f"admin/viewer-{kind}-{secrets.token_hex(3)}"
        client.create_repo(repo, type="dataset")
        client.upload(repo, files, type="dataset")
        status = wait_converted(hub, repo)
        assert status["status"] == "done", (kind, status)
        page = get(hub, repo, "rows", split="train").json()
        assert [r["row"] for r in page["rows"]] == [
            {"n": 1, "word": "a"},
            {"n": 2, "word": "b\tc"},
            {"n": 3, "word": None},
        ], kind
