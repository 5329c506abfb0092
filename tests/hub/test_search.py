"""Search: ranking, prefixes, filters, sorts, pages, reindexing, privacy, the HF list endpoints,
download counts and ``workbench search``, against a hub on SQLite and one on PostgreSQL.

Each backend gets its own hub (module scope) seeded with the same small corpus, so totals
are exact. Tests that change repos use repos of their own.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from sqlalchemy import text, update

from tests.support.hub import HubProcess
from tests.support.postgres import create_database
from workbench.client import HubClient
from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store.access import ANONYMOUS
from workbench.store.accounts import (
    create_org,
    create_token,
    create_user,
    get_account,
    principal_for,
    set_membership,
)
from workbench.store.search import search_repos
from workbench.store.search_index import REINDEX_KEY, reindex_pending
from workbench.store.store import Store

CARDS: dict[tuple[str, str], tuple[dict[str, Any], str]] = {
    ("model", "admin/tiny-classifier"): (
        {
            "license": "mit",
            "library_name": "sklearn",
            "pipeline_tag": "tabular-classification",
            "tags": ["iris", "demo"],
        },
        "# Tiny classifier\n\nA tiny classifier for the iris flowers, trained in a notebook.",
    ),
    ("model", "admin/big-transformer"): (
        {
            "license": "apache-2.0",
            "library_name": "transformers",
            "pipeline_tag": "text-classification",
            "tags": ["demo"],
        },
        "# Big transformer\n\nA large language model. We compared it with a classifier once.",
    ),
    ("dataset", "admin/iris"): (
        {
            "license": "cc-by-4.0",
            "task_categories": ["tabular-classification"],
            "tags": ["iris"],
            "pretty_name": "Iris flowers",
        },
        "# Iris\n\nFisher's 150 flowers, three species, four measurements.",
    ),
    ("paper", "admin/attention"): (
        {
            "title": "Attention Is All You Need",
            "authors": ["Ashish Vaswani", "Noam Shazeer"],
            "abstract": "The dominant sequence transduction models are based on recurrent or "
            "convolutional neural networks. We propose the Transformer.",
        },
        "",
    ),
    ("model", "carol/sentiment-model"): (
        {"license": "mit", "library_name": "transformers", "pipeline_tag": "text-classification"},
        "# Sentiment\n\nA sentiment classifier for product reviews. Café crème.",
    ),
    ("model", "carol/secret-classifier"): (
        {"license": "mit", "library_name": "sklearn"},
        "# Secret\n\nA private classifier nobody else may see.",
    ),
}
PUBLIC = {rid for (_t, rid) in CARDS if "secret" not in rid}


def card(meta: dict[str, Any], body: str) -> bytes:
    import yaml

    return f"---\n{yaml.safe_dump(meta, sort_keys=True)}---\n{body}\n".encode()


@dataclass
class SearchHub:
    hub: HubProcess
    backend: str
    carol: str  # write token of the second user, who owns carol/*
    bob: str  # a third user who owns nothing

    @property
    def url(self) -> str:
        return self.hub.url

    def store(self) -> Store:
        return Store.open(
            HubSettings(data_dir=self.hub.data, database_url=self.hub.database_url, write_user_config=False)
        )

    def api(self, token: str | None = None) -> HfApi:
        return HfApi(endpoint=self.url, token=token or self.hub.token)

    def search(self, token: str | None = "admin", **params: Any) -> dict[str, Any]:
        token = self.hub.token if token == "admin" else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = httpx.get(f"{self.url}/api/search", params=params, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def ids(self, token: str | None = "admin", **params: Any) -> list[str]:
        return [r["id"] for r in self.search(token, **params)["results"]]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchHub]:
    url = None
    if request.param == "postgres":
        url = create_database(request.getfixturevalue("postgres_server"), f"t_search_{uuid.uuid4().hex[:12]}")
    hub = HubProcess(
        tmp_path_factory.mktemp(f"search-{request.param}"),
        database_url=url,
        env={"WORKBENCH_BUILTIN_METRICS": "false"},
    )  # only the repos made here
    hub.start()
    try:
        yield _seed(hub, request.param)
    finally:
        hub.stop()


def _seed(hub: HubProcess, backend: str) -> SearchHub:
    store = Store.open(HubSettings(data_dir=hub.data, database_url=hub.database_url, write_user_config=False))
    try:
        with store.write() as s:
            carol = create_token(s, create_user(s, "carol"), "rw")
            bob = create_token(s, create_user(s, "bob"), "rw")
    finally:
        store.close()
    out = SearchHub(hub, backend, carol, bob)
    for (repo_type, rid), (meta, body) in CARDS.items():  # HfApi knows no papers
        token = carol if rid.startswith("carol/") else hub.token
        with HubClient(hub.url, token, progress=False) as client:
            client.create_repo(rid, type=repo_type, private="secret" in rid)
            client.upload(rid, {"README.md": card(meta, body)}, type=repo_type)
    return out


# -- matching and ranking ----------------------------------------------------------------------


def test_name_and_card_match_beats_a_single_mention_in_the_body(shub: SearchHub) -> None:
    ids = shub.ids(None, q="classifier")
    assert ids.index("admin/tiny-classifier") < ids.index("admin/big-transformer")
    result = shub.search(None, q="classifier")["results"][0]
    assert result["id"] == "admin/tiny-classifier" and result["score"] > 0
    assert result["title"] == "tiny-classifier" and result["type"] == "model"
    assert result["summary"] == "A tiny classifier for the iris flowers, trained in a notebook."
    assert result["license"] == "mit" and result["library"] == "sklearn"
    assert result["task"] == "tabular-classification" and "iris" in result["tags"]
    assert result["lastModified"].endswith("Z") and result["private"] is False


def test_prefix_words_and_diacritics(shub: SearchHub) -> None:
    assert shub.ids(q="tiny-cl") == ["admin/tiny-classifier"]
    assert shub.ids(q="TINY cl") == ["admin/tiny-classifier"]
    assert shub.ids(q="classifier tiny") == ["admin/tiny-classifier"]
    assert shub.ids(q="cafe creme") == ["carol/sentiment-model"]  # "Café crème"
    assert shub.ids(q="transduction") == ["admin/attention"]  # a paper's abstract
    paper = shub.search(q="vaswani")["results"]
    assert [p["title"] for p in paper] == ["Attention Is All You Need"]
    assert paper[0]["summary"].startswith("The dominant sequence transduction models")
    assert shub.search(q="zzzunknownword") == {
        "results": [],
        "total": 0,
        "totalExact": True,
        "query": "zzzunknownword",
    }


def test_filters(shub: SearchHub) -> None:
    assert shub.ids(type="dataset") == ["admin/iris"]
    assert set(shub.ids(type=["model", "paper"], token=None)) == PUBLIC - {"admin/iris"}
    assert set(shub.ids(task="tabular-classification")) == {"admin/tiny-classifier", "admin/iris"}
    assert set(shub.ids(library="transformers")) == {"admin/big-transformer", "carol/sentiment-model"}
    assert set(shub.ids(license="MIT", token=None)) == {"admin/tiny-classifier", "carol/sentiment-model"}
    assert shub.ids(author="carol", token=None) == ["carol/sentiment-model"]
    assert set(shub.ids(tags="iris")) == {"admin/tiny-classifier", "admin/iris"}
    assert shub.ids(tags=["iris", "demo"]) == ["admin/tiny-classifier"]
    assert shub.ids(q="classifier", type="model", license="mit", token=None) == [
        "admin/tiny-classifier",
        "carol/sentiment-model",
    ]


def test_sorts(shub: SearchHub) -> None:
    store = shub.store()
    try:
        with store.write() as s:
            for i, rid in enumerate(sorted(PUBLIC)):
                ns, name = rid.split("/")
                s.execute(
                    update(m.Repo)
                    .where(m.Repo.namespace == ns, m.Repo.name == name)
                    .values(downloads=100 - i, likes=i)
                )
    finally:
        store.close()
    by_name = sorted(PUBLIC)
    assert shub.ids(sort="downloads", token=None) == by_name
    assert shub.ids(token=None) == by_name  # no query: relevance means downloads
    assert shub.ids(sort="likes", token=None) == by_name[::-1]
    created = shub.ids(sort="createdAt", token=None)
    assert created[0] == "carol/sentiment-model" and created[-1] == "admin/tiny-classifier"
    modified = shub.ids(sort="lastModified", token=None)
    assert shub.ids(sort="last_modified", token=None) == modified
    assert set(modified) == PUBLIC
    assert shub.ids(q="classifier", sort="downloads", token=None) == [
        "admin/big-transformer",
        "admin/tiny-classifier",
        "carol/sentiment-model",
    ]


def test_pages_and_totals(shub: SearchHub) -> None:
    everything = shub.search(token=None, limit=100)
    assert everything["total"] == len(PUBLIC) == len(everything["results"])
    assert everything["totalExact"] is True  # a few matches: counted on either backend
    pages = [shub.search(token=None, limit=2, offset=o) for o in range(0, 6, 2)]
    assert [p["total"] for p in pages] == [len(PUBLIC)] * 3
    assert [r["id"] for p in pages for r in p["results"]] == [r["id"] for r in everything["results"]]
    ranked = shub.ids(q="classifier", limit=100)
    assert [i for o in range(len(ranked)) for i in shub.ids(q="classifier", limit=1, offset=o)] == ranked
    assert shub.search(q="classifier", offset=50)["results"] == []


def test_bounded_scoring_pages_are_consistent(shub: SearchHub) -> None:
    """Past SCORE_CAP matches per tier, the rest follow newest first: pages still add up."""
    store = shub.store()
    try:
        with store.read() as s:
            account = get_account(s, "admin")
            assert account is not None
            admin = principal_for(s, account, "write")
            exact = search_repos(s, admin, query="classifier", limit=100)
            for cap in (1, 2):
                capped = search_repos(s, admin, query="classifier", limit=100, score_cap=cap)
                assert capped.total == exact.total
                assert sorted(r.id for r in capped.results) == sorted(r.id for r in exact.results)
                paged = [
                    r.id
                    for o in range(exact.total + 1)
                    for r in search_repos(
                        s, admin, query="classifier", limit=1, offset=o, score_cap=cap
                    ).results
                ]
                assert paged == [r.id for r in capped.results]
                assert any(r.score is None for r in capped.results) == (cap == 1)
    finally:
        store.close()


def test_bad_parameters_get_the_workbench_envelope(shub: SearchHub) -> None:
    for params, code in (
        ({"sort": "stars"}, "InvalidSort"),
        ({"type": "car"}, "InvalidRepoType"),
        ({"limit": 0}, "InvalidParameter"),
        ({"limit": 101}, "InvalidParameter"),
        ({"offset": -1}, "InvalidParameter"),
    ):
        r = httpx.get(f"{shub.url}/api/search", params=params)
        assert r.status_code == 400, params
        assert r.json()["error"]["code"] == code and r.headers["X-Error-Code"] == code
        assert isinstance(r.json()["error"]["message"], str)


# -- the index follows the repos ---------------------------------------------------------------


def test_card_edit_reindexes(shub: SearchHub) -> None:
    api, rid = shub.api(), f"admin/edited-{secrets.token_hex(3)}"
    api.create_repo(rid)
    api.upload_file(
        path_or_fileobj=card({"tags": ["oldtag"]}, "Mentions aardvark."),
        path_in_repo="README.md",
        repo_id=rid,
    )
    assert shub.ids(q="aardvark") == [rid] and shub.ids(tags="oldtag") == [rid]
    api.upload_file(
        path_or_fileobj=card({"tags": ["newtag"]}, "Now about zebras."), path_in_repo="README.md", repo_id=rid
    )
    assert shub.ids(q="aardvark") == [] and shub.ids(tags="oldtag") == []
    assert shub.ids(q="zebras") == [rid] and shub.ids(tags="newtag") == [rid]
    api.create_branch(rid, branch="draft")
    with pytest.warns(UserWarning, match="metadata"):  # a card without any, as the public hub warns
        api.upload_file(
            path_or_fileobj=card({}, "Only on a branch: okapi."),
            path_in_repo="README.md",
            repo_id=rid,
            revision="draft",
        )
    assert shub.ids(q="okapi") == []  # the index follows main
    api.delete_file("README.md", repo_id=rid)
    assert shub.ids(q="zebras") == [] and shub.ids(q=rid.split("/")[1]) == [rid]
    api.delete_repo(rid)


def test_move_and_delete_reindex(shub: SearchHub) -> None:
    api, word = shub.api(), f"wombat{secrets.token_hex(3)}"
    api.create_repo(f"admin/{word}-old")
    assert shub.ids(q=f"{word} old") == [f"admin/{word}-old"]
    api.move_repo(f"admin/{word}-old", f"admin/{word}-new")
    assert shub.ids(q=f"{word} old") == []
    assert shub.ids(q=f"{word} new") == [f"admin/{word}-new"]
    api.delete_repo(f"admin/{word}-new")
    assert shub.search(q=word)["total"] == 0


def test_repos_from_before_the_index_are_indexed_at_start(shub: SearchHub) -> None:
    store = shub.store()
    try:
        with store.write() as s:  # what migration 0002 leaves on a hub with repos
            if shub.backend == "sqlite":
                s.execute(text("DELETE FROM repo_search"))
            else:
                s.execute(text("DELETE FROM search_vectors"))
            s.execute(text("DELETE FROM search_docs"))
            s.execute(text("DELETE FROM search_facets"))
            s.add(m.KeyValue(key=REINDEX_KEY, value="pending"))
        assert shub.ids(q="classifier") == []
        assert reindex_pending(store) >= len(CARDS)
        assert reindex_pending(store) == 0
    finally:
        store.close()
    assert shub.ids(q="tiny-cl") == ["admin/tiny-classifier"]
    assert shub.ids(tags=["iris", "demo"]) == ["admin/tiny-classifier"]
    assert set(shub.ids(q="iris")) == {"admin/iris", "admin/tiny-classifier"}


# -- privacy -----------------------------------------------------------------------------------


def test_private_repos_only_for_those_who_may_read_them(shub: SearchHub) -> None:
    secret = "carol/secret-classifier"
    for token in (None, shub.bob):
        assert secret not in shub.ids(token, q="classifier")
        assert secret not in shub.ids(token, q="secret")
        assert secret not in shub.ids(token, author="carol", limit=100)
        assert secret not in shub.ids(token, license="mit", sort="downloads")
        found = shub.search(token, q="classifier")
        assert found["total"] == len(found["results"]) == 3
    assert [x.id for x in shub.api(shub.bob).list_models(search="secret")] == []
    assert [x.id for x in shub.api(shub.carol).list_models(search="secret")] == [secret]
    for token in (shub.carol, "admin"):
        found = shub.search(token, q="classifier")
        assert secret in [r["id"] for r in found["results"]] and found["total"] == 4
        assert shub.search(token, q="secret")["results"][0]["private"] is True
    anon = httpx.get(f"{shub.url}/api/models", params={"search": "secret"}).json()
    assert anon == []
    store = shub.store()
    try:
        with store.read() as s:
            assert secret not in [r.id for r in search_repos(s, ANONYMOUS, limit=100).results]
    finally:
        store.close()


def test_org_members_and_visibility_changes(shub: SearchHub) -> None:
    word, org = f"quokka{secrets.token_hex(3)}", f"team-{secrets.token_hex(3)}"
    store = shub.store()
    try:
        with store.write() as s:
            bob = get_account(s, "bob")
            assert bob is not None
            set_membership(s, create_org(s, org), bob, "read")
    finally:
        store.close()
    rid = f"{org}/plans"
    with HubClient(shub.url, shub.hub.token, progress=False) as admin:
        admin.create_repo(rid, private=True)
        admin.upload(rid, {"README.md": card({"tags": ["plans"]}, f"About {word}.")})
    try:
        assert shub.ids(shub.bob, q=word) == [rid]  # a member of the org
        assert shub.ids(shub.bob, author=org) == [rid]
        assert shub.ids(shub.carol, q=word) == [] and shub.ids(None, q=word) == []
        assert shub.search(shub.carol, author=org) == {
            "results": [],
            "total": 0,
            "totalExact": True,
            "query": "",
        }
        shub.api().update_repo_settings(rid, private=False)
        assert shub.ids(None, q=word) == [rid] and shub.ids(shub.carol, q=word) == [rid]
        shub.api().update_repo_settings(rid, private=True)
        assert shub.ids(None, q=word) == [] and shub.ids(shub.bob, q=word) == [rid]
    finally:
        shub.api().delete_repo(rid)


# -- HF list endpoints -------------------------------------------------------------------------


def test_hf_list_endpoints_use_the_index(shub: SearchHub) -> None:
    api = shub.api()
    assert [x.id for x in api.list_models(search="tiny-cl")] == ["admin/tiny-classifier"]
    # word order and the namespace: a substring (LIKE) match would find neither
    assert [x.id for x in api.list_models(search="classifier tiny")] == ["admin/tiny-classifier"]
    assert [x.id for x in api.list_models(search="carol sentiment")] == ["carol/sentiment-model"]
    assert [x.id for x in api.list_datasets(search="iris")] == ["admin/iris"]
    # the HF list search is about ids: a word only in a card body does not count
    assert [x.id for x in api.list_models(search="notebook")] == []
    r = httpx.get(f"{shub.url}/api/models", params=[("search", "tiny"), ("search", "class")])
    assert [x["id"] for x in r.json()] == ["admin/tiny-classifier"]
    assert {x.id for x in api.list_models(filter="demo")} == {
        "admin/tiny-classifier",
        "admin/big-transformer",
    }
    assert [x.id for x in api.list_models(filter=["demo", "license:mit"])] == ["admin/tiny-classifier"]
    assert [x.id for x in api.list_models(author="carol", filter="carol")] == [
        "carol/secret-classifier",
        "carol/sentiment-model",
    ]  # admin sees private repos
    ids = [x.id for x in api.list_models(search="classifier", sort="downloads", limit=5)]
    assert set(ids) == {"admin/tiny-classifier", "carol/secret-classifier"}


# -- download counts ---------------------------------------------------------------------------


def test_downloads_are_counted_in_batches(shub: SearchHub, tmp_path: Path) -> None:
    api, rid = shub.api(), f"admin/counted-{secrets.token_hex(3)}"
    api.create_repo(rid)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=rid)
    for i in range(2):
        hf_hub_download(
            rid, "config.json", endpoint=shub.url, token=shub.hub.token, cache_dir=tmp_path / f"cache{i}"
        )
    httpx.get(f"{shub.url}/{rid}/resolve/main/config.json")  # not flagged: not counted
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if api.model_info(rid).downloads == 2:
            break
        time.sleep(0.3)
    assert api.model_info(rid).downloads == 2
    assert shub.search(q=rid.split("/")[1])["results"][0]["downloads"] == 2
    api.delete_repo(rid)


# -- clients -----------------------------------------------------------------------------------


def test_hub_client_search(shub: SearchHub) -> None:
    with HubClient(shub.url, shub.carol, progress=False) as client:
        hits = [h["id"] for h in client.search("classifier", type="model", license="mit")]
        # the id matches first (in an order bm25 picks), then the body match
        assert sorted(hits[:2]) == ["admin/tiny-classifier", "carol/secret-classifier"]
        assert hits[2:] == ["carol/sentiment-model"]
        assert len(client.search(limit=2)) == 2
        everything = client.search(limit=500)
        assert len(everything) == len({h["id"] for h in everything}) >= len(CARDS)
        assert client.search(type=["dataset", "paper"], sort="createdAt")[0]["id"] == "admin/attention"


def test_cli_search(shub: SearchHub) -> None:
    out = shub.hub.cli("search", "tiny", "--json", "--limit", "5")
    assert [r["id"] for r in json.loads(out.stdout)] == ["admin/tiny-classifier"]
    out = shub.hub.cli("search", "classifier", "--type", "model", "--license", "mit")
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["TYPE", "ID", "LIKES", "DOWNLOADS", "UPDATED", "TITLE"]
    ids = [line.split()[1] for line in lines[1:]]  # the CLI logs in as admin: sees all
    assert sorted(ids[:2]) == ["admin/tiny-classifier", "carol/secret-classifier"]
    assert ids[2:] == ["carol/sentiment-model"] and "(private)" in out.stdout
    assert {line.index(rid) for line, rid in zip(lines[1:], ids, strict=True)} == {
        lines[0].index("ID")
    }  # aligned columns
    out = shub.hub.cli("search", "--tag", "iris", "--tag", "demo", "--json")
    assert [r["id"] for r in json.loads(out.stdout)] == ["admin/tiny-classifier"]
    out = shub.hub.cli("search", "zzznothing", check=False)
    assert out.returncode == 0 and "No matching repos" in out.stderr
    out = shub.hub.cli("search", "x", "--sort", "stars", check=False)
    assert out.returncode == 2 and "relevance" in out.stderr


def test_sorted_searches_agree_whichever_way_they_run(
    shub: SearchHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both backends sort few matches and walk the sort index for many: same pages."""
    from workbench.store import search_postgres, search_sqlite

    store = shub.store()
    cases: list[dict[str, Any]] = [
        {"sort": "downloads"},
        {"sort": "likes", "types": "model"},
        {"query": "classifier", "sort": "lastModified"},
        {"license": "mit", "sort": "createdAt"},
        {"tags": ["demo"], "query": "tiny", "sort": "downloads"},
        {"author": "carol"},
    ]
    try:
        with store.read() as s:
            for who in (ANONYMOUS, principal_for(s, get_account(s, "carol"), "write")):  # type: ignore[arg-type]
                for backend in (search_sqlite, search_postgres):  # always sort
                    monkeypatch.setattr(backend, "WALK_COST", 1e9)
                sorted_ = [search_repos(s, who, limit=100, **c) for c in cases]
                for backend in (search_sqlite, search_postgres):  # always walk
                    monkeypatch.setattr(backend, "WALK_COST", 0.0)
                walked = [
                    [
                        r.id
                        for o in range(page.total)
                        for r in search_repos(s, who, limit=1, offset=o, **c).results
                    ]
                    for c, page in zip(cases, sorted_, strict=True)
                ]
                assert walked == [[r.id for r in page.results] for page in sorted_]
                assert all(page.total == len(page.results) > 0 for page in sorted_)
    finally:
        store.close()


def test_hf_list_searches_agree_sorted_or_walked(shub: SearchHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The HF list endpoints' name order: the matches sorted, or the name index walked."""
    from workbench.store import repos

    store = shub.store()
    cases: list[dict[str, Any]] = [
        {"repo_type": "model", "search": ["classifier"]},
        {"repo_type": None, "search": ["ad"]},
        {"repo_type": "model", "search": ["tiny", "cl"]},
        {"repo_type": "dataset", "search": ["iris"]},
        {"repo_type": None, "search": ["carol"], "filters": ["carol"]},
    ]
    try:
        with store.read() as s:
            for who in (ANONYMOUS, principal_for(s, get_account(s, "carol"), "write")):  # type: ignore[arg-type]
                chosen = [
                    [_id(r) for r in repos.list_repos(s, who, limit=3, **c)] for c in cases
                ]  # sorted or walked, as the counts say
                monkeypatch.setattr(repos, "_sort_matches", lambda *a: True)  # always sort
                sorted_ = [[_id(r) for r in repos.list_repos(s, who, limit=100, **c)] for c in cases]
                monkeypatch.setattr(repos, "_sort_matches", lambda *a: False)  # always walk
                walked = [
                    [
                        _id(r)
                        for o in range(len(ids))
                        for r in repos.list_repos(s, who, limit=1, offset=o, **c)
                    ]
                    for c, ids in zip(cases, sorted_, strict=True)
                ]
                assert walked == sorted_
                assert all(sorted_) and max(map(len, sorted_)) > 1
                assert chosen == [ids[:3] for ids in sorted_]
                assert sorted_ == [
                    [_id(r) for r in repos.list_repos(s, who, **c)]  # no limit
                    for c in cases
                ]
                monkeypatch.undo()
    finally:
        store.close()


def _id(repo: Any) -> str:
    return f"{repo.type}:{repo.namespace}/{repo.name}"
