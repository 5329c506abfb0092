"""Ranked full-text search of the dataset viewer: the FTS5 index job, ranking, query safety,
and the substring fallback that answers until a split's index is built."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.viewer.test_viewer import get, wait_converted, wait_indexed
from workbench.client import HubClient
from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store.fsck import fsck
from workbench.store.store import Store
from workbench.viewer import jobs

TEXTS = [
    "the parcel arrived and " + "nothing else happened here " * 6 + "refund",  # 0: one refund, long
    "refund refund refund",  # 1: dense
    "all good, thanks",  # 2
    "the refund was late",  # 3
    "Café crème was cold; REFUNDED",  # 4
    'quote " and star * and NEAR(x y) and col:umn',  # 5
]


@pytest.fixture(scope="module")
def client(hub: Any) -> HubClient:
    c = HubClient(hub.url, hub.token, progress=False)
    yield c  # type: ignore[misc]
    c.close()


@pytest.fixture(scope="module")
def reviews(hub: Any, client: HubClient) -> str:
    repo = f"admin/viewer-fts-{secrets.token_hex(3)}"
    lines = ["id,text,who"] + [
        f'{i},"{t.replace(chr(34), chr(34) * 2)}",user{i}' for i, t in enumerate(TEXTS)
    ]
    client.create_repo(repo, type="dataset")
    client.upload(repo, {"train.csv": ("\n".join(lines) + "\n").encode()}, type="dataset")
    assert wait_converted(hub, repo)["status"] == "done"
    assert wait_indexed(hub, repo)["parquet"]["search"] == "done"
    return repo


def ids(page: dict[str, Any]) -> list[int]:
    return [r["row"]["id"] for r in page["rows"]]


def test_bm25_ranks_denser_matches_first(hub: Any, reviews: str) -> None:
    page = get(hub, reviews, "search", split="train", query="refund").json()
    assert page["ranked"] is True
    assert ids(page)[0] == 1 and set(ids(page)) == {0, 1, 3, 4}  # "refu…" prefix: REFUNDED too
    assert [r["row_idx"] for r in page["rows"]] == ids(page)  # row numbers follow the rows
    assert ids(get(hub, reviews, "search", split="train", query="late refund").json()) == [3]


def test_words_are_folded_for_case_and_diacritics(hub: Any, reviews: str) -> None:
    assert ids(get(hub, reviews, "search", split="train", query="CAFE creme").json()) == [4]
    assert ids(get(hub, reviews, "search", split="train", query="user2").json()) == [2]


@pytest.mark.parametrize(
    "query", ['refund" OR "x', "NEAR(x y)", "col:umn", "star *", "and", "'; DROP TABLE rows; --"]
)
def test_query_syntax_is_never_interpreted(hub: Any, reviews: str, query: str) -> None:
    r = get(hub, reviews, "search", split="train", query=query)
    assert r.status_code == 200, r.text
    got = ids(r.json())
    assert got in ([], [5], [2, 5], [5, 2]) or set(got) <= {0, 1, 2, 3, 4, 5}
    if query == 'refund" OR "x':  # the words refund, or, x: no row holds all three
        assert got == []
    if query == "NEAR(x y)":
        assert got == [5]


def test_a_query_without_words_is_refused(hub: Any, reviews: str) -> None:
    r = get(hub, reviews, "search", split="train", query="*** ;")
    assert r.status_code == 400 and r.json()["error"]["code"] == "MissingParameter"


def test_substring_fallback_until_the_index_is_built(hub_factory: Any, tmp_path: Path) -> None:
    """With the hub's workers off, run the conversion here, search (a scan, row order), then
    build the index here, search again (ranked), and check fsck knows the index blob."""
    quiet = hub_factory(env={"WORKBENCH_VIEWER_WORKERS": "0"})
    client = HubClient(quiet.url, quiet.token, progress=False)
    try:
        repo = f"admin/fts-later-{secrets.token_hex(3)}"
        client.create_repo(repo, type="dataset")
        rows = "\n".join(f"{i},{'refund ' * (i % 3 + 1)}order {i}" for i in range(9))
        client.upload(repo, {"data.csv": f"id,text\n{rows}\n".encode()}, type="dataset")
    finally:
        client.close()
    settings = HubSettings(data_dir=quiet.data, write_user_config=False)
    store = Store.open(settings)
    try:

        def run(kind: str) -> None:
            job = jobs.claim(store, "test-worker", lease_seconds=60, kinds=(kind,))
            assert job is not None, kind
            jobs.run_job(store, settings, job, "test-worker")

        run("parquet")
        page = get(quiet, repo, "search", split="train", query="refund").json()
        assert page["ranked"] is False and ids(page) == list(range(9))
        assert get(quiet, repo, "status").json()["parquet"]["search"] == "pending"
        run("search")
        page = get(quiet, repo, "search", split="train", query="refund").json()
        assert page["ranked"] is True and sorted(ids(page)) == list(range(9))
        assert ids(page)[0] % 3 == 2  # "refund refund refund order N" first
        with store.read() as s:
            index = s.scalars(select(m.ViewerSearchIndex)).one()
        report = fsck(store, verify_hashes=True)
        assert report.ok, report.problems
        assert not [n for n in report.notes if n.subject == index.blob_sha256]
    finally:
        store.close()


def test_deleting_the_repo_drops_its_indexes_and_statistics(hub: Any, client: HubClient) -> None:
    repo = f"admin/viewer-gone-{secrets.token_hex(3)}"
    client.create_repo(repo, type="dataset")
    client.upload(repo, {"train.csv": b"id,text\n1,refund please\n2,all good\n"}, type="dataset")
    assert wait_converted(hub, repo)["status"] == "done"
    commit = wait_indexed(hub, repo)["parquet"]["commit"]
    assert get(hub, repo, "statistics", split="train").status_code == 200
    store = Store.open(HubSettings(data_dir=hub.data, database_url=hub.database_url, write_user_config=False))
    try:

        def rows() -> tuple[int, int]:
            with store.read() as s:
                return (
                    len(
                        s.scalars(select(m.ViewerStatistics).where(m.ViewerStatistics.commit == commit)).all()
                    ),
                    len(
                        s.scalars(
                            select(m.ViewerSearchIndex).where(m.ViewerSearchIndex.commit == commit)
                        ).all()
                    ),
                )

        assert rows() == (1, 1)
        client.delete_repo(repo, type="dataset")
        assert rows() == (0, 0)
    finally:
        store.close()
