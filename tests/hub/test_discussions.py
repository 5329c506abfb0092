"""Discussions through the real HfApi against a real hub, and every bad input around them."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.support.team import Team, make_team


@pytest.fixture(scope="module")
def team(hub) -> Team:  # type: ignore[no-untyped-def]
    return make_team(hub, "disc")


def as_user(hub, team: Team, who: str) -> HfApi:  # type: ignore[no-untyped-def]
    return HfApi(endpoint=hub.url, token=team.tokens[who])


def code(exc: pytest.ExceptionInfo[HfHubHTTPError]) -> str | None:
    return exc.value.response.headers.get("X-Error-Code")


def test_discussion_lifecycle_with_hfapi(api: HfApi, repo_id: str, hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    created = api.create_discussion(repo_id, "Why three epochs?", description="Is **3** enough?")
    assert (created.num, created.status, created.is_pull_request) == (1, "open", False)
    assert created.author == "admin" and created.repo_id == repo_id
    assert created.events[0].content == "Is **3** enough?"
    assert created.events[0].rendered == "<p>Is <strong>3</strong> enough?</p>"

    outsider = as_user(hub, team, "outsider")
    reply = outsider.comment_discussion(repo_id, 1, "More would overfit.")
    assert reply.content == "More would overfit." and reply.author == team.users["outsider"]
    edited = outsider.edit_discussion_comment(repo_id, 1, reply.id, "More epochs would overfit.")
    assert edited.edited and edited.content == "More epochs would overfit."
    assert edited.edit_history[0]["raw"] == "More would overfit."

    renamed = api.rename_discussion(repo_id, 1, "Why 3 epochs?")
    assert (renamed.old_title, renamed.new_title) == ("Why three epochs?", "Why 3 epochs?")
    closed = api.change_discussion_status(repo_id, 1, "closed", comment="Answered, thanks.")
    assert closed.new_status == "closed"
    with pytest.warns(UserWarning, match="irreversible"):
        hidden = api.hide_discussion_comment(repo_id, 1, reply.id)
    assert hidden.hidden and "overfit" not in hidden.content

    details = api.get_discussion_details(repo_id, 1)
    assert details.title == "Why 3 epochs?" and details.status == "closed"
    assert [e.type for e in details.events] == [
        "comment",
        "comment",
        "title-change",
        "comment",
        "status-change",
    ]
    assert details.events[1].hidden and details.events[3].content == "Answered, thanks."
    assert details.target_branch is None and details.diff is None

    reopened = api.change_discussion_status(repo_id, 1, "open")
    assert reopened.new_status == "open"
    listed = list(api.get_repo_discussions(repo_id))
    assert [(d.num, d.title, d.status) for d in listed] == [(1, "Why 3 epochs?", "open")]


def test_listing_pages_and_filters(api: HfApi, repo_id: str, hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    writer = HfApi(endpoint=hub.url, token=team.tokens["outsider"])
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"}) as http:
        for i in range(52):  # more than one page of 50
            r = http.post(
                f"/api/models/{repo_id}/discussions",
                json={"title": f"topic {i}", "description": "d", "pullRequest": False},
            )
            assert r.status_code == 200, r.text
    writer.create_discussion(repo_id, "from outsider")
    api.create_pull_request(repo_id, "a draft PR")
    api.change_discussion_status(repo_id, 3, "closed")

    everything = list(api.get_repo_discussions(repo_id))
    assert len(everything) == 54 and everything[0].num == 54 and everything[-1].num == 1
    assert [d.num for d in api.get_repo_discussions(repo_id, author=team.users["outsider"])] == [53]
    prs = list(api.get_repo_discussions(repo_id, discussion_type="pull_request"))
    assert [(d.num, d.status, d.git_reference) for d in prs] == [(54, "draft", "refs/pr/54")]
    assert len(list(api.get_repo_discussions(repo_id, discussion_type="discussion"))) == 53
    assert [d.num for d in api.get_repo_discussions(repo_id, discussion_status="closed")] == [3]
    assert len(list(api.get_repo_discussions(repo_id, discussion_status="open"))) == 53


def test_bad_inputs_get_clear_4xx(api: HfApi, repo_id: str, hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    api.create_discussion(repo_id, "topic", description="first")
    outsider = as_user(hub, team, "outsider")

    with pytest.raises(HfHubHTTPError) as exc:
        api.comment_discussion(repo_id, 99, "hello?")
    assert exc.value.response.status_code == 404 and code(exc) == "DiscussionNotFound"

    mine = api.comment_discussion(repo_id, 1, "admin's words")
    with pytest.raises(HfHubHTTPError) as exc:
        outsider.edit_discussion_comment(repo_id, 1, mine.id, "not yours")
    assert exc.value.response.status_code == 403 and code(exc) == "NotCommentAuthor"
    with pytest.raises(HfHubHTTPError) as exc:
        outsider.rename_discussion(repo_id, 1, "hijacked")
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        outsider.change_discussion_status(repo_id, 1, "closed")
    assert exc.value.response.status_code == 403

    with pytest.raises(HfHubHTTPError) as exc:
        api.comment_discussion(repo_id, 1, "x" * 70_000)
    assert exc.value.response.status_code == 413 and code(exc) == "CommentTooLong"
    with pytest.raises(HfHubHTTPError) as exc:
        api.comment_discussion(repo_id, 1, "   ")
    assert exc.value.response.status_code == 400 and code(exc) == "EmptyComment"
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_discussion(repo_id, "   ")
    assert exc.value.response.status_code == 400 and code(exc) == "EmptyTitle"
    # the status it has already: no error, as on the public hub (huggingface_hub's
    # test_merge_pull_request opens a pull request a commit opened)
    assert api.change_discussion_status(repo_id, 1, "open").new_status == "open"
    assert api.get_discussion_details(repo_id, 1).status == "open"

    with httpx.Client(base_url=hub.url) as http:
        read_only = {"Authorization": f"Bearer {team.read_tokens['outsider']}"}
        r = http.post(
            f"/api/models/{repo_id}/discussions/1/comment", json={"comment": "hi"}, headers=read_only
        )
        assert r.status_code == 403 and r.headers["X-Error-Code"] == "ReadOnlyToken"
        r = http.post(f"/api/models/{repo_id}/discussions/1/comment", json={"comment": "hi"})
        assert r.status_code == 401
        admin = {"Authorization": f"Bearer {hub.token}"}
        r = http.post(f"/api/models/{repo_id}/discussions/1/comment", json={"comment": 5}, headers=admin)
        assert r.status_code == 400
        r = http.post(
            f"/api/models/{repo_id}/discussions/1/lock",
            json={"locked": True},
            headers={"Authorization": f"Bearer {team.tokens['outsider']}"},
        )
        assert r.status_code == 403
        r = http.post(f"/api/models/{repo_id}/discussions/1/lock", json={"locked": True}, headers=admin)
        assert r.status_code == 200 and r.json()["locked"] is True
        r = http.get(f"/api/models/{repo_id}/discussions/abc", headers=admin)
        assert r.status_code == 400

    before = len(api.get_discussion_details(repo_id, 1).events)
    with pytest.raises(HfHubHTTPError) as exc:
        outsider.comment_discussion(repo_id, 1, "after the lock")
    assert exc.value.response.status_code == 403 and code(exc) == "DiscussionLocked"
    assert len(api.get_discussion_details(repo_id, 1).events) == before  # nothing stored


def parsed_tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_script_markdown_is_stored_raw_and_never_rendered(api: HfApi, repo_id: str) -> None:
    evil = '<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3))'
    created = api.create_discussion(repo_id, "<b>title</b>", description=evil)
    event = created.events[0]
    assert event.content == evil  # the HF clients read raw markdown: kept as sent
    tags = parsed_tags(event.rendered)
    assert all(tag not in ("script", "img", "iframe") for tag, _ in tags), tags
    assert not [
        a for _, attrs in tags for a, v in attrs if a.startswith("on") or "javascript:" in (v or "")
    ], tags
    assert "&lt;script&gt;" in event.rendered  # shown as text
    details = api.get_discussion_details(repo_id, created.num)
    assert details.title == "<b>title</b>" and details.events[0].content == evil


def test_private_repo_discussions_are_404_to_outsiders(api: HfApi, hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    import secrets

    rid = f"admin/secret-talk-{secrets.token_hex(3)}"
    api.create_repo(rid, private=True)
    api.create_discussion(rid, "internal", description="only us")
    for who in ("outsider", "anonymous"):
        other = HfApi(endpoint=hub.url, token=team.tokens[who] or False)
        with pytest.raises(RepositoryNotFoundError):
            list(other.get_repo_discussions(rid))
        with pytest.raises(RepositoryNotFoundError):
            other.get_discussion_details(rid, 1)
        with pytest.raises((RepositoryNotFoundError, HfHubHTTPError)) as exc:
            other.comment_discussion(rid, 1, "peek")
        assert exc.value.response.status_code in (401, 404)
        with pytest.raises((RepositoryNotFoundError, HfHubHTTPError)) as exc:
            other.create_discussion(rid, "peek")
        assert exc.value.response.status_code in (401, 404)
    with httpx.Client(
        base_url=hub.url, headers={"Authorization": f"Bearer {team.tokens['outsider']}"}
    ) as http:
        for method, url in (
            ("GET", f"/api/models/{rid}/comments"),
            ("POST", f"/api/models/{rid}/like"),
            ("POST", f"/api/models/{rid}/watch"),
            ("GET", f"/api/models/{rid}/likers"),
            ("POST", f"/api/models/{rid}/discussions/1/lock"),
        ):
            r = http.request(method, url, json={"locked": True})
            assert r.status_code == 404 and r.headers["X-Error-Code"] == "RepoNotFound", (method, url)
    assert len(list(api.get_repo_discussions(rid))) == 1


def test_org_comment_policy_refuses_readers(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    admin = as_user(hub, team, "admin")
    rid = f"{team.org}/policy-model"
    admin.create_repo(rid)
    admin.create_discussion(rid, "open to all readers")
    as_user(hub, team, "reader").comment_discussion(rid, 1, "a reader may comment by default")

    with httpx.Client(base_url=hub.url) as http:
        url = f"/api/comment-policy/{team.org}"
        r = http.put(
            url, json={"policy": "writers"}, headers={"Authorization": f"Bearer {team.tokens['writer']}"}
        )
        assert r.status_code == 403 and r.headers["X-Error-Code"] == "AdminRequired"
        r = http.put(
            url, json={"policy": "everyone"}, headers={"Authorization": f"Bearer {team.tokens['admin']}"}
        )
        assert r.status_code == 400 and r.headers["X-Error-Code"] == "InvalidPolicy"
        r = http.put(
            url, json={"policy": "writers"}, headers={"Authorization": f"Bearer {team.tokens['admin']}"}
        )
        assert r.status_code == 200 and http.get(url).json()["policy"] == "writers"

    for who in ("reader", "outsider"):
        with pytest.raises(HfHubHTTPError) as exc:
            as_user(hub, team, who).comment_discussion(rid, 1, "may I?")
        assert exc.value.response.status_code == 403 and code(exc) == "CommentForbidden"
        with pytest.raises(HfHubHTTPError) as exc:
            as_user(hub, team, who).create_discussion(rid, "new topic?")
        assert code(exc) == "CommentForbidden"
    assert as_user(hub, team, "writer").comment_discussion(rid, 1, "writers still may").content
