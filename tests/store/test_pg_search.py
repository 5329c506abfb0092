"""PostgreSQL's narrow search tables (migrations 0008, 0010, 0011): backfill, downgrade, text.

The searches themselves are tests/hub/test_search.py, on both backends; this file checks what only
PostgreSQL has: that a hub indexed before 0008 (``search_docs.document``) finds the same repos,
with the same totals, order and scores, after the upgrades backfilled ``search_vectors``,
``search_heads`` and then ``search_ranks``, that the downgrades give the earlier tables back
(0007's columns, 0010's ``search_heads``), and that the scores read from ``search_ranks``, in
both tiers, are those of the whole vector.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, insert, select, text

from tests.support.hub import HubProcess
from workbench.client import HubClient
from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store import search_postgres
from workbench.store.access import Principal
from workbench.store.accounts import create_org, create_user, get_account, principal_for, set_membership
from workbench.store.commits import AddFile, create_commit
from workbench.store.db import alembic_config
from workbench.store.repos import RepoKey, create_repo, list_repos, update_settings
from workbench.store.search import search_repos
from workbench.store.search_index import reindex_repo, write_documents
from workbench.store.search_postgres import PG_PAD_TOKEN, pg_rank, pg_vector
from workbench.store.search_query import Filters, Hit
from workbench.store.search_text import build_document
from workbench.store.store import Store

pytestmark = pytest.mark.postgres

CARDS = {
    ("alice", "tiny-classifier", False): "---\ntags: [iris, demo]\nlicense: mit\n"
    "library_name: sklearn\n---\nA tiny classifier of irises.",
    ("alice", "secret-bert", True): "---\ntags: [medical]\n---\nA bert for medical notes.",
    ("lab", "bert-medical", True): "---\nlicense: apache-2.0\n---\nClinical bert, medical text.",
    ("bob", "iris-notes", False): "---\nlicense: mit\n---\nNotes on the iris classifier, über.",
}
WALKED: list[dict[str, object]] = [{"query": q} for q in ("bert", "iris", "classifier", "med", "notes")] + [
    {"query": "iris", "license": "mit"},
    {"query": "bert", "types": ["model"], "author": "lab"},
    {"query": "classifier", "tags": ["iris"]},
    {"query": "a", "library": "sklearn"},
    {"query": "medical", "types": ["dataset"]},
]
LIST_SEARCHES = [["tiny"], ["bert"], ["medical"], ["iris", "no"], ["lab"], ["mit"], ["cl"]]
QUERIES = [
    {"query": "classifier"},
    {"query": "bert"},
    {"query": "med"},
    {"query": "iris cl"},
    {"license": "mit"},
    {"tags": ["iris", "demo"]},
    {"query": "uber"},
    {},
    {"types": ["model"], "sort": "downloads"},
    {"query": "bert", "author": "lab"},
]


@pytest.fixture
def store(postgres_url: str, tmp_path: Path) -> Iterator[Store]:
    st = Store.open(
        HubSettings(data_dir=tmp_path / "data", database_url=postgres_url, write_user_config=False)
    )
    yield st
    st.close()


def _seed(store: Store) -> tuple[Principal, Principal]:
    with store.write() as s:
        alice, bob = create_user(s, "alice"), create_user(s, "bob")
        set_membership(s, create_org(s, "lab"), alice, "write")
        writers = {"alice": principal_for(s, alice, "write"), "bob": principal_for(s, bob, "write")}
        writers["lab"] = writers["alice"]
        for ns, name, private in CARDS:
            create_repo(store, s, writers[ns], "model", ns, name, private=private)
    for (ns, name, _), card in CARDS.items():
        create_commit(
            store,
            writers[ns],
            ("model", ns, name),
            "main",
            [AddFile("README.md", store.blobs.ingest_bytes(card.encode()))],
            summary="card",
        )
    with store.read() as s:
        return (
            principal_for(s, get_account(s, "alice"), "read"),  # type: ignore[arg-type]
            principal_for(s, get_account(s, "bob"), "read"),
        )  # type: ignore[arg-type]


def _answers(store: Store, *principals: Principal) -> list[tuple[int, list[str]]]:
    out = []
    with store.read() as s:
        for p in principals:
            for q in QUERIES:
                page = search_repos(s, p, **q)  # type: ignore[arg-type]
                out.append((page.total, [f"{r.id} {r.score}" for r in page.results]))
            for words in LIST_SEARCHES:  # the HF list endpoints: the repo id's words
                ids = [f"{r.namespace}/{r.name}" for r in list_repos(s, p, repo_type="model", search=words)]
                out.append((len(ids), ids))
    return out


def _name_lexemes(store: Store) -> list[tuple[int, list[str]]]:
    with store.read() as s:
        return [
            (int(i), list(lx))
            for i, lx in s.execute(
                text(
                    "SELECT repo_id, array_agg(u.lexeme ORDER BY u.lexeme) FROM search_vectors, "
                    "unnest(doc) u WHERE u.lexeme LIKE '\\_n\\_%' GROUP BY repo_id ORDER BY 1"
                )
            )
        ]


def _migrate(store: Store, revision: str, *, down: bool = False) -> None:
    with store.engine.begin() as conn:
        cfg = alembic_config(store.engine)
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_backfill_and_downgrade_keep_every_answer(store: Store) -> None:
    alice, bob = _seed(store)
    before = _answers(store, alice, bob)
    assert [r.split()[0] for r in before[0][1]] == ["alice/tiny-classifier", "bob/iris-notes"]
    assert before[0][0] == 2  # the name beats the body
    per_caller = len(QUERIES) + len(LIST_SEARCHES)
    assert before[1][0] == 2 and before[per_caller + 1][0] == 0  # private: alice, not bob
    assert before[len(QUERIES)][1] == ["alice/tiny-classifier"]  # list_models(search="tiny")

    _migrate(store, "0007", down=True)
    with store.read() as s:
        assert s.scalar(text("SELECT to_regclass('search_vectors')")) is None
        hits = s.scalars(
            text(
                "SELECT d.repo_id FROM search_docs d WHERE d.head @@ "
                "to_tsquery('simple', 'classifier') ORDER BY 1"
            )
        ).all()
        assert len(hits) == 1  # the id and metadata words, without the body
        assert (
            s.scalar(
                text("SELECT count(*) FROM search_docs WHERE document @@ to_tsquery('simple', 'classifier')")
            )
            == 2
        )

    _migrate(store, "0010")  # 0008 backfills from search_docs.document, 0010 from 0008's
    with store.read() as s:
        assert s.scalar(text("SELECT count(*) FROM search_vectors")) == len(CARDS)
        assert s.scalar(text("SELECT count(*) FROM search_heads")) == len(CARDS)
        columns = s.scalars(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = 'search_docs'")
        ).all()
        assert "document" not in columns and "head" not in columns
    heads = _head_rows(store)
    _migrate(store, "head")  # 0011 backfills search_ranks from the vectors
    with store.read() as s:
        assert s.scalar(text("SELECT to_regclass('search_heads')")) is None
        assert s.scalar(text("SELECT count(*) FROM search_ranks")) == len(CARDS)
        assert s.scalar(
            text(
                "SELECT count(*) FROM search_vectors v JOIN search_ranks r "
                "USING (repo_id) WHERE r.doc = ts_filter(v.doc, '{a,b,c}')"
            )
        ) == len(CARDS)
    assert _answers(store, alice, bob) == before

    migrated = _name_lexemes(store)  # 0012 added the repo id's words, as the writer does
    assert len(migrated) == len(CARDS) and ["_n_alice", "_n_classifier", "_n_tiny"] in [
        lx for _, lx in migrated
    ]
    with store.write() as s:
        for repo in s.scalars(select(m.Repo)):
            reindex_repo(s, store, repo)
    assert _name_lexemes(store) == migrated

    _migrate(store, "0011", down=True)
    assert _name_lexemes(store) == []
    _migrate(store, "0010", down=True)  # search_heads again, as 0010 wrote it
    assert _head_rows(store) == heads
    with store.read() as s:
        assert s.scalar(text("SELECT to_regclass('search_ranks')")) is None
    _migrate(store, "head")
    assert _answers(store, alice, bob) == before


def _head_rows(store: Store) -> list[tuple[int, str]]:
    with store.read() as s:
        return [
            (int(i), str(h))
            for i, h in s.execute(
                text("SELECT repo_id, CAST(head AS text) FROM search_heads ORDER BY repo_id")
            )
        ]


def test_vector_text_holds_the_fts5_token_shapes(store: Store) -> None:
    doc = pg_vector("alice tiny", "mit iris", "tiny " + "x" * 3000 + " iris", "__repo __o1")
    with store.read() as s:
        lexemes = s.scalar(
            text(
                "SELECT array_agg(lexeme || ':' || "
                "coalesce(array_to_string(weights, ''), '') "
                "ORDER BY lexeme) FROM unnest(CAST(:d AS tsvector))"
            ),
            {"d": doc},
        )
    assert lexemes == [
        "__o1:",
        f"{PG_PAD_TOKEN}:",
        "__repo:",
        "_alice:A",
        "_iris:B",
        "_mit:B",
        "_n_alice:",
        "_n_tiny:",
        "_tiny:A",
        "iris:C",
        "tiny:C",
    ]
    # the 3,000-letter word is too long to index; "_n_": the repo id's words (migration 0012)


def test_walked_and_indexed_newest_matches_agree(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dense matches are found by walking the newest rows, others by the GIN index: same pages."""
    alice, bob = _seed(store)

    def pages() -> list[list[tuple[str, float | None]]]:
        out = []
        with store.read() as s:
            for p in (alice, bob):
                for q in WALKED:  # the filters: on repos when walked, lexemes in the index
                    for offset in range(4):  # score_cap 1: scored, then listed past the cap
                        page = search_repos(s, p, limit=1, offset=offset, score_cap=1, **q)  # type: ignore[arg-type]
                        out.append([(r.id, r.score) for r in page.results])
        return out

    found: list[tuple[int, bool]] = []  # what each walk of the newest rows found, filtered?
    walk = search_postgres.TsVectorBackend._walk_newest

    def counted(self: search_postgres.TsVectorBackend, f: Filters, *args: object) -> tuple[list[Hit], int]:
        hits, n = walk(self, f, *args)  # type: ignore[arg-type]
        found.append((n, bool(f.facets or f.types or f.author)))
        return hits, n

    monkeypatch.setattr(search_postgres.TsVectorBackend, "_walk_newest", counted)
    walked = pages()
    answered = [filtered for n, filtered in found if n]  # the walk, not only the index
    assert len(answered) >= 4 and any(answered) and not all(answered)
    monkeypatch.setattr(search_postgres, "WALK_WINDOW", 0)  # every newest-matches list from GIN
    assert pages() == walked
    assert sum(1 for p in walked if p) > 10


def test_rank_rows_are_the_vectors_ranked_words(store: Store) -> None:
    """``search_ranks`` follows every write of ``search_vectors``, stored in line, and ranks
    both tiers as the whole vector does."""
    alice, _ = _seed(store)
    with store.write() as s:  # a visibility change and a new card rewrite the index
        writer = principal_for(s, get_account(s, "alice"), "write")  # type: ignore[arg-type]
        update_settings(store, s, writer, RepoKey("model", "lab", "bert-medical"), private=False)
    create_commit(
        store,
        writer,
        ("model", "alice", "tiny-classifier"),
        "main",
        [
            AddFile(
                "README.md", store.blobs.ingest_bytes(b"---\ntags: [iris, flowers]\n---\nNow with flowers.")
            )
        ],
        summary="card",
    )
    with store.read() as s:
        for q in (
            "'_iris' | '_flowers' & '_tiny'",  # a first-tier ranking: _words only
            "('flowers' | '_flowers') & ('now' | '_now')",
        ):  # the second tier's
            rows = s.execute(
                text(
                    "SELECT v.repo_id, ts_filter(v.doc, '{a,b,c}') = r.doc, "
                    "ts_rank_cd(v.doc, CAST(:q AS tsquery)), ts_rank_cd(r.doc, CAST(:q AS tsquery)) "
                    "FROM search_vectors v JOIN search_ranks r USING (repo_id)"
                ),
                {"q": q},
            ).all()
            assert len(rows) == len(CARDS)
            assert all(same for _, same, _, _ in rows)
            assert [a for *_, a, _ in rows] == [b for *_, b in rows]
            assert any(a > 0 for *_, a, _ in rows)
        storage = s.execute(
            text(
                "SELECT a.attstorage, c.reloptions FROM pg_attribute a JOIN pg_class c "
                "ON c.oid = a.attrelid WHERE c.relname = 'search_ranks' AND a.attname = 'doc'"
            )
        ).one()
        assert storage[0] == "m" and "toast_tuple_target=8160" in storage[1]
        no_filters = s.scalar(
            text("SELECT count(*) FROM search_ranks, unnest(doc) u WHERE u.lexeme LIKE '\\_\\_%'")
        )
        assert no_filters == 0  # no filter or padding lexemes: only what ranking reads
    assert (
        pg_rank("alice tiny", "mit", "tiny notes") == "'_alice':1A '_tiny':2A '_mit':3B 'tiny':4C 'notes':5C"
    )
    with store.read() as s:
        page = search_repos(s, alice, query="flowers")
        assert [r.id for r in page.results] == ["alice/tiny-classifier"]
        assert page.results[0].score and page.results[0].score > 0
        page = search_repos(s, alice, query="now flowers")  # body words: the second tier
        assert [r.id for r in page.results] == ["alice/tiny-classifier"]
        assert page.results[0].score and page.results[0].score > 0


def _bulk(store: Store, rows: list[tuple[str, str, bool, str]]) -> None:
    """Repos ``(namespace, name, private, card body)`` with their index documents, inserted
    in bulk (as bench/search.py seeds), then ``ANALYZE``: the planner's estimates."""
    with store.write() as s:
        owners = {a.name: a.id for a in s.scalars(select(m.Account))}
        start = int(s.scalar(select(func.coalesce(func.max(m.Repo.id), 0))) or 0) + 1
        now = datetime(2026, 1, 1)
        repos = [
            {
                "id": start + i,
                "type": "model",
                "namespace": ns,
                "name": name,
                "owner_id": owners[ns],
                "private": private,
                "created_at": now,
                "last_modified": now,
                "card_data": {"license": "mit"},
                "downloads": (start + i) * 7919 % 1009,
                "likes": 0,
            }
            for i, (ns, name, private, _) in enumerate(rows)
        ]
        s.execute(insert(m.Repo), repos)
        write_documents(
            s,
            [build_document(m.Repo(**r), body) for r, (*_, body) in zip(repos, rows, strict=True)],
            fresh=True,
        )
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def test_dense_matches_are_counted_up_to_the_bound(store: Store) -> None:
    """Matches in most of the hub: "at least ``total_bound``" from the newest rows, with the
    pages an exact count gives; sparse matches, deep pages and others' private repos: exact."""
    with store.write() as s:
        create_user(s, "alice")
        create_user(s, "bob")
    # alice's 300 private repos (older) all hold "hidden"; of bob's 400, 360 hold "common"
    _bulk(
        store,
        [("alice", f"secret-{i}", True, "hidden common") for i in range(300)]
        + [("bob", f"repo-{i}", False, "common words" if i % 10 else "other words") for i in range(400)],
    )
    with store.read() as s:
        who = {
            n: principal_for(s, get_account(s, n), "read")  # type: ignore[arg-type]
            for n in ("alice", "bob")
        }
        cases: list[tuple[str, dict[str, object], int, bool]] = [
            ("bob", {"query": "common"}, 50, False),
            ("alice", {"query": "common"}, 50, False),
            ("bob", {"query": "comm"}, 50, False),  # a prefix
            ("bob", {"sort": "downloads"}, 50, False),
            ("bob", {"types": ["model"]}, 50, False),
            ("bob", {"query": "words", "sort": "likes"}, 50, False),
            ("bob", {"query": "other"}, 40, True),  # sparse: counted
            ("bob", {"query": "hidden"}, 0, True),  # alice's: dense in the estimate only
            ("alice", {"query": "hidden"}, 50, False),
            ("bob", {"query": "common", "offset": 40, "limit": 20}, 360, True),
        ]  # past it
        for name, q, total, exact in cases:
            bounded = search_repos(s, who[name], total_bound=50, **q)  # type: ignore[arg-type]
            counted = search_repos(s, who[name], total_bound=0, **q)  # type: ignore[arg-type]
            assert (bounded.total, bounded.total_exact) == (total, exact), (name, q)
            assert counted.total_exact and counted.total >= total
            assert [(r.id, r.score) for r in bounded.results] == [(r.id, r.score) for r in counted.results], (
                name,
                q,
            )
        assert search_repos(s, who["bob"], query="common", total_bound=0).total == 360
        assert search_repos(s, who["bob"], total_bound=0).total == 400
        pages = [
            r.id
            for o in range(0, 50, 10)
            for r in search_repos(s, who["bob"], query="common", total_bound=50, offset=o, limit=10).results
        ]
        assert pages == [
            r.id for r in search_repos(s, who["bob"], query="common", total_bound=0, limit=50).results
        ]
        assert not any(r.startswith("alice/") for r in pages)


def test_clients_page_on_past_an_inexact_total(store: Store, postgres_url: str, tmp_path: Path) -> None:
    """Over HTTP: ``totalExact`` false under 1,000 dense matches, and ``HubClient.search``
    keeps asking past them."""
    hub = HubProcess(tmp_path / "hub", database_url=postgres_url).start()
    try:
        _bulk(store, [("admin", f"m-{i}", False, "dense words") for i in range(1100)])
        with HubClient(hub.url, hub.token, progress=False) as client:
            page = client.request("GET", "/api/search", params={"q": "dense"}).json()
            assert (page["total"], page["totalExact"]) == (1000, False)
            deep = client.request(
                "GET", "/api/search", params={"q": "dense", "offset": 1000, "limit": 50}
            ).json()
            assert (deep["total"], deep["totalExact"], len(deep["results"])) == (1100, True, 50)
            found = client.search("dense", limit=1050)
            assert len({r["id"] for r in found}) == 1050
    finally:
        hub.stop()
