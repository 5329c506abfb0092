"""``workbench pr review/reviews`` against a real hub: a PR by another user, reviewed by the
admin (the CLI's saved identity in these tests)."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from tests.support.kernel import make_user


@pytest.mark.parametrize("command", ("review", "reviews"))
def test_help(hub, command: str) -> None:  # type: ignore[no-untyped-def]
    out = hub.cli("pr", command, "--help")
    assert "Usage" in out.stdout


def test_review_from_the_shell(hub, api: HfApi, repo_id: str) -> None:  # type: ignore[no-untyped-def]
    bob = make_user(hub)
    theirs = HfApi(endpoint=hub.url, token=bob.token)
    info = theirs.create_commit(
        repo_id, [CommitOperationAdd("a.txt", b"a")], commit_message="add a", create_pr=True
    )
    num = str(info.pr_num)
    both = hub.cli("pr", "review", repo_id, num, "--approve", "--request-changes", check=False)
    assert both.returncode == 1 and "one of --approve" in both.stderr
    empty = hub.cli("pr", "review", repo_id, num, "--request-changes", check=False)
    assert empty.returncode == 1 and "review summary is empty" in empty.stderr
    out = hub.cli("pr", "review", repo_id, num, "--request-changes", "-m", "Add b too.").stdout
    assert out.startswith(f"request_changes #{num} at ")
    done = json.loads(hub.cli("pr", "review", repo_id, num, "--approve", "--json").stdout)
    assert done["state"] == "approve" and done["author"] == "admin"
    note = hub.cli("pr", "review", repo_id, num, "-m", "Merging after lunch.").stdout
    assert note.startswith(f"comment #{num} at ")
    lines = hub.cli("pr", "reviews", repo_id, num).stdout.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["request_changes", "approve", "comment"]
    assert lines[0].endswith("Add b too.")
    assert lines[-1] == "approvals: 1 of 0 required (can merge)"
    listed = json.loads(hub.cli("pr", "reviews", repo_id, num, "--json").stdout)
    assert listed["approvals"]["approvedBy"] == ["admin"]
    # a new commit on the PR: the approval is of an older head
    theirs.upload_file(path_or_fileobj=b"b", path_in_repo="b.txt", repo_id=repo_id, revision=f"refs/pr/{num}")
    lines = hub.cli("pr", "reviews", repo_id, num).stdout.splitlines()
    assert "(stale)" in lines[1] and lines[-1] == "stale approvals (new commits since): admin"
    assert lines[-2] == "approvals: 0 of 0 required (can merge)"
