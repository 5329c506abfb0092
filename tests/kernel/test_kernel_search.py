"""wb.search and wb.ui.search on a real hub: ranked results, displays, filters, privacy."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import torch

import workbench as wb
from tests.support.hub import HubProcess
from tests.support.kernel import ScaledMLP, make_user
from workbench.errors import RepoNotFound
from workbench.kernel.search import COLUMNS, SearchResults, load_line
from workbench.kernel.widgets.search_box import SearchBox


@pytest.fixture
def conn(hub: HubProcess, tmp_path_factory: pytest.TempPathFactory) -> wb.Connection:
    wb.clear_inputs()
    return wb.connect(hub.url, hub.token, cache_dir=tmp_path_factory.getbasetemp() / "wb-cache")


@pytest.fixture(scope="module")
def word() -> str:
    """A word no other repo in the session hub uses."""
    return f"zebrafinch{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def published(hub: HubProcess, word: str) -> dict[str, str]:
    wb.connect(hub.url, hub.token)
    model, data = f"admin/{word}-model", f"admin/{word}-data"
    wb.publish_model(
        ScaledMLP(2),
        model,
        card=f"Classifies {word} songs.",
        license="mit",
        task="audio-classification",
        tags=["birds"],
        example_inputs=torch.randn(2, 2),
    )
    wb.publish_dataset(
        {"train": [{"song": "tweet", "label": 1}]},
        data,
        license="cc-by-4.0",
        card=f"Recordings of {word} songs.",
        tags=["birds"],
    )
    return {"model": model, "dataset": data}


def test_search_finds_published_repos(conn: wb.Connection, published: dict[str, str], word: str) -> None:
    hits = wb.search(word)
    assert isinstance(hits, SearchResults)
    assert set(hits.ids) == set(published.values())
    by_id = {h["id"]: h for h in hits}
    model = by_id[published["model"]]
    assert model["type"] == "model" and model["license"] == "mit"
    assert model["task"] == "audio-classification" and "birds" in model["tags"]
    assert wb.search(word, type="dataset").ids == [published["dataset"]]
    assert wb.search(word, license="mit").ids == [published["model"]]
    assert wb.search(word, tags=["birds"], sort="lastModified", limit=1).ids[0] in hits.ids
    assert wb.search(f"{word} nothingelse") == []


def test_search_results_display_and_pandas(conn: wb.Connection, published: dict[str, str], word: str) -> None:
    hits = wb.search(word)
    html = hits._repr_html_()
    for rid in published.values():
        assert rid in html
    assert "audio-classification" in html and "<table" in html
    assert published["model"] in repr(hits)
    frame = hits.to_pandas()
    assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert set(frame["id"]) == set(published.values())
    empty = wb.search(f"{word}-none-<b>")
    assert "Nothing found" in empty._repr_html_() and "<b>" not in empty._repr_html_()


def test_search_results_escape_user_text() -> None:
    hits = SearchResults(
        [
            {
                "id": "a/b",
                "type": "model",
                "title": "<script>x</script>",
                "summary": '<img src=x onerror="y">',
                "task": "<i>t</i>",
            }
        ],
        query="q",
        hub_url="http://hub",
    )
    html = hits._repr_html_()
    assert "<script>" not in html and "<img" not in html and "<i>t" not in html
    assert load_line(hits[0]) == 'model = wb.load_model("a/b")'
    assert load_line({"id": "a/d", "type": "dataset"}) == 'ds = wb.load_dataset("a/d")'
    assert load_line({"id": "a/s", "type": "space"}) == 'info = wb.info("a/s", type="space")'


def test_private_repos_stay_private(
    conn: wb.Connection, hub: HubProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    word = f"okapi{secrets.token_hex(3)}"
    secret = f"admin/{word}-secret"
    wb.publish_model(ScaledMLP(2), secret, private=True, card=f"Private {word} weights.")
    assert secret in wb.search(word).ids and wb.info(secret).private
    bob = make_user(hub)
    try:
        wb.connect(hub.url, bob.token)
        assert secret not in wb.search(word).ids
        assert secret not in wb.search(f"{word} secret", type="model").ids
        assert secret not in wb.search("", author="admin", limit=100).ids
        with pytest.raises(RepoNotFound):
            wb.info(secret)
        with pytest.raises(RepoNotFound):
            wb.load_model(secret)
        for name in ("WORKBENCH_HUB_URL", "WORKBENCH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no saved token
        assert wb.connect(hub.url).token is None
        assert secret not in wb.search(word).ids
        with pytest.raises(RepoNotFound):
            wb.card(secret)
    finally:
        wb.connect(hub.url, hub.token)


def test_search_widget(conn: wb.Connection, published: dict[str, str], word: str) -> None:
    inserted: list[str] = []
    box = wb.ui.search(word, insert=lambda code: inserted.append(code) or True)
    assert isinstance(box, SearchBox) and set(box.hits.ids) == set(published.values())
    assert len(box.results.children) == 2 and "2 results" in box.status.value
    box.type.value = "dataset"  # re-runs the search
    assert box.hits.ids == [published["dataset"]]
    row = box.results.children[0]
    label, insert, copy = row.children
    assert published["dataset"] in label.value
    assert copy.value == f'ds = wb.load_dataset("{published["dataset"]}")'
    insert.click()
    assert inserted == [copy.value] and "next cell you run" in box.status.value
    box.sort.value = "likes"
    box.query.value = f"{word} nothing"
    assert box.hits == [] and box.status.value == "Nothing found."
    assert "application/vnd.jupyter.widget-view+json" in box._repr_mimebundle_()
    outside = SearchBox(word)  # the default insert needs IPython: none here
    outside.run()
    outside.results.children[0].children[1].click()
    assert "copy the line" in outside.status.value
