"""The webhook events beyond commits, discussions and evaluations, through the stock HfApi
and a real loopback receiver: a repo created, moved and deleted (scope ``repo``), branches
and tags (``repo.content`` with ``updatedRefs``), settings (``repo.config`` with
``updatedConfig``), and reviews (Workbench's ``discussion.review`` and
``discussion.review.comment``), which also reach the inbox; private repos only to webhooks
whose owner may read them."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, WebhookPayload, WebhookWatchedItem

from tests.support.hub import HubProcess
from tests.support.team import Team, make_team
from tests.support.webhooks import Receiver, path


@pytest.fixture(scope="module")
def team(hook_hub: HubProcess) -> Team:
    return make_team(hook_hub, "hev")


def events(got: list[dict[str, Any]]) -> dict[tuple[str, str], WebhookPayload]:
    """Deliveries by (scope, action), each parsed as huggingface_hub parses them (deliveries
    run in parallel: no order is promised)."""
    out = {}
    for g in got:
        payload = WebhookPayload.model_validate(g["body"])
        out[payload.event.scope, payload.event.action] = payload
    return out


def unordered(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((k, repr(v)) for k, v in doc.items())


def test_repo_created_moved_and_deleted(hook_hub: HubProcess, team: Team, receiver: Receiver) -> None:
    owner = HfApi(endpoint=hook_hub.url, token=hook_hub.token)  # the hub's admin
    mine, theirs = path(), path()
    owner.create_webhook(
        url=receiver.url(mine), watched=[{"type": "user", "name": "admin"}], domains=["repo"]
    )
    outsider = HfApi(endpoint=hook_hub.url, token=team.tokens["outsider"])
    outsider.create_webhook(
        url=receiver.url(theirs), watched=[{"type": "user", "name": "admin"}], domains=["repo"]
    )
    tag = secrets.token_hex(3)
    born, moved, hidden = f"admin/born-{tag}", f"admin/moved-{tag}", f"admin/hidden-{tag}"
    owner.create_repo(born)
    head = owner.model_info(born).sha
    owner.move_repo(born, moved)
    owner.delete_repo(moved)

    got = events(receiver.wait(mine, 3))
    assert sorted(got) == [("repo", "create"), ("repo", "delete"), ("repo", "move")]
    created, went, deleted = got["repo", "create"], got["repo", "move"], got["repo", "delete"]
    assert (created.repo.name, created.repo.type, created.repo.head_sha) == (born, "model", head)
    assert created.updatedRefs is None  # a new repo's main is part of the create event
    assert went.repo.name == born and went.movedTo is not None and went.movedTo.name == moved
    assert went.movedTo.owner.id == went.repo.owner.id
    assert deleted.repo.name == moved and deleted.repo.head_sha == head
    assert deleted.repo.url.web == f"{hook_hub.url}/{moved}"
    assert len(receiver.wait(theirs, 3)) == 3  # anyone may watch a public repo's life

    # a private repo's life goes only to webhooks whose owner may read it
    owner.create_repo(hidden, private=True)
    owner.move_repo(hidden, f"{hidden}-2")
    owner.delete_repo(f"{hidden}-2")
    private = [g for g in receiver.wait(mine, 6) if g["body"]["repo"]["name"].startswith(hidden)]
    assert len(private) == 3 and all(g["body"]["repo"]["private"] for g in private)
    time.sleep(0.5)
    assert len(receiver.at(theirs)) == 3


def test_a_webhook_watching_a_repo_follows_it_when_it_moves(hook_hub: HubProcess, receiver: Receiver) -> None:
    owner = HfApi(endpoint=hook_hub.url, token=hook_hub.token)  # the hub's admin
    tag = secrets.token_hex(3)
    old, new = owner.create_repo(f"admin/old-{tag}").repo_id, f"admin/new-{tag}"
    where = path()
    hook = owner.create_webhook(
        url=receiver.url(where), watched=[{"type": "model", "name": old}], domains=["repo"]
    )
    owner.move_repo(old, new)
    assert owner.get_webhook(hook.id).watched == [WebhookWatchedItem("model", new)]
    oid = owner.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=new).oid
    got = events(receiver.wait(where, 2))
    assert sorted(got) == [("repo", "move"), ("repo.content", "update")]
    assert got["repo.content", "update"].repo.name == new
    assert got["repo.content", "update"].repo.head_sha == oid


def test_branches_and_tags_are_repo_content_updates(hook_hub: HubProcess, receiver: Receiver) -> None:
    owner = HfApi(endpoint=hook_hub.url, token=hook_hub.token)  # the hub's admin
    repo = owner.create_repo(f"admin/refs-{secrets.token_hex(3)}").repo_id
    head = owner.model_info(repo).sha
    where = path()
    owner.create_webhook(url=receiver.url(where), watched=[{"type": "model", "name": repo}], domains=["repo"])
    owner.create_branch(repo, branch="dev")
    owner.create_tag(repo, tag="v1")
    owner.delete_tag(repo, tag="v1")
    owner.delete_branch(repo, branch="dev")

    got = receiver.wait(where, 4)
    refs = sorted(
        ((u["ref"], u["oldSha"], u["newSha"]) for g in got for u in g["body"]["updatedRefs"]), key=repr
    )
    expected = [
        ("refs/heads/dev", None, head),  # created: no old sha
        ("refs/heads/dev", head, None),  # deleted: no new sha
        ("refs/tags/v1", None, head),
        ("refs/tags/v1", head, None),
    ]
    assert refs == sorted(expected, key=repr)
    for g in got:
        payload = WebhookPayload.model_validate(g["body"])
        assert (payload.event.scope, payload.event.action) == ("repo.content", "update")
        assert payload.repo.head_sha == head  # main's head, whichever ref moved


def test_settings_are_repo_config_updates(hook_hub: HubProcess, team: Team, receiver: Receiver) -> None:
    owner = HfApi(endpoint=hook_hub.url, token=hook_hub.token)  # the hub's admin
    repo = owner.create_repo(f"admin/conf-{secrets.token_hex(3)}").repo_id
    mine, theirs = path(), path()
    owner.create_webhook(url=receiver.url(mine), watched=[{"type": "model", "name": repo}], domains=["repo"])
    outsider = HfApi(endpoint=hook_hub.url, token=team.tokens["outsider"])
    outsider.create_webhook(
        url=receiver.url(theirs), watched=[{"type": "user", "name": "admin"}], domains=["repo"]
    )
    owner.update_repo_settings(repo, gated="auto")
    owner.update_repo_settings(repo, gated="auto")  # no change, no event
    owner.update_repo_settings(repo, private=True)
    r = httpx.put(
        f"{hook_hub.url}/api/models/{repo}/settings",
        json={"requiredApprovals": 2, "gated": False, "dismissStaleApprovals": False},
        headers={"Authorization": f"Bearer {hook_hub.token}"},
    )
    assert r.status_code == 200, r.text
    owner.update_repo_settings(repo, private=False)

    got = receiver.wait(mine, 4)
    time.sleep(0.5)
    assert len(receiver.at(mine)) == 4
    configs = []
    for g in got:
        payload = WebhookPayload.model_validate(g["body"])
        assert (payload.event.scope, payload.event.action) == ("repo.config", "update")
        configs.append(g["body"]["updatedConfig"])
    expected = [
        {"gated": "auto"},
        {"private": True},
        {"requiredApprovals": 2, "gated": False, "dismissStaleApprovals": False},
        {"private": False},
    ]
    assert sorted(map(unordered, configs)) == sorted(map(unordered, expected))
    # the outsider's webhook heard nothing while the repo was private, and of its return
    seen = [g["body"]["updatedConfig"] for g in receiver.wait(theirs, 2)]
    assert sorted(map(unordered, seen)) == sorted(map(unordered, [{"gated": "auto"}, {"private": False}]))


def test_review_events_reach_webhooks_and_the_inbox(
    hook_hub: HubProcess, team: Team, receiver: Receiver
) -> None:
    owner = HfApi(endpoint=hook_hub.url, token=hook_hub.token)  # the hub's admin
    repo = owner.create_repo(f"admin/reviewed-{secrets.token_hex(3)}").repo_id
    owner.upload_file(path_or_fileobj=b"one\ntwo\nthree\n", path_in_repo="notes.txt", repo_id=repo)
    where = path()
    owner.create_webhook(
        url=receiver.url(where), watched=[{"type": "model", "name": repo}], domains=["discussion"]
    )
    author = team.tokens["outsider"]
    proposer = HfApi(endpoint=hook_hub.url, token=author)
    pr = proposer.upload_file(
        path_or_fileobj=b"one\n2\nthree\n", path_in_repo="notes.txt", repo_id=repo, create_pr=True
    )
    base = f"{hook_hub.url}/api/models/{repo}/discussions/{pr.pr_num}"

    def post(token: str | None, url: str, body: object) -> dict[str, Any]:
        r = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    anchor = {"path": "notes.txt", "side": "new", "line": 2}
    thread = post(hook_hub.token, f"{base}/review-comments", {"anchor": anchor, "body": "Why 2?"})
    reply = post(author, f"{base}/review-comments", {"inReplyTo": thread["id"], "body": "Digits."})
    review = post(
        hook_hub.token,
        f"{base}/reviews",
        {
            "state": "request_changes",
            "summary": "Words, please.",
            "comments": [{"anchor": anchor, "body": "Here."}],
        },
    )
    post(hook_hub.token, f"{base}/review-comments/{thread['id']}/resolve", {"resolved": True})

    # the PR opened; a thread, a reply; the review and its comment in the thread; resolved
    got = receiver.wait(where, 6)
    time.sleep(0.5)
    assert len(receiver.at(where)) == 6
    scopes = sorted((g["body"]["event"]["scope"], g["body"]["event"]["action"]) for g in got)
    assert scopes == [
        ("discussion", "create"),
        ("discussion.comment", "create"),
        ("discussion.review", "create"),
        ("discussion.review.comment", "create"),
        ("discussion.review.comment", "create"),
        ("discussion.review.comment", "update"),
    ]
    bodies = [g["body"] for g in got]
    for body in bodies:
        WebhookPayload.model_validate(body)
    submitted = next(b for b in bodies if b["event"]["scope"] == "discussion.review")
    assert submitted["review"]["id"] == review["id"] and submitted["review"]["state"] == "request_changes"
    assert (
        submitted["review"]["summary"] == "Words, please."
        and submitted["review"]["commit"] == review["commit"]
    )
    assert [c["content"] for c in submitted["review"]["comments"]] == ["Here."]
    assert submitted["review"]["comments"][0]["anchor"]["line"] == 2
    assert submitted["comment"]["id"] == review["commentId"] and submitted["discussion"]["num"] == pr.pr_num
    comments = [b["reviewComment"] for b in bodies if b["event"]["scope"] == "discussion.review.comment"]
    by_id = {(c["id"], c["resolved"]): c for c in comments}
    posted, answered = by_id[thread["id"], False], by_id[reply["id"], False]
    assert posted["content"] == "Why 2?" and posted["anchor"]["path"] == "notes.txt"
    assert answered["threadId"] == thread["id"] and answered["content"] == "Digits."
    assert by_id[thread["id"], True]["threadId"] == thread["id"]  # the thread resolved

    # the PR's author hears of the review comment and the review in the inbox
    r = httpx.get(f"{hook_hub.url}/api/notifications", headers={"Authorization": f"Bearer {author}"})
    kinds = {n["kind"] for n in r.json()["notifications"] if n["discussion"] == pr.pr_num}
    assert {"review-comment", "review"} <= kinds, kinds
