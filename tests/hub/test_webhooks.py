"""Webhooks through the stock HfApi against a real hub, delivered to a real HTTP receiver
(``hook_hub`` and ``receiver``: ``tests/hub/conftest.py``)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, WebhookInfo, WebhookPayload, WebhookWatchedItem
from huggingface_hub.errors import HfHubHTTPError

from tests.support.hub import HubProcess
from tests.support.team import Team, make_team
from tests.support.webhooks import HANG_SECONDS, Receiver, deliveries, path, settled


@pytest.fixture(scope="module")
def team(hook_hub: HubProcess) -> Team:
    return make_team(hook_hub, "hook")


@pytest.fixture
def admin(hook_hub: HubProcess) -> HfApi:
    return HfApi(endpoint=hook_hub.url, token=hook_hub.token)


@pytest.fixture
def repo(admin: HfApi) -> str:
    rid = f"admin/hooked-{secrets.token_hex(3)}"
    admin.create_repo(rid)
    return rid


def code(exc: pytest.ExceptionInfo[HfHubHTTPError]) -> str | None:
    return exc.value.response.headers.get("X-Error-Code")


# -- the HfApi calls ----------------------------------------------------------------------------


def test_every_hfapi_webhook_call(admin: HfApi, repo: str, receiver: Receiver) -> None:
    url = receiver.url(path())
    created = admin.create_webhook(
        url=url,
        watched=[WebhookWatchedItem(type="model", name=repo), {"type": "user", "name": "admin"}],
        domains=["repo", "discussion"],
        secret="s3cret",
    )
    assert isinstance(created, WebhookInfo) and len(created.id) == 24
    assert (created.url, created.secret, created.disabled, created.job) == (url, "s3cret", False, None)
    assert created.watched == [WebhookWatchedItem("model", repo), WebhookWatchedItem("user", "admin")]
    assert created.domains == ["repo", "discussion"]

    assert admin.get_webhook(created.id) == created
    assert created.id in [w.id for w in admin.list_webhooks()]

    other = receiver.url(path())
    updated = admin.update_webhook(created.id, url=other, domains=["repo"], secret="new")
    assert (updated.url, updated.domains, updated.secret) == (other, ["repo"], "new")
    assert updated.watched == created.watched  # the client sends [] when watched is left out
    updated = admin.update_webhook(created.id, watched=[{"type": "model", "name": repo}])
    assert updated.watched == [WebhookWatchedItem("model", repo)]

    assert admin.disable_webhook(created.id).disabled
    assert admin.get_webhook(created.id).disabled
    assert not admin.enable_webhook(created.id).disabled

    admin.delete_webhook(created.id)
    with pytest.raises(HfHubHTTPError) as err:
        admin.get_webhook(created.id)
    assert err.value.response.status_code == 404 and code(err) == "WebhookNotFound"
    assert created.id not in [w.id for w in admin.list_webhooks()]
    with pytest.raises(HfHubHTTPError) as err:
        admin.create_webhook(job_id="abc", watched=[{"type": "model", "name": repo}])
    assert code(err) == "UnsupportedOperation"


# -- deliveries -----------------------------------------------------------------------------------


def test_a_commit_delivers_a_repo_event(
    hook_hub: HubProcess, admin: HfApi, repo: str, receiver: Receiver
) -> None:
    where = path()
    hook = admin.create_webhook(
        url=receiver.url(where), watched=[{"type": "model", "name": repo}], domains=["repo"], secret="s3cret"
    )
    info = admin.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=repo)
    oid = info.oid
    (got,) = receiver.wait(where)
    assert got["headers"]["X-Webhook-Secret"] == "s3cret"
    assert got["headers"]["Content-Type"] == "application/json"
    payload = WebhookPayload.model_validate(got["body"])
    assert (payload.event.action, payload.event.scope) == ("update", "repo.content")
    assert (payload.repo.type, payload.repo.name, payload.repo.private) == ("model", repo, False)
    assert payload.repo.head_sha == oid and got["body"]["repo"]["headSha"] == oid
    assert payload.repo.url.web == f"{hook_hub.url}/{repo}"
    assert payload.repo.url.api == f"{hook_hub.url}/api/models/{repo}"
    assert payload.updatedRefs is not None
    assert (payload.updatedRefs[0].ref, payload.updatedRefs[0].newSha) == ("refs/heads/main", oid)
    assert (payload.webhook.id, payload.webhook.version) == (hook.id, 3)

    (entry,) = settled(hook_hub, hook.id)
    assert (entry["status"], entry["attempts"], entry["responseStatus"]) == ("succeeded", 1, 200)
    assert entry["event"] == {"action": "update", "scope": "repo.content", "repo": repo}
    assert entry["durationMs"] >= 0 and entry["error"] is None
    # a webhook without a secret sends no secret header
    admin.update_webhook(hook.id, secret="")
    admin.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    assert "X-Webhook-Secret" not in receiver.wait(where, 2)[1]["headers"]


def test_discussions_and_comments_deliver_discussion_events(
    hook_hub: HubProcess, admin: HfApi, repo: str, receiver: Receiver, team: Team
) -> None:
    where = path()
    admin.create_webhook(
        url=receiver.url(where), watched=[{"type": "user", "name": "admin"}], domains=["discussion"]
    )
    admin.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo)  # not this domain
    disc = admin.create_discussion(repo, "Why three epochs?", description="Is 3 enough?")
    outsider = HfApi(endpoint=hook_hub.url, token=team.tokens["outsider"])
    reply = outsider.comment_discussion(repo, disc.num, "More would overfit.")
    admin.change_discussion_status(repo, disc.num, "closed")

    got = receiver.wait(where, 3)
    payloads = {
        (p.event.action, p.event.scope): p for p in (WebhookPayload.model_validate(g["body"]) for g in got)
    }  # deliveries run in parallel: no order is promised
    assert sorted(payloads) == [
        ("create", "discussion"),
        ("create", "discussion.comment"),
        ("update", "discussion"),
    ]
    opened, commented = payloads["create", "discussion"], payloads["create", "discussion.comment"]
    closed = payloads["update", "discussion"]
    assert opened.discussion is not None and opened.discussion.num == disc.num
    assert opened.discussion.title == "Why three epochs?" and not opened.discussion.isPullRequest
    assert opened.comment is not None and opened.comment.content == "Is 3 enough?"
    assert commented.comment is not None and commented.comment.id == reply.id
    assert commented.comment.content == "More would overfit." and not commented.comment.hidden
    assert commented.discussion is not None
    assert commented.discussion.url.web == f"{hook_hub.url}/{repo}/discussions/{disc.num}"
    assert closed.discussion is not None and closed.discussion.status == "closed"
    assert all(p.repo.name == repo for p in payloads.values())
    time.sleep(0.5)
    assert len(receiver.at(where)) == 3  # the commit went to no one


def test_a_pull_request_merge_and_an_eval_record(
    hook_hub: HubProcess, admin: HfApi, repo: str, receiver: Receiver
) -> None:
    where = path()
    admin.create_webhook(
        url=receiver.url(where),
        watched=[{"type": "model", "name": repo}],
        domains=["repo", "discussion", "eval"],
    )
    pr = admin.upload_file(path_or_fileobj=b"w", path_in_repo="w.txt", repo_id=repo, create_pr=True)
    assert pr.pr_num is not None
    admin.merge_pull_request(repo, pr.pr_num)
    ds = f"admin/evalset-{secrets.token_hex(3)}"
    admin.create_repo(ds, repo_type="dataset")
    ds_sha = admin.upload_file(
        path_or_fileobj=b"a,b\n", path_in_repo="t.csv", repo_id=ds, repo_type="dataset"
    ).oid
    model_sha = admin.model_info(repo).sha
    record = {
        "model": repo,
        "dataset": ds,
        "model_commit": model_sha,
        "dataset_commit": ds_sha,
        "split": "test",
        "notebook_name": "e.ipynb",
        "notebook_sha256": "0" * 64,
        "status": "succeeded",
        "metrics": {"accuracy": 0.5},
    }
    r = httpx.post(
        f"{hook_hub.url}/api/evals", json=record, headers={"Authorization": f"Bearer {hook_hub.token}"}
    )
    assert r.status_code == 201, r.text

    def scopes() -> list[tuple[str, str]]:
        return [(g["body"]["event"]["scope"], g["body"]["event"]["action"]) for g in receiver.at(where)]

    receiver.wait(where, 5)
    assert ("discussion", "create") in scopes()  # the PR opened
    assert ("discussion", "update") in scopes()  # merged
    assert ("eval.record", "create") in scopes()
    refs = [g["body"]["updatedRefs"][0]["ref"] for g in receiver.at(where) if "updatedRefs" in g["body"]]
    assert f"refs/pr/{pr.pr_num}" in refs and "refs/heads/main" in refs
    merged = next(
        g["body"] for g in receiver.at(where) if g["body"].get("discussion", {}).get("status") == "merged"
    )
    assert WebhookPayload.model_validate(merged).discussion.changes.mergeCommitId == model_sha  # type: ignore[union-attr]
    evaluation = next(g["body"] for g in receiver.at(where) if g["body"]["event"]["scope"] == "eval.record")
    WebhookPayload.model_validate(evaluation)
    assert evaluation["eval"]["id"] == r.json()["id"] and evaluation["eval"]["metrics"] == {"accuracy": 0.5}
    assert evaluation["eval"]["dataset"]["name"] == ds
    assert evaluation["eval"]["url"]["api"] == f"{hook_hub.url}/api/evals/{r.json()['id']}"


def test_a_review_delivers_a_discussion_comment(
    hook_hub: HubProcess, admin: HfApi, repo: str, receiver: Receiver, team: Team
) -> None:
    where = path()
    admin.create_webhook(
        url=receiver.url(where), watched=[{"type": "model", "name": repo}], domains=["discussion"]
    )
    theirs = HfApi(endpoint=hook_hub.url, token=team.tokens["outsider"])
    pr = theirs.upload_file(path_or_fileobj=b"w", path_in_repo="w.txt", repo_id=repo, create_pr=True)
    r = httpx.post(
        f"{hook_hub.url}/api/models/{repo}/discussions/{pr.pr_num}/reviews",
        json={"state": "approve", "summary": "Ship it."},
        headers={"Authorization": f"Bearer {hook_hub.token}"},
    )
    assert r.status_code == 200, r.text
    got = receiver.wait(where, 3)  # the PR opened, then the review (a comment, and the review)
    review = next(
        WebhookPayload.model_validate(g["body"])
        for g in got
        if g["body"]["event"]["scope"] == "discussion.comment"
    )
    assert review.event.action == "create" and review.comment is not None
    assert review.comment.id == r.json()["commentId"]
    assert review.comment.content == "**Review: approved**\n\nShip it."
    assert review.discussion is not None and review.discussion.num == pr.pr_num


def test_a_disabled_webhook_delivers_nothing(
    hook_hub: HubProcess, admin: HfApi, repo: str, receiver: Receiver
) -> None:
    where = path()
    hook = admin.create_webhook(url=receiver.url(where), watched=[{"type": "model", "name": repo}])
    admin.disable_webhook(hook.id)
    admin.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo)
    time.sleep(1.5)
    assert receiver.at(where) == [] and deliveries(hook_hub, hook.id) == []
    admin.enable_webhook(hook.id)
    admin.upload_file(path_or_fileobj=b"b", path_in_repo="b.txt", repo_id=repo)
    assert len(receiver.wait(where)) == 1


def test_a_500_is_retried_and_the_log_shows_each_attempt(
    hook_hub: HubProcess, admin: HfApi, repo: str, receiver: Receiver
) -> None:
    where = path()
    receiver.plan[where] = [500]
    hook = admin.create_webhook(url=receiver.url(where), watched=[{"type": "model", "name": repo}])
    admin.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo)
    first, second = receiver.wait(where, 2)
    assert first["body"] == second["body"]
    (entry,) = settled(hook_hub, hook.id)
    assert (entry["status"], entry["attempts"], entry["responseStatus"]) == ("succeeded", 2, 200)
    assert [a["status"] for a in entry["attemptsLog"]] == [500, 200]
    assert entry["attemptsLog"][0]["error"] == "The receiver answered 500."


def test_a_hanging_receiver_times_out_and_holds_up_no_one(
    hook_hub: HubProcess, admin: HfApi, repo: str, receiver: Receiver
) -> None:
    slow, quick = path(), path()
    receiver.plan[slow] = ["hang", "hang", "hang"]
    hanging = admin.create_webhook(url=receiver.url(slow), watched=[{"type": "model", "name": repo}])
    admin.create_webhook(url=receiver.url(quick), watched=[{"type": "model", "name": repo}])
    admin.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo)
    receiver.wait(quick)  # while the other one hangs
    receiver.wait(slow)
    deadline = time.monotonic() + 10
    while not (log := deliveries(hook_hub, hanging.id)) or not log[0]["attemptsLog"]:
        assert time.monotonic() < deadline, log
        time.sleep(0.1)
    attempt = log[0]["attemptsLog"][0]
    assert attempt["status"] is None and attempt["error"].startswith("Timed out after 1 s")
    assert 900 <= attempt["durationMs"] < HANG_SECONDS * 1000
    assert log[0]["status"] in ("pending", "sending")  # to be tried again


def test_replay_sends_the_event_again(
    hook_hub: HubProcess, admin: HfApi, repo: str, receiver: Receiver
) -> None:
    where = path()
    hook = admin.create_webhook(url=receiver.url(where), watched=[{"type": "model", "name": repo}])
    admin.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo)
    (first,) = settled(hook_hub, hook.id)
    headers = {"Authorization": f"Bearer {hook_hub.token}"}
    r = httpx.post(
        f"{hook_hub.url}/api/settings/webhooks/{hook.id}/deliveries/{first['id']}/replay", headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["replayOf"] == first["id"] and r.json()["status"] == "pending"
    one, two = receiver.wait(where, 2)
    assert one["body"] == two["body"]
    assert one["headers"]["X-Webhook-Delivery"] != two["headers"]["X-Webhook-Delivery"]
    log = settled(hook_hub, hook.id, 2)
    assert [d["replayOf"] for d in log] == [first["id"], None]
    missing = httpx.post(
        f"{hook_hub.url}/api/settings/webhooks/{hook.id}/deliveries/{'0' * 24}/replay", headers=headers
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "DeliveryNotFound"


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "error", "reason"),
    [
        ("http://localhost:9/hook", "WebhookUrlRefused", "loopback"),  # allow-listed: 127.0.0.1 only
        ("http://127.0.0.2:9/hook", "WebhookUrlRefused", "loopback"),
        ("http://[::1]:9/hook", "WebhookUrlRefused", "loopback"),
        ("http://[::ffff:127.0.0.1]:9/hook", "WebhookUrlRefused", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "WebhookUrlRefused", "link-local"),
        ("http://10.1.2.3/hook", "WebhookUrlRefused", "private"),
        ("https://192.168.0.1/hook", "WebhookUrlRefused", "private"),
        ("http://0.0.0.0:9/hook", "WebhookUrlRefused", "public"),
        ("file:///etc/passwd", "InvalidWebhookUrl", "http://"),
        ("ftp://example.org/hook", "InvalidWebhookUrl", "http://"),
        ("http://user:pw@example.org/hook", "InvalidWebhookUrl", "credentials"),
        ("not a url", "InvalidWebhookUrl", "http://"),
    ],
)
def test_internal_and_odd_urls_are_refused(
    admin: HfApi, repo: str, url: str, error: str, reason: str
) -> None:
    with pytest.raises(HfHubHTTPError) as err:
        admin.create_webhook(url=url, watched=[{"type": "model", "name": repo}])
    assert err.value.response.status_code == 400 and code(err) == error
    assert reason in err.value.response.json()["error"]
    if error == "WebhookUrlRefused":
        assert reason in err.value.response.json()["reason"]
    hook = admin.create_webhook(url="https://hooks.invalid/x", watched=[{"type": "model", "name": repo}])
    with pytest.raises(HfHubHTTPError) as err:
        admin.update_webhook(hook.id, url=url)
    assert err.value.response.status_code == 400 and code(err) == error
    admin.delete_webhook(hook.id)


def test_bad_watched_items_and_domains(admin: HfApi, repo: str) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"watched": []}, "InvalidWatchedItem"),
        ({"watched": [{"type": "bucket", "name": "admin/b"}]}, "InvalidWatchedItem"),
        ({"watched": [{"type": "user", "name": "nobody-here"}]}, "NamespaceNotFound"),
        ({"watched": [{"type": "org", "name": "admin"}]}, "NamespaceNotFound"),  # a user
        ({"watched": [{"type": "model", "name": "admin/none"}]}, "RepoNotFound"),
        ({"watched": [{"type": "model", "name": repo}], "domains": ["space"]}, "InvalidDomain"),
    ]
    for kwargs, expected in cases:
        with pytest.raises(HfHubHTTPError) as err:
            admin.create_webhook(url="https://hooks.invalid/x", **kwargs)
        assert code(err) == expected, kwargs


def test_permissions(hook_hub: HubProcess, admin: HfApi, team: Team, receiver: Receiver) -> None:
    private = f"admin/secret-{secrets.token_hex(3)}"
    public = f"admin/open-{secrets.token_hex(3)}"
    admin.create_repo(private, private=True)
    admin.create_repo(public)
    outsider = HfApi(endpoint=hook_hub.url, token=team.tokens["outsider"])
    mine = admin.create_webhook(url="https://hooks.invalid/x", watched=[{"type": "model", "name": public}])

    # another user can't watch a private repo they can't read...
    with pytest.raises(HfHubHTTPError) as err:
        outsider.create_webhook(url="https://hooks.invalid/y", watched=[{"type": "model", "name": private}])
    assert err.value.response.status_code == 404 and code(err) == "RepoNotFound"
    # ... nor see, change, disable, delete or replay someone else's webhook
    for call in (
        lambda: outsider.get_webhook(mine.id),
        lambda: outsider.update_webhook(mine.id, url="https://hooks.invalid/z"),
        lambda: outsider.disable_webhook(mine.id),
        lambda: outsider.enable_webhook(mine.id),
        lambda: outsider.delete_webhook(mine.id),
    ):
        with pytest.raises(HfHubHTTPError) as err:
            call()
        assert err.value.response.status_code == 404 and code(err) == "WebhookNotFound"
    assert mine.id not in [w.id for w in outsider.list_webhooks()]
    foreign = httpx.get(
        f"{hook_hub.url}/api/settings/webhooks/{mine.id}/deliveries",
        headers={"Authorization": f"Bearer {team.tokens['outsider']}"},
    )
    assert foreign.status_code == 404
    assert admin.get_webhook(mine.id) == mine  # unchanged

    # read-scope tokens read but don't write; no token, nothing
    reader = HfApi(endpoint=hook_hub.url, token=team.read_tokens["outsider"])
    assert reader.list_webhooks() == []
    with pytest.raises(HfHubHTTPError) as err:
        reader.create_webhook(url="https://hooks.invalid/y", watched=[{"type": "model", "name": public}])
    assert err.value.response.status_code == 403
    anonymous = httpx.get(f"{hook_hub.url}/api/settings/webhooks")
    assert anonymous.status_code == 401

    # like on the public hub, anyone may watch what they can read, e.g. the admin's namespace;
    # the events of its private repos go only to webhooks whose owner can read them
    where = path()
    theirs = outsider.create_webhook(url=receiver.url(where), watched=[{"type": "user", "name": "admin"}])
    admin.upload_file(path_or_fileobj=b"s", path_in_repo="s.txt", repo_id=private)
    admin.upload_file(path_or_fileobj=b"p", path_in_repo="p.txt", repo_id=public)
    (got,) = receiver.wait(where)
    assert got["body"]["repo"]["name"] == public
    time.sleep(0.5)
    assert len(receiver.at(where)) == 1
    assert [d["event"]["repo"] for d in deliveries(hook_hub, theirs.id, team.tokens["outsider"])] == [public]


def test_a_hub_with_no_webhook_workers_sends_nothing(tmp_path: Path, receiver: Receiver) -> None:
    env = {
        "WORKBENCH_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WORKBENCH_WEBHOOK_WORKERS": "0",
        "WORKBENCH_VIEWER_WORKERS": "0",
    }
    hub = HubProcess(tmp_path, env=env).start()
    try:
        api = HfApi(endpoint=hub.url, token=hub.token)
        rid = api.create_repo("admin/quiet").repo_id
        where = path()
        hook = api.create_webhook(url=receiver.url(where), watched=[{"type": "model", "name": rid}])
        api.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=rid)
        time.sleep(1.0)
        # queued, for a hub on the same store that sends
        assert receiver.at(where) == [] and deliveries(hub, hook.id) == []
    finally:
        hub.stop()
