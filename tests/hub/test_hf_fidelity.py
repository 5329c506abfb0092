"""Answers the stock ``huggingface_hub`` client reads as the public hub gives them.

Each test mirrors a test of huggingface_hub's own suite (``make interop``,
docs/hf-compatibility.md) that a Workbench hub failed: the status and ``X-Error-Code`` the
client turns into its typed errors and its ``*_exists`` answers. (The 412 of a stale
``parent_commit`` is pinned in ``tests/interop/test_hf_protocol.py``.)
"""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError


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
