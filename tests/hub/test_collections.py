"""Collections through the stock HfApi: every collection call, privacy, roles and bad input.

Users and an organization come from :func:`tests.support.team.make_team`: the org's reader,
writer and admin, and an outsider who belongs to nothing.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

import pytest
import yaml
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.team import Team, make_team
from workbench.client import HubClient


@pytest.fixture(scope="module")
def team(hub) -> Team:  # type: ignore[no-untyped-def]
    return make_team(hub, prefix="coll")


def hf(hub, team: Team, who: str) -> HfApi:  # type: ignore[no-untyped-def]
    return HfApi(endpoint=hub.url, token=team.tokens[who] or False)


def refused(call, status: int, code: str) -> HfHubHTTPError:  # type: ignore[no-untyped-def]
    """Run ``call``; it must fail with ``status`` and ``X-Error-Code: code``."""
    with pytest.raises(HfHubHTTPError) as info:
        call()
    assert info.value.response.status_code == status, info.value.response.text
    assert info.value.response.headers["X-Error-Code"] == code
    return info.value


@pytest.fixture(scope="module")
def repos(hub, team: Team) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A model, a dataset, a space and a paper (with an arXiv id) under the org, and a
    private model of the org."""
    tag = secrets.token_hex(3)
    arxiv = f"27{secrets.randbelow(100):02d}.{secrets.randbelow(100000):05d}"
    out = {
        "model": f"{team.org}/model-{tag}",
        "dataset": f"{team.org}/data-{tag}",
        "space": f"{team.org}/space-{tag}",
        "paper": f"{team.org}/paper-{tag}",
        "secret": f"{team.org}/secret-{tag}",
        "arxiv": arxiv,
    }
    api = hf(hub, team, "writer")
    api.create_repo(out["model"])
    api.create_repo(out["dataset"], repo_type="dataset")
    api.create_repo(out["space"], repo_type="space", space_sdk="static")
    api.create_repo(out["secret"], private=True)
    card = {"title": f"Paper {tag}", "authors": ["A"], "identifiers": {"arxiv": arxiv}}
    with HubClient(hub.url, team.tokens["writer"], progress=False) as c:
        c.create_repo(out["paper"], type="paper")
        c.upload(
            out["paper"],
            {"README.md": f"---\n{yaml.safe_dump(card)}---\n\n# Paper\n".encode()},
            type="paper",
            message="card",
        )
    return out


def test_create_get_and_delete(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    api = hf(hub, team, "outsider")
    me = team.users["outsider"]
    title = f"ICCV 2023: models & demos {secrets.token_hex(2)}"
    c = api.create_collection(title, description="What I showed")
    assert re.fullmatch(rf"{me}/iccv-2023-models-demos-[0-9a-f]{{4}}-[0-9a-f]{{24}}", c.slug)
    assert (c.title, c.description, c.private, c.upvotes, c.items) == (title, "What I showed", False, 0, [])
    assert c.owner["name"] == me and c.owner["type"] == "user"
    assert isinstance(c.last_updated, datetime) and c.theme in (
        "orange",
        "blue",
        "green",
        "purple",
        "pink",
        "indigo",
    )
    assert c.url == f"{hub.url}/collections/{c.slug}"
    got = api.get_collection(c.slug)
    assert (got.slug, got.title, got.position) == (c.slug, title, c.position)
    # the same title again: 409 with the slug, which exists_ok returns
    err = refused(lambda: api.create_collection(title), 409, "CollectionExists")
    assert err.response.json()["slug"] == c.slug
    assert api.create_collection(title, exists_ok=True).slug == c.slug
    # only the owner and the id count in a slug
    assert api.get_collection(f"{me}/anything-{c.slug.rsplit('-', 1)[1]}").slug == c.slug
    refused(
        lambda: api.get_collection(f"{team.users['reader']}/x-{c.slug.rsplit('-', 1)[1]}"),
        404,
        "CollectionNotFound",
    )
    api.delete_collection(c.slug)
    refused(lambda: api.get_collection(c.slug), 404, "CollectionNotFound")
    refused(lambda: api.delete_collection(c.slug), 404, "CollectionNotFound")
    api.delete_collection(c.slug, missing_ok=True)


def test_items_of_every_type(hub, team: Team, repos: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    api = hf(hub, team, "writer")
    c = api.create_collection(f"Everything {secrets.token_hex(2)}", namespace=team.org)
    assert c.owner["name"] == team.org and c.owner["type"] == "org"
    api.add_collection_item(c.slug, repos["model"], "model", note="the **baseline**")
    api.add_collection_item(c.slug, repos["dataset"], "dataset")
    api.add_collection_item(c.slug, repos["space"], "space")
    c = api.add_collection_item(c.slug, repos["arxiv"], "paper", note="read first")
    assert [(i.item_type, i.item_id, i.position) for i in c.items] == [
        ("model", repos["model"], 0),
        ("dataset", repos["dataset"], 1),
        ("space", repos["space"], 2),
        ("paper", repos["arxiv"], 3),
    ]
    assert [i.note for i in c.items] == ["the **baseline**", None, None, "read first"]
    assert all(re.fullmatch(r"[0-9a-f]{24}", i.item_object_id) for i in c.items)
    raw = HubClient(hub.url, team.tokens["writer"], progress=False)
    with raw:
        first = raw.request("GET", f"/api/collections/{c.slug}").json()["items"][0]
    assert first["note"]["html"] == "<p>the <strong>baseline</strong></p>"
    assert first["repoType"] == "model" and first["author"] == team.org and first["private"] is False
    # the same repo twice: 409, or the collection with exists_ok; a paper by its repo id is the same paper
    refused(lambda: api.add_collection_item(c.slug, repos["model"], "model"), 409, "CollectionItemExists")
    refused(lambda: api.add_collection_item(c.slug, repos["paper"], "paper"), 409, "CollectionItemExists")
    assert len(api.add_collection_item(c.slug, repos["model"], "model", exists_ok=True).items) == 4
    # note and position
    paper = c.items[3].item_object_id
    api.update_collection_item(c.slug, paper, note="read after the model", position=0)
    c = api.get_collection(c.slug)
    assert [(i.item_type, i.position) for i in c.items] == [
        ("paper", 0),
        ("model", 1),
        ("dataset", 2),
        ("space", 3),
    ]
    assert c.items[0].note == "read after the model"
    api.update_collection_item(c.slug, paper, note="")  # an empty note removes it
    api.update_collection_item(c.slug, paper, position=99)  # past the end: last
    c = api.get_collection(c.slug)
    assert [(i.item_type, i.position, i.note) for i in c.items][-1] == ("paper", 3, None)
    # delete: the others close the gap
    api.delete_collection_item(c.slug, c.items[0].item_object_id)
    c = api.get_collection(c.slug)
    assert [(i.item_type, i.position) for i in c.items] == [("dataset", 0), ("space", 1), ("paper", 2)]
    refused(lambda: api.delete_collection_item(c.slug, "0" * 24), 404, "CollectionItemNotFound")
    api.delete_collection_item(c.slug, "0" * 24, missing_ok=True)
    refused(lambda: api.update_collection_item(c.slug, "f" * 24, note="x"), 404, "CollectionItemNotFound")
    # a renamed repo stays in its collections under its new name; a deleted one leaves them
    moved = f"{repos['dataset']}-moved"
    api.move_repo(repos["dataset"], moved, repo_type="dataset")
    try:
        assert api.get_collection(c.slug).items[0].item_id == moved
    finally:
        api.move_repo(moved, repos["dataset"], repo_type="dataset")
    gone = f"{team.org}/gone-{secrets.token_hex(3)}"
    api.create_repo(gone)
    api.add_collection_item(c.slug, gone, "model")
    api.delete_repo(gone)
    assert gone not in [i.item_id for i in api.get_collection(c.slug).items]


def test_update_metadata(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    api = hf(hub, team, "writer")
    tag = secrets.token_hex(2)
    first = api.create_collection(f"First {tag}", namespace=team.org)
    second = api.create_collection(f"Second {tag}", namespace=team.org)
    assert second.position == first.position + 1
    c = api.update_collection_metadata(
        second.slug, title=f"Renamed {tag}", description="new", theme="pink", private=True, position=0
    )
    assert (c.title, c.description, c.theme, c.private, c.position) == (
        f"Renamed {tag}",
        "new",
        "pink",
        True,
        0,
    )
    assert c.slug.endswith(second.slug.rsplit("-", 1)[1]) and f"renamed-{tag}" in c.slug
    assert c.last_updated >= second.last_updated
    assert api.get_collection(second.slug).slug == c.slug  # the old slug still finds it
    assert api.get_collection(first.slug).position == first.position + 1
    mine = [x.slug for x in api.list_collections(owner=team.org) if tag in x.slug]
    assert mine == [c.slug, first.slug]  # an owner's collections in their order
    refused(lambda: api.update_collection_metadata(c.slug, theme="plaid"), 400, "InvalidTheme")
    refused(lambda: api.update_collection_metadata(c.slug, title=f"First {tag}"), 409, "CollectionExists")
    refused(lambda: api.update_collection_metadata(c.slug, position=-1), 400, "InvalidField")


def test_list_collections(hub, team: Team, repos: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    api = hf(hub, team, "admin")
    tag = secrets.token_hex(2)
    made = [api.create_collection(f"List {tag} {n}", namespace=team.org) for n in range(3)]
    for kind in ("model", "space", "dataset"):
        for c in made:
            api.add_collection_item(c.slug, repos[kind], kind)  # type: ignore[arg-type]
    api.add_collection_item(made[0].slug, repos["paper"], "paper")
    api.add_collection_item(made[0].slug, repos["secret"], "model")
    listed = [c for c in api.list_collections(owner=team.org) if tag in c.slug]
    assert [c.slug for c in listed] == [c.slug for c in made]
    assert [len(c.items) for c in listed] == [4, 3, 3]  # at most four items each in a listing
    assert [c.slug for c in api.list_collections(owner=team.org, limit=2)] != []
    assert len(list(api.list_collections(owner=team.org, limit=2))) == 2
    # by item: a repo, a paper (by arXiv id, as on the Hugging Face Hub)
    with_paper = {c.slug for c in api.list_collections(item=f"papers/{repos['arxiv']}")}
    assert made[0].slug in with_paper and made[1].slug not in with_paper
    assert {c.slug for c in api.list_collections(item=f"spaces/{repos['space']}")} >= {c.slug for c in made}
    assert list(api.list_collections(item="models/nobody/nothing")) == []
    # sorted by last update: the one changed last comes first
    api.update_collection_metadata(made[1].slug, description="touched")
    assert next(iter(api.list_collections(owner=team.org, sort="lastModified"))).slug == made[1].slug
    with pytest.raises(HfHubHTTPError) as info:
        list(api.list_collections(sort="random"))  # type: ignore[arg-type]
    assert info.value.response.headers["X-Error-Code"] == "InvalidSort"
    # anonymous readers list public collections too
    assert made[2].slug in {c.slug for c in hf(hub, team, "anonymous").list_collections(owner=team.org)}


def test_private_collections_and_items(hub, team: Team, repos: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    writer = hf(hub, team, "writer")
    tag = secrets.token_hex(2)
    hidden = writer.create_collection(f"Hidden {tag}", namespace=team.org, private=True)
    writer.add_collection_item(hidden.slug, repos["model"], "model")
    item = writer.get_collection(hidden.slug).items[0].item_object_id
    for who in ("outsider", "anonymous"):
        api = hf(hub, team, who)
        refused(lambda api=api: api.get_collection(hidden.slug), 404, "CollectionNotFound")
        assert hidden.slug not in {c.slug for c in api.list_collections(owner=team.org)}
        assert hidden.slug not in {c.slug for c in api.list_collections(item=f"models/{repos['model']}")}
    outsider = hf(hub, team, "outsider")
    for call in (
        lambda: outsider.update_collection_metadata(hidden.slug, title="mine"),
        lambda: outsider.delete_collection(hidden.slug),
        lambda: outsider.add_collection_item(hidden.slug, repos["space"], "space"),
        lambda: outsider.update_collection_item(hidden.slug, item, note="x"),
        lambda: outsider.delete_collection_item(hidden.slug, item),
    ):
        refused(call, 404, "CollectionNotFound")
    # any member reads it (as the org's private repos), a reader does not change it
    reader = hf(hub, team, "reader")
    assert reader.get_collection(hidden.slug).title == f"Hidden {tag}"
    assert hidden.slug in {c.slug for c in reader.list_collections(owner=team.org)}
    # a public collection naming a private repo: the item is left out for those who cannot see it
    public = writer.create_collection(f"Public {tag}", namespace=team.org)
    writer.add_collection_item(public.slug, repos["secret"], "model", note="internal")
    writer.add_collection_item(public.slug, repos["model"], "model")
    assert [i.item_id for i in reader.get_collection(public.slug).items] == [repos["secret"], repos["model"]]
    for who in ("outsider", "anonymous"):
        api = hf(hub, team, who)
        assert [i.item_id for i in api.get_collection(public.slug).items] == [repos["model"]]
        listed = [c for c in api.list_collections(owner=team.org) if c.slug == public.slug]
        assert [i.item_id for i in listed[0].items] == [repos["model"]]
        assert public.slug not in {c.slug for c in api.list_collections(item=f"models/{repos['secret']}")}
    # nor can an outsider add a private repo they cannot see, even to their own collection
    mine = outsider.create_collection(f"Mine {tag}")
    refused(lambda: outsider.add_collection_item(mine.slug, repos["secret"], "model"), 404, "RepoNotFound")


def test_who_may_change_what(hub, team: Team, repos: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    tag = secrets.token_hex(2)
    refused(
        lambda: hf(hub, team, "reader").create_collection(f"R {tag}", namespace=team.org),
        403,
        "NamespaceForbidden",
    )
    refused(
        lambda: hf(hub, team, "outsider").create_collection(f"O {tag}", namespace=team.org),
        403,
        "NamespaceForbidden",
    )
    refused(
        lambda: hf(hub, team, "writer").create_collection(f"W {tag}", namespace=team.users["admin"]),
        403,
        "NamespaceForbidden",
    )
    c = hf(hub, team, "admin").create_collection(f"Team {tag}", namespace=team.org)
    for who, code in (("outsider", "WriteForbidden"), ("reader", "WriteForbidden")):
        api = hf(hub, team, who)
        refused(lambda api=api: api.add_collection_item(c.slug, repos["model"], "model"), 403, code)
        refused(lambda api=api: api.update_collection_metadata(c.slug, title="x"), 403, code)
        refused(lambda api=api: api.delete_collection(c.slug), 403, code)
    refused(lambda: hf(hub, team, "anonymous").delete_collection(c.slug), 401, "TokenRequired")
    read_only = HfApi(endpoint=hub.url, token=team.read_tokens["writer"])
    refused(lambda: read_only.add_collection_item(c.slug, repos["model"], "model"), 403, "ReadOnlyToken")
    # a member with the write role changes the org's collection
    writer = hf(hub, team, "writer")
    item = writer.add_collection_item(c.slug, repos["model"], "model").items[0].item_object_id
    refused(
        lambda: hf(hub, team, "reader").update_collection_item(c.slug, item, note="x"), 403, "WriteForbidden"
    )
    refused(lambda: hf(hub, team, "outsider").delete_collection_item(c.slug, item), 403, "WriteForbidden")
    writer.update_collection_item(c.slug, item, note="checked")
    writer.update_collection_metadata(c.slug, description="by the writer")
    writer.delete_collection(c.slug)
    refused(lambda: writer.get_collection(c.slug), 404, "CollectionNotFound")


def test_bad_input(hub, team: Team, repos: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    api = hf(hub, team, "writer")
    for title, code in (("", "EmptyTitle"), ("   ", "EmptyTitle"), ("x" * 101, "TitleTooLong")):
        err = refused(lambda title=title: api.create_collection(title), 400, code)
        assert err.response.headers["X-Error-Message"]
    refused(lambda: api.create_collection("Long", description="d" * 151), 400, "DescriptionTooLong")
    c = api.create_collection(f"Bad input {secrets.token_hex(2)}")
    refused(
        lambda: api.add_collection_item(c.slug, repos["model"], "model", note="n" * 501), 400, "NoteTooLong"
    )
    err = refused(lambda: api.add_collection_item(c.slug, repos["model"], "bucket"), 400, "InvalidItemType")  # type: ignore[arg-type]
    assert "model, dataset, space, paper" in err.response.headers["X-Error-Message"]
    refused(lambda: api.add_collection_item(c.slug, f"{team.org}/missing", "model"), 404, "RepoNotFound")
    refused(lambda: api.add_collection_item(c.slug, repos["model"], "dataset"), 404, "RepoNotFound")
    refused(lambda: api.add_collection_item(c.slug, "2601.99999", "paper"), 404, "PaperNotFound")
    refused(lambda: api.add_collection_item(c.slug, "no-slash", "model"), 400, "InvalidRepoName")
    item = api.add_collection_item(c.slug, repos["model"], "model").items[0].item_object_id
    refused(lambda: api.update_collection_item(c.slug, item, note="n" * 501), 400, "NoteTooLong")
    refused(lambda: api.get_collection(f"{team.users['writer']}/not-a-slug"), 404, "CollectionNotFound")
    with HubClient(hub.url, team.tokens["writer"], progress=False) as raw:
        for body, code in (
            ({"item": "x"}, "InvalidField"),
            ({"item": {"id": repos["model"]}}, "MissingField"),
            ({"item": {"id": 3, "type": "model"}}, "InvalidField"),
        ):
            with pytest.raises(Exception) as info:
                raw.request("POST", f"/api/collections/{c.slug}/items", json=body)
            assert getattr(info.value, "code", None) == code
    api.delete_collection(c.slug)


@pytest.mark.postgres
def test_collections_on_postgres(hub_factory, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    """The listing's per-collection preview (a window function), the title check and the
    privacy rules on PostgreSQL."""
    pg = hub_factory(database_url=postgres_url)
    team = make_team(pg, prefix="pg")
    writer, outsider = hf(pg, team, "writer"), hf(pg, team, "outsider")
    secret, public = f"{team.org}/secret", f"{team.org}/public"
    writer.create_repo(secret, private=True)
    for n in range(5):
        writer.create_repo(f"{public}-{n}")
    c = writer.create_collection("Five", namespace=team.org, description="on PostgreSQL")
    writer.add_collection_item(c.slug, secret, "model", note="hidden from outsiders")
    for n in range(5):
        writer.add_collection_item(c.slug, f"{public}-{n}", "model")
    hidden = writer.create_collection("Hidden", namespace=team.org, private=True)
    refused(lambda: writer.create_collection("Five", namespace=team.org), 409, "CollectionExists")
    assert writer.create_collection("Five", namespace=team.org, exists_ok=True).slug == c.slug
    listed = list(outsider.list_collections(owner=team.org))
    assert [x.slug for x in listed] == [c.slug]
    assert [i.item_id for i in listed[0].items] == [f"{public}-{n}" for n in range(4)]
    mine = {x.slug: x for x in hf(pg, team, "reader").list_collections(owner=team.org)}
    assert set(mine) == {c.slug, hidden.slug} and mine[c.slug].items[0].item_id == secret
    assert [i.position for i in outsider.get_collection(c.slug).items] == [1, 2, 3, 4, 5]
    refused(lambda: outsider.get_collection(hidden.slug), 404, "CollectionNotFound")
    writer.delete_repo(secret)
    assert len(outsider.get_collection(c.slug).items) == len(writer.get_collection(c.slug).items) == 5
