"""Pull requests: refs/pr/N branches, upload_file(create_pr=True), diffs, merges and conflicts."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.team import Team, make_team
from workbench.config import HubSettings
from workbench.store.store import Store


@pytest.fixture(scope="module")
def team(hub) -> Team:  # type: ignore[no-untyped-def]
    return make_team(hub, "prs")


def code(exc: pytest.ExceptionInfo[HfHubHTTPError]) -> str | None:
    return exc.value.response.headers.get("X-Error-Code")


def read(api: HfApi, repo_id: str, path: str, revision: str = "main") -> str:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        return Path(api.hf_hub_download(repo_id, path, revision=revision, local_dir=tmp)).read_text()


def test_upload_with_create_pr_then_fast_forward_merge(api: HfApi, repo_id: str) -> None:
    api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="config.txt", repo_id=repo_id)
    main_before = api.model_info(repo_id).sha
    info = api.upload_file(
        path_or_fileobj=b"v2\n",
        path_in_repo="config.txt",
        repo_id=repo_id,
        create_pr=True,
        commit_message="Bump config",
        commit_description="why: v2",
    )
    assert info.pr_num == 1 and info.pr_revision == "refs/pr/1"
    assert info.pr_url.endswith(f"/{repo_id}/discussions/1")
    assert api.model_info(repo_id).sha == main_before  # main untouched until the merge
    assert read(api, repo_id, "config.txt", "refs/pr/1") == "v2\n"

    pr = api.get_discussion_details(repo_id, 1)
    assert (pr.is_pull_request, pr.status, pr.target_branch, pr.title) == (
        True,
        "open",
        "main",
        "Bump config",
    )
    assert pr.conflicting_files == [] and pr.merge_commit_oid is None
    assert "-v1\n+v2\n" in pr.diff and "a/config.txt" in pr.diff
    assert [e.type for e in pr.events] == ["comment", "commit"]
    assert pr.events[1].summary == "Bump config" and pr.events[1].oid == info.oid
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [(r.ref, r.target_commit) for r in refs.pull_requests] == [("refs/pr/1", info.oid)]

    api.merge_pull_request(repo_id, 1, comment="LGTM")
    assert api.model_info(repo_id).sha == info.oid  # fast-forward: main is the PR's commit
    assert read(api, repo_id, "config.txt") == "v2\n"
    merged = api.get_discussion_details(repo_id, 1)
    assert merged.status == "merged" and merged.merge_commit_oid == info.oid
    assert [e.type for e in merged.events][-2:] == ["comment", "status-change"]
    assert merged.events[-1].new_status == "merged"

    with pytest.raises(HfHubHTTPError) as exc:
        api.merge_pull_request(repo_id, 1)
    assert exc.value.response.status_code == 409 and code(exc) == "PullRequestMerged"
    with pytest.raises(HfHubHTTPError) as exc:
        api.change_discussion_status(repo_id, 1, "open")
    assert code(exc) == "PullRequestMerged"


def test_draft_pr_gets_commits_and_merges_onto_a_moved_target(api: HfApi, repo_id: str) -> None:
    pr = api.create_pull_request(repo_id, "Add a tokenizer", description="see files")
    assert (pr.num, pr.status, pr.git_reference) == (1, "draft", "refs/pr/1")
    with pytest.raises(HfHubHTTPError) as exc:
        api.merge_pull_request(repo_id, 1)
    assert exc.value.response.status_code == 400 and code(exc) == "NothingToMerge"

    api.upload_file(
        path_or_fileobj=b"tok",
        path_in_repo="tokenizer.txt",
        repo_id=repo_id,
        revision="refs/pr/1",
        commit_message="tokenizer",
    )
    assert api.get_discussion_details(repo_id, 1).status == "open"
    moved = api.upload_file(path_or_fileobj=b"readme", path_in_repo="notes.txt", repo_id=repo_id)

    assert api.get_discussion_details(repo_id, 1).conflicting_files == []
    api.merge_pull_request(repo_id, 1)
    head = api.model_info(repo_id).sha
    assert head != moved.oid
    commits = api.list_repo_commits(repo_id)
    assert commits[0].commit_id == head and commits[0].title.startswith("Merge pull request #1")
    assert commits[1].commit_id == moved.oid  # the merge commit sits on the moved target
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "notes.txt", "tokenizer.txt"]
    assert api.get_discussion_details(repo_id, 1).merge_commit_oid == head


def test_conflicting_merge_is_refused_and_changes_nothing(api: HfApi, repo_id: str, hub) -> None:  # type: ignore[no-untyped-def]
    api.upload_file(path_or_fileobj=b"base\n", path_in_repo="a.txt", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"pr side\n", path_in_repo="a.txt", repo_id=repo_id, create_pr=True)
    api.upload_file(path_or_fileobj=b"pr only\n", path_in_repo="b.txt", repo_id=repo_id, revision="refs/pr/1")
    main = api.upload_file(path_or_fileobj=b"main side\n", path_in_repo="a.txt", repo_id=repo_id).oid

    assert api.get_discussion_details(repo_id, 1).conflicting_files == ["a.txt"]
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"}) as http:
        r = http.post(f"/api/models/{repo_id}/discussions/1/merge")
    assert r.status_code == 409 and r.headers["X-Error-Code"] == "MergeConflict"
    assert r.json()["conflicting_files"] == ["a.txt"] and "a.txt" in r.json()["error"]
    assert api.model_info(repo_id).sha == main and read(api, repo_id, "a.txt") == "main side\n"
    assert api.get_discussion_details(repo_id, 1).status == "open"

    api.change_discussion_status(repo_id, 1, "closed")
    with pytest.raises(HfHubHTTPError) as exc:
        api.merge_pull_request(repo_id, 1)
    assert exc.value.response.status_code == 409 and code(exc) == "PullRequestClosed"
    disc = api.create_discussion(repo_id, "just talk")
    with pytest.raises(HfHubHTTPError) as exc:
        api.merge_pull_request(repo_id, disc.num)
    assert exc.value.response.status_code == 400 and code(exc) == "NotAPullRequest"


def test_merging_a_card_change_updates_card_and_search(api: HfApi, repo_id: str, hub) -> None:  # type: ignore[no-untyped-def]
    import secrets

    word = f"quokka{secrets.token_hex(3)}"
    card = f"---\nlicense: mit\n---\nA model about {word}.\n".encode()
    api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo_id, create_pr=True)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="other.txt", repo_id=repo_id)  # main moves
    assert api.model_info(repo_id).card_data is None
    api.merge_pull_request(repo_id, 1)  # a merge commit, not a fast-forward
    assert api.model_info(repo_id).card_data["license"] == "mit"
    hits = httpx.get(f"{hub.url}/api/search", params={"q": word}).json()
    items = hits["results"] if isinstance(hits, dict) else hits
    assert [h["id"] for h in items] == [repo_id]


def test_file_against_folder_is_a_merge_conflict(api: HfApi, repo_id: str) -> None:
    api.upload_file(path_or_fileobj=b"in a folder", path_in_repo="x/y.txt", repo_id=repo_id, create_pr=True)
    main = api.upload_file(path_or_fileobj=b"a file", path_in_repo="x", repo_id=repo_id).oid
    with pytest.raises(HfHubHTTPError) as exc:
        api.merge_pull_request(repo_id, 1)
    assert exc.value.response.status_code == 409 and code(exc) == "MergeConflict"
    assert api.model_info(repo_id).sha == main


def test_outsiders_propose_changes_but_cannot_merge_or_push_elsewhere(
    api: HfApi, repo_id: str, hub, team: Team
) -> None:  # type: ignore[no-untyped-def]
    outsider = HfApi(endpoint=hub.url, token=team.tokens["outsider"])
    info = outsider.upload_file(
        path_or_fileobj=b"fix",
        path_in_repo="fix.txt",
        repo_id=repo_id,
        create_pr=True,
        commit_message="A fix from outside",
    )
    assert info.pr_num == 1
    outsider.upload_file(
        path_or_fileobj=b"fix2", path_in_repo="fix.txt", repo_id=repo_id, revision="refs/pr/1"
    )
    with pytest.raises(HfHubHTTPError) as exc:
        outsider.merge_pull_request(repo_id, 1)
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        outsider.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
    assert exc.value.response.status_code == 403
    other = api.create_pull_request(repo_id, "admin's own PR")
    with pytest.raises(HfHubHTTPError) as exc:
        outsider.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id, revision=f"refs/pr/{other.num}"
        )
    assert exc.value.response.status_code == 403
    assert "fix.txt" not in api.list_repo_files(repo_id)

    api.merge_pull_request(repo_id, 1)
    assert read(api, repo_id, "fix.txt") == "fix2"


def test_upload_folder_with_create_pr(api: HfApi, repo_id: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "one.txt").write_text("1")
    (tmp_path / "two.txt").write_text("2")
    info = api.upload_folder(
        folder_path=tmp_path, repo_id=repo_id, create_pr=True, commit_message="Two files"
    )
    assert info.pr_num == 1
    pr = api.get_discussion_details(repo_id, 1)
    assert pr.status == "open" and "b/sub/one.txt" in pr.diff and "b/two.txt" in pr.diff
    assert "two.txt" not in api.list_repo_files(repo_id)
    api.merge_pull_request(repo_id, 1)
    assert {"sub/one.txt", "two.txt"} <= set(api.list_repo_files(repo_id))


def test_a_failed_create_pr_commit_leaves_no_pull_request(api: HfApi, repo_id: str) -> None:
    from huggingface_hub import CommitOperationDelete

    with pytest.raises(HfHubHTTPError):
        api.create_commit(repo_id, [CommitOperationDelete("missing.txt")], commit_message="x", create_pr=True)
    assert list(api.get_repo_discussions(repo_id)) == []
    assert api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests == []


def test_merges_are_in_the_audit_log(api: HfApi, repo_id: str, hub) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from workbench.store import models as m

    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id, create_pr=True)
    api.merge_pull_request(repo_id, 1)
    store = Store.open(HubSettings(data_dir=hub.data, write_user_config=False))
    try:
        with store.read() as s:
            rows = s.scalars(select(m.AuditEvent).where(m.AuditEvent.repo_name == repo_id)).all()
            merges = [r for r in rows if r.action == "repo.merge"]
            assert len(merges) == 1 and merges[0].actor == "admin"
            assert merges[0].details["num"] == 1 and merges[0].details["fastForward"] is True
    finally:
        store.close()


@pytest.mark.postgres
def test_discussions_and_merges_on_postgresql(hub_factory, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    pg = hub_factory(database_url=postgres_url)
    api = HfApi(endpoint=pg.url, token=pg.token)
    rid = "admin/pg-collab"
    api.create_repo(rid)
    api.upload_file(path_or_fileobj=b"base\n", path_in_repo="a.txt", repo_id=rid)
    info = api.upload_file(path_or_fileobj=b"pr\n", path_in_repo="b.txt", repo_id=rid, create_pr=True)
    api.upload_file(path_or_fileobj=b"main\n", path_in_repo="c.txt", repo_id=rid)
    api.comment_discussion(rid, info.pr_num, "Looks good <script>x</script> @admin")
    details = api.get_discussion_details(rid, info.pr_num)
    assert [e.type for e in details.events] == ["commit", "comment"]  # no description: no first comment
    assert "<script>" not in details.events[1].rendered
    api.merge_pull_request(rid, info.pr_num)
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "a.txt", "b.txt", "c.txt"]
    assert api.get_discussion_details(rid, info.pr_num).status == "merged"
    with httpx.Client(base_url=pg.url, headers={"Authorization": f"Bearer {pg.token}"}) as http:
        assert http.post(f"/api/models/{rid}/like").json()["likes"] == 1
        assert http.get(f"/api/models/{rid}/comments").json()["comments"] == []
    assert api.model_info(rid).likes == 1
    assert len(list(api.get_repo_discussions(rid, discussion_status="closed"))) == 1
