"""Mentions, the inbox, watches and likes (with their counts in repo info and search sorting)."""

from __future__ import annotations

import secrets

import httpx
import pytest
from huggingface_hub import HfApi

import workbench as wb
from tests.support.hub import HubProcess
from tests.support.team import Team, make_team
from workbench.client import HubClient


@pytest.fixture(scope="module")
def team(hub: HubProcess) -> Team:
    return make_team(hub, "inbox")


def client(hub: HubProcess, team: Team, who: str) -> HubClient:
    return HubClient(hub.url, team.tokens[who])


def kinds(hub: HubProcess, team: Team, who: str) -> list[tuple[str, str | None]]:
    with client(hub, team, who) as c:
        return [(n["kind"], n["repo"]["name"]) for n in c.inbox()["notifications"]]


def test_mentions_owners_watchers_and_pr_status_reach_the_inbox(hub: HubProcess, team: Team) -> None:
    owner = HfApi(endpoint=hub.url, token=team.tokens["writer"])  # writes to the org
    rid = f"{team.org}/inbox-{secrets.token_hex(3)}"
    owner.create_repo(rid)
    with client(hub, team, "outsider") as outsider:
        assert outsider.inbox()["unread"] == 0
        with httpx.Client(
            base_url=hub.url, headers={"Authorization": f"Bearer {team.tokens['outsider']}"}
        ) as http:
            assert http.post(f"/api/models/{rid}/watch").json() == {"watching": True}

    reader = HfApi(endpoint=hub.url, token=team.tokens["reader"])
    pr = reader.create_pull_request(rid, "Proposal", description="ping @" + team.users["admin"])
    nobody = f"@nobody-{secrets.token_hex(2)}"
    owner.comment_discussion(rid, pr.num, f"Thanks @{team.users['reader']}, and cc {nobody}")

    assert ("mention", rid) in kinds(hub, team, "admin")  # the org admin, mentioned
    assert kinds(hub, team, "reader") == [("mention", rid)]  # mention beats "your discussion"
    assert kinds(hub, team, "outsider") == [("comment", rid), ("discussion", rid)]  # a watcher
    assert kinds(hub, team, "writer") == []  # one's own actions notify nobody

    owner.change_discussion_status(rid, pr.num, "closed")
    with client(hub, team, "reader") as c:
        box = c.inbox()
        assert box["unread"] == 2 and box["notifications"][0]["kind"] == "status"
        assert box["notifications"][0]["discussion"] == pr.num
        assert box["notifications"][0]["title"] == "Proposal"
        marked = c.request(
            "POST", "/api/notifications/read", json={"ids": [box["notifications"][0]["id"]]}
        ).json()
        assert marked == {"marked": 1}
        assert c.inbox()["unread"] == 1 and len(c.inbox(all=True)["notifications"]) == 2
    with httpx.Client(base_url=hub.url) as http:
        assert http.get("/api/notifications").status_code == 401
        r = http.post(
            "/api/notifications/read", json={}, headers={"Authorization": f"Bearer {team.tokens['reader']}"}
        )
        assert r.status_code == 400


def test_owners_hear_of_discussions_on_their_repos(hub: HubProcess, team: Team) -> None:
    """No mention, no watch: a user's own repo, and an org repo (its admins are the owners)."""
    mine = f"{team.users['outsider']}/own-{secrets.token_hex(3)}"
    HfApi(endpoint=hub.url, token=team.tokens["outsider"]).create_repo(mine)
    org_repo = f"{team.org}/owned-{secrets.token_hex(3)}"
    HfApi(endpoint=hub.url, token=team.tokens["writer"]).create_repo(org_repo)
    reader = HfApi(endpoint=hub.url, token=team.tokens["reader"])
    before = {who: kinds(hub, team, who) for who in ("outsider", "admin", "writer")}
    d = reader.create_discussion(mine, "A question", description="Which split did you use?")
    reader.create_discussion(org_repo, "Another question")
    assert kinds(hub, team, "outsider")[0] == ("discussion", mine)
    assert kinds(hub, team, "admin")[0] == ("discussion", org_repo)  # org admin = owner
    assert kinds(hub, team, "writer") == before["writer"]  # a writer is not an owner
    reader.comment_discussion(mine, d.num, "Also: the seed?")
    assert kinds(hub, team, "outsider")[:2] == [("comment", mine), ("discussion", mine)]


def test_mentions_never_leak_private_repos(hub: HubProcess, team: Team) -> None:
    admin = HfApi(endpoint=hub.url, token=team.tokens["admin"])
    rid = f"{team.org}/private-{secrets.token_hex(3)}"
    admin.create_repo(rid, private=True)
    admin.create_discussion(
        rid, "secret plans", description=f"@{team.users['outsider']} @{team.users['reader']}"
    )
    assert all(r != rid for _, r in kinds(hub, team, "outsider"))
    assert ("mention", rid) in kinds(hub, team, "reader")  # an org member may read it


def test_wb_inbox_and_like_in_the_kernel(hub: HubProcess, team: Team, api: HfApi, repo_id: str) -> None:
    wb.connect(hub.url, team.tokens["outsider"])
    try:
        api.create_discussion(repo_id, "hello", description=f"hi @{team.users['outsider']}")
        box = wb.inbox()
        assert box.unread >= 1 and any(n["repo"]["name"] == repo_id for n in box)
        assert "mention" in box.df["kind"].tolist() and "hello" in box._repr_html_()
        assert box.mark_read() == len(box) and wb.inbox().unread == 0
        assert wb.like(repo_id) == 1 and wb.like(repo_id) == 1  # idempotent
        assert api.model_info(repo_id).likes == 1
        assert wb.like(repo_id, unlike=True) == 0
    finally:
        wb.connect(hub.url, hub.token)


def test_likes_with_hfapi_and_search_sorting(hub: HubProcess, team: Team, api: HfApi) -> None:
    word = f"likeable{secrets.token_hex(3)}"
    popular, plain = f"admin/{word}-popular", f"admin/{word}-plain"
    api.create_repo(plain)
    api.create_repo(popular)
    for who in ("reader", "writer", "outsider"):
        with client(hub, team, who) as c:
            assert c.like(popular) >= 1
    with client(hub, team, "reader") as c:
        assert c.like(plain) == 1

    assert api.model_info(popular).likes == 3 and api.model_info(plain).likes == 1
    by_likes = [m.id for m in api.list_models(search=word, sort="likes")]
    assert by_likes == [popular, plain]
    with httpx.Client(base_url=hub.url) as http:
        hits = http.get("/api/search", params={"q": word, "sort": "likes"}).json()
        items = hits["results"] if isinstance(hits, dict) else hits
        assert [h["id"] for h in items][:2] == [popular, plain]

    liker = HfApi(endpoint=hub.url, token=team.tokens["reader"])
    likes = liker.list_liked_repos()
    assert likes.user == team.users["reader"] and {popular, plain} <= set(likes.models)
    assert sorted(u.username for u in api.list_repo_likers(popular)) == sorted(
        team.users[w] for w in ("reader", "writer", "outsider")
    )
    liker.unlike(popular)
    assert api.model_info(popular).likes == 2
    assert popular not in liker.list_liked_repos().models
    assert [m.id for m in api.list_models(search=word, sort="likes")] == [popular, plain]

    private = f"admin/{word}-private"
    api.create_repo(private, private=True)
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"}) as http:
        assert http.post(f"/api/models/{private}/like").json()["likes"] == 1
        assert private in [x["repo"]["name"] for x in http.get("/api/users/admin/likes").json()]
    anonymous = HfApi(endpoint=hub.url, token=False)
    assert private not in anonymous.list_liked_repos("admin").models  # private likes stay private


def test_interest_says_what_the_caller_likes_and_watches(hub: HubProcess, team: Team, api: HfApi) -> None:
    # what a repo page's Like and Watch buttons show, per caller
    rid = f"admin/interest-{secrets.token_hex(3)}"
    api.create_repo(rid)
    private = f"admin/interest-private-{secrets.token_hex(3)}"
    api.create_repo(private, private=True)

    def interest(who: str | None, repo: str = rid) -> httpx.Response:
        headers = {"Authorization": f"Bearer {team.tokens[who]}"} if who else {}
        return httpx.get(f"{hub.url}/api/models/{repo}/interest", headers=headers)

    assert interest("reader").json() == {"liked": False, "watching": False, "likes": 0}
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {team.tokens['reader']}"}) as c:
        assert c.post(f"/api/models/{rid}/like").status_code == 200
        assert c.post(f"/api/models/{rid}/watch").status_code == 200
    assert interest("reader").json() == {"liked": True, "watching": True, "likes": 1}
    assert interest("writer").json() == {"liked": False, "watching": False, "likes": 1}
    assert interest(None).json() == {"liked": False, "watching": False, "likes": 1}
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {team.tokens['reader']}"}) as c:
        assert c.delete(f"/api/models/{rid}/watch").json() == {"watching": False}
    assert interest("reader").json()["watching"] is False
    r = interest("outsider", private)  # private means private here too
    assert (r.status_code, r.headers["X-Error-Code"]) == (404, "RepoNotFound")
