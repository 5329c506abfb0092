"""wb.collection and wb.collections on a real hub: create, add, notes, order, displays."""

from __future__ import annotations

import secrets

import pytest

import workbench as wb
from tests.support.hub import HubProcess
from workbench.errors import InvalidRequest, NotFound


@pytest.fixture
def conn(hub: HubProcess, tmp_path_factory: pytest.TempPathFactory) -> wb.Connection:
    return wb.connect(hub.url, hub.token, cache_dir=tmp_path_factory.getbasetemp() / "wb-cache")


def test_collection_helpers(conn: wb.Connection, api) -> None:  # type: ignore[no-untyped-def]
    tag = secrets.token_hex(3)
    model, data = f"admin/coll-model-{tag}", f"admin/coll-data-{tag}"
    api.create_repo(model)
    api.create_repo(data, repo_type="dataset")
    title = f"<script>alert(1)</script> picks {tag}"
    c = wb.collection(title=title, description="<b>bold?</b>")
    assert isinstance(c, wb.Collection) and c.owner == "admin" and len(c) == 0
    assert wb.collection(title=title).slug == c.slug  # found again by title, not created twice
    c.add(model, note="see <img src=x onerror=alert(1)> and **this**")
    c.add(data)  # the type is found
    assert [(i["type"], i["id"]) for i in c] == [("model", model), ("dataset", data)]
    c.move(data, 0).note(model, "second")
    assert [r["id"] for r in c.rows()] == [data, model] and c.rows()[1]["note"] == "second"
    assert list(c.df.columns) == ["position", "type", "id", "note"]
    page = c._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>bold?</b>" not in page
    assert model in page and "second" in page and "onerror" not in page
    assert f"{c.slug}" in repr(c) and "second" in repr(c)
    # the same collection through the stock client
    assert [i.item_id for i in api.get_collection(c.slug).items] == [data, model]
    listed = wb.collections(owner="admin")
    assert c.slug in [x.slug for x in listed]
    assert "<script>" not in listed._repr_html_() and c.slug in repr(listed)
    assert [x.slug for x in wb.collections(item=f"datasets/{data}")] == [c.slug]
    c.remove(model)
    assert [i["id"] for i in wb.collection(c.slug)] == [data]
    with pytest.raises(NotFound):
        c.remove(model)
    with pytest.raises(InvalidRequest):
        wb.collection()
    with pytest.raises(NotFound):
        c.add(f"admin/missing-{tag}")
    api.delete_collection(c.slug)
    with pytest.raises(NotFound):
        wb.collection(c.slug)
