"""Answers the stock ``huggingface_hub`` client reads as the public hub gives them.

Each test mirrors a test of huggingface_hub's own suite (``make interop``,
docs/hf-compatibility.md) that a Workbench hub failed: the status and ``X-Error-Code`` the
client turns into its typed errors and its ``*_exists`` answers. (The 412 of a stale
``parent_commit`` is pinned in ``tests/interop/test_hf_protocol.py``.)
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
def test_a_bare_repo_name_is_a_missing_repo(api: HfApi, repo_type: str) -> None:
    """The public hub still serves ids without a namespace; clients ask for them."""
    assert not api.repo_exists("repo-that-does-not-exist", repo_type=repo_type)
    assert not api.revision_exists("repo-that-does-not-exist", "main", repo_type=repo_type)
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_commits("missing_repo_id", repo_type=repo_type)


def test_a_bare_model_name_has_no_files(api: HfApi) -> None:
    assert not api.file_exists("repo-that-does-not-exist", "file.txt")


def test_missing_revisions_and_files_of_a_real_repo(api: HfApi, repo_id: str) -> None:
    api.upload_file(path_or_fileobj=b"content", path_in_repo="file.txt", repo_id=repo_id)
    assert api.revision_exists(repo_id, "main")
    assert not api.revision_exists(repo_id, "revision-that-does-not-exist")
    assert api.file_exists(repo_id, "file.txt")
    assert not api.file_exists(repo_id, "file-does-not-exist")
    assert not api.file_exists(repo_id, "file.txt", revision="revision-that-does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_commits(repo_id, revision="missing_revision")


def test_bare_names_in_other_paths_stay_plain_404s(hub) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/datasets/nope/unknown/x", "/api/models/api/commits/main", "/nothing/here"):
        r = httpx.get(f"{hub.url}{path}", headers={"Authorization": f"Bearer {hub.token}"})
        assert (r.status_code, r.headers["X-Error-Code"]) == (404, "NotFound"), path


# -- messages and codes the client matches (huggingface_hub's test_hf_api.py) -----------------


def test_a_commit_to_a_missing_repo_says_so_once(api: HfApi) -> None:
    """test_create_commit_repo_does_not_exist: the client prints its own text and the hub's,
    unless the hub's is already part of its own."""
    with pytest.raises(RepositoryNotFoundError) as exc:
        api.create_commit(
            "admin/repo_that_do_not_exist", [CommitOperationAdd("a.txt", b"a")], commit_message="m"
        )
    text = str(exc.value)
    assert text.lower().count("repository not found") == 1, text
    assert text.endswith("Please use `create_repo` if it's not the case."), text


def test_branch_messages(api: HfApi, repo_id: str) -> None:
    api.create_branch(repo_id, branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match="Reference refs/heads/cool-branch already exists"):
        api.create_branch(repo_id, branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match="Reference refs/heads/main already exists"):
        api.create_branch(repo_id, branch="main")
    api.create_branch(repo_id, branch="cool-branch", exist_ok=True)
    with pytest.raises(HfHubHTTPError, match="Cannot delete refs/heads/main"):
        api.delete_branch(repo_id, branch="main")
    with pytest.raises(HfHubHTTPError, match="Invalid rev id"):
        api.delete_branch(repo_id, branch="missing-branch")
    api.create_tag(repo_id, tag="cool-tag")
    with pytest.raises(HfHubHTTPError, match="Invalid rev id"):
        api.delete_branch(repo_id, branch="cool-tag")


def test_a_branch_may_share_a_tags_name(api: HfApi, repo_id: str) -> None:
    api.create_tag(repo_id, tag="v1")
    api.create_branch(repo_id, branch="v1")
    api.upload_file(path_or_fileobj=b"on the branch", path_in_repo="b.txt", repo_id=repo_id, revision="v1")
    refs = api.list_repo_refs(repo_id)
    assert "v1" in {b.name for b in refs.branches} and "v1" in {t.name for t in refs.tags}
    assert api.file_exists(repo_id, "b.txt", revision="v1")  # the branch first
    assert not api.file_exists(repo_id, "b.txt", revision="refs/tags/v1")


def test_moving_onto_an_existing_repo(api: HfApi, repo_id: str) -> None:
    other = api.create_repo(f"{repo_id}-other").repo_id
    with pytest.raises(HfHubHTTPError, match=r"A model repository called .* already exists"):
        api.move_repo(from_id=repo_id, to_id=other)


def test_a_stale_parent_commit_gets_the_public_hubs_message(api: HfApi, repo_id: str) -> None:
    parent = api.model_info(repo_id).sha
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_commit(repo_id, [CommitOperationAdd("y", b"y")], commit_message="m", parent_commit=parent)
    assert exc.value.response.status_code == 412
    assert "The branch was updated since you opened this page. Please refresh and try again." in str(
        exc.value
    )


def test_liking_a_bare_repo_name_is_a_missing_repo(api: HfApi) -> None:
    with pytest.raises(RepositoryNotFoundError):
        api.unlike("missing_repo_id")


def test_repo_ids_match_whatever_their_case(api: HfApi, repo_id: str) -> None:
    """test_create_commit_repo_id_case_insensitive; the repo keeps the case it was created with."""
    mixed = api.create_repo(f"{repo_id}-CaSe").repo_id
    api.create_commit(
        mixed.lower(), [CommitOperationAdd("file.txt", b"content")], commit_message="lower-case id"
    )
    assert "file.txt" in api.list_repo_files(mixed.upper())
    assert api.model_info(mixed.lower()).id == mixed


def test_pull_requests_against_a_branch(api: HfApi, repo_id: str) -> None:
    api.create_branch(repo_id, branch="test_branch")
    head = api.list_repo_refs(repo_id).branches[0].target_commit
    add = [CommitOperationAdd("file.txt", b"content")]
    info = api.create_commit(repo_id, add, commit_message="PR", revision="test_branch", create_pr=True)
    assert info.pr_num is not None
    assert api.get_discussion_details(repo_id, info.pr_num).target_branch == "test_branch"
    for revision in (head, "missing_branch"):
        with pytest.raises(RevisionNotFoundError):
            again = [CommitOperationAdd("file.txt", b"content")]
            api.create_commit(repo_id, again, commit_message="PR", revision=revision, create_pr=True)
    # the status it has already is no error (test_merge_pull_request), then the merge
    api.change_discussion_status(repo_id, info.pr_num, new_status="open")
    api.merge_pull_request(repo_id, info.pr_num)
    assert api.get_discussion_details(repo_id, info.pr_num).status == "merged"
    assert api.file_exists(repo_id, "file.txt", revision="test_branch")
    assert not api.file_exists(repo_id, "file.txt")


def test_deleting_a_folder_by_its_name(api: HfApi, repo_id: str) -> None:
    """test_create_commit_implicit_delete_folder_is_ok: no trailing '/' needed."""
    adds = [CommitOperationAdd(p, b"data") for p in ("1/file_1.md", "1/file_2.md", "2/file_3.md")]
    api.create_commit(repo_id, adds, commit_message="init")
    api.create_commit(repo_id, [CommitOperationDelete("1")], commit_message="delete folder 1")
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "2/file_3.md"]


def test_an_empty_file_is_a_regular_file_whatever_its_name(api: HfApi, repo_id: str) -> None:
    api.upload_file(repo_id=repo_id, path_in_repo="empty.pkl", path_or_fileobj=b"")
    siblings = {f.rfilename: f for f in api.model_info(repo_id, files_metadata=True).siblings or []}
    assert siblings["empty.pkl"].size == 0 and siblings["empty.pkl"].lfs is None


def test_auth_check(api: HfApi, repo_id: str) -> None:
    api.auth_check(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        api.auth_check("admin/missing_repo_id")
    with pytest.raises(RepositoryNotFoundError):
        api.auth_check("missing_repo_id", repo_type="dataset")


# -- uploads: .gitignore, card metadata, paths -------------------------------------------------


@pytest.mark.parametrize("where", ["repo", "commit"])
def test_gitignore_leaves_files_out_of_an_upload(api: HfApi, repo_id: str, tmp_path, where: str) -> None:  # type: ignore[no-untyped-def]
    """test_upload_folder_gitignore_already_exists / _in_commit: preupload's shouldIgnore."""
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "file.bin").write_bytes(b"x" * 10)
    (tmp_path / "kept.txt").write_text("kept")
    if where == "repo":
        api.upload_file(path_or_fileobj=b"nested/*\n", path_in_repo=".gitignore", repo_id=repo_id)
    else:
        (tmp_path / ".gitignore").write_text("nested/*\n")
    api.upload_folder(folder_path=tmp_path, repo_id=repo_id)
    assert not api.file_exists(repo_id, "nested/file.bin")
    assert api.file_exists(repo_id, "kept.txt") and api.file_exists(repo_id, ".gitignore")


def test_card_metadata_is_checked_before_upload(api: HfApi, repo_id: str) -> None:
    """test_commit_modelcard_invalid_metadata / _empty_metadata: validate-yaml's errors and warnings."""
    invalid = b"\n---\nmodel-index: foo\n---\n\nA card with invalid metadata.\n"
    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md"):
        api.create_commit(repo_id, [CommitOperationAdd("README.md", invalid)], commit_message="bad")
    assert not api.file_exists(repo_id, "README.md")
    with pytest.warns(UserWarning, match=r"Warnings while validating metadata in README\.md"):
        api.create_commit(repo_id, [CommitOperationAdd("README.md", b"No metadata")], commit_message="ok")
    assert api.file_exists(repo_id, "README.md")


def test_a_path_outside_the_repo_is_422(api: HfApi, repo_id: str) -> None:
    """test_create_file_with_relative_path (backslashes: docs/hf-compatibility.md)."""
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(path_or_fileobj=b"content", path_in_repo="..\\ddd", repo_id=repo_id)
    assert exc.value.response.status_code == 422
    files = [{"path": "a/../../b", "size": 1, "sample": ""}]  # the client refuses to send it
    r = httpx.post(
        f"{api.endpoint}/api/models/{repo_id}/preupload/main",
        json={"files": files},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert (r.status_code, r.headers["X-Error-Code"]) == (422, "InvalidPath")


# -- identity, request ids, spaces, storage --------------------------------------------------


def test_whoami_names_the_user_and_orgs_in_full(hub) -> None:  # type: ignore[no-untyped-def]
    """test_whoami_with_passing_token, test_oauth's avatarUrl."""
    name = f"fullname-{secrets.token_hex(3)}"
    hub.cli("hub", "user", "create", name, "--fullname", "Dummy User")
    hub.cli("hub", "org", "create", f"{name}-org", "--owner", name, "--fullname", "Dummy Hub Org")
    token = hub.cli("hub", "token", "create", "t", "--user", name).stdout.split()[-1]
    me = HfApi(endpoint=hub.url).whoami(token=token)
    assert (me["name"], me["fullname"], me["avatarUrl"]) == (name, "Dummy User", "")
    assert [(o["name"], o["fullname"], o["roleInOrg"]) for o in me["orgs"]] == [
        (f"{name}-org", "Dummy Hub Org", "admin")
    ]
    assert "avatarUrl" in me["orgs"][0]


def test_the_clients_request_id_comes_back(hub) -> None:  # type: ignore[no-untyped-def]
    """test_request_id_is_used_by_server: huggingface_hub sends X-Amzn-Trace-Id."""
    from huggingface_hub.utils import get_session

    r = get_session().get(f"{hub.url}/api/health")
    assert r.request.headers["X-Amzn-Trace-Id"] in r.headers["X-Request-Id"]


def test_a_new_space_has_a_card(api: HfApi, repo_id: str) -> None:
    """test_metadata_update_missing_readme_on_space: the public hub writes one, naming the SDK."""
    from huggingface_hub import metadata_update

    space = api.create_repo(f"{repo_id}-space", repo_type="space", space_sdk="gradio").repo_id
    card = api.hf_hub_download(space, "README.md", repo_type="space")
    assert "sdk: gradio" in Path(card).read_text()
    api.delete_file("README.md", space, repo_type="space")
    with pytest.raises(ValueError, match="README"):
        metadata_update(space, {"tag": "x"}, repo_type="space", token=api.token)


def test_list_user_repos(api: HfApi, repo_id: str) -> None:
    """`hf repos ls` (TestRepoListCommand): the caller's repos and their storage."""
    api.upload_file(repo_id=repo_id, path_in_repo="data.bin", path_or_fileobj=b"x" * 1024)
    repos = {r.id: r for r in api.list_user_repos()}
    mine = repos[repo_id]
    assert (mine.type, mine.visibility) == ("model", "public") and mine.storage >= 1024
    # its share of the namespace, rounded to hundredths of a percent: 0 beside large repos
    assert 0 <= mine.storage_percent <= 100
    assert 99 <= sum(r.storage_percent for r in repos.values() if r.id.startswith("admin/")) <= 101
    with pytest.raises(HfHubHTTPError) as exc:
        list(api.list_user_repos(namespace="no-such-org"))
    assert exc.value.response.status_code == 404


# -- moved repos, organizations' defaults ------------------------------------------------------


def test_a_moved_private_repo_answers_to_its_old_id(api: HfApi, repo_id: str, hub) -> None:  # type: ignore[no-untyped-def]
    """test_download_regular_file_from_private_renamed_repo: for those who may read it."""
    api.update_repo_settings(repo_id, private=True)
    api.upload_file(repo_id=repo_id, path_in_repo="file.txt", path_or_fileobj=b"content")
    api.move_repo(repo_id, f"{repo_id}_renamed")
    assert Path(api.hf_hub_download(repo_id, "file.txt")).read_text() == "content"
    assert api.model_info(repo_id).id == f"{repo_id}_renamed"
    with pytest.raises(RepositoryNotFoundError):  # private: anyone else gets a missing repo
        HfApi(endpoint=hub.url, token=False).model_info(repo_id)
    api.move_repo(f"{repo_id}_renamed", repo_id)  # the old id is the repo's own again
    assert api.model_info(f"{repo_id}_renamed").id == repo_id
    api.create_repo(f"{repo_id}_other")
    api.move_repo(f"{repo_id}_other", f"{repo_id}_renamed")  # a repo takes the id: no more redirect
    assert api.model_info(f"{repo_id}_renamed").id == f"{repo_id}_renamed"


def test_an_organization_may_make_repos_private_by_default(api: HfApi, hub) -> None:  # type: ignore[no-untyped-def]
    """test_create_repo_private_by_default (an Enterprise Hub setting)."""
    org = f"private-org-{secrets.token_hex(3)}"
    hub.cli("hub", "org", "create", org, "--owner", "admin", "--private-by-default")
    assert api.model_info(api.create_repo(f"{org}/implicit").repo_id).private
    assert not api.model_info(api.create_repo(f"{org}/explicit", private=False).repo_id).private
    assert not api.model_info(api.create_repo(f"admin/{org}").repo_id).private  # users' default
