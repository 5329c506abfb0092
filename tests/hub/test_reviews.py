"""Pull request reviews: comments anchored to lines and notebook cells of the diff (bad
anchors refused), threads and resolve, review states, no approving one's own PR, the
repo's required approvals enforced through the stock ``HfApi.merge_pull_request``, and
notebooks merged cell by cell with nbdime (a true conflict names the cells)."""

from __future__ import annotations

import json
import secrets

import httpx
import nbformat
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError
from nbformat.v4 import new_code_cell, new_notebook, new_output

import workbench as wb
from tests.support.hub import HubProcess
from tests.support.team import Team, make_team


@pytest.fixture
def team(hub: HubProcess) -> Team:
    return make_team(hub, "rev")


@pytest.fixture
def org_repo(api: HfApi, team: Team) -> str:
    rid = f"{team.org}/reviewed-{secrets.token_hex(3)}"
    api.create_repo(rid)
    return rid


def nb(*sources: str, outputs: dict[int, str] | None = None) -> bytes:
    cells = []
    for i, src in enumerate(sources):
        outs = [new_output("stream", name="stdout", text=outputs[i])] if outputs and i in outputs else []
        cells.append(new_code_cell(src, id=f"c{i}", outputs=outs))
    return nbformat.writes(new_notebook(cells=cells)).encode()


TEXT = "".join(f"line {i}\n" for i in range(1, 41))


def open_pr(hub: HubProcess, token: str, repo: str, files: dict[str, bytes]) -> int:
    """A pull request by the token's owner changing ``files``; its number."""
    api = HfApi(endpoint=hub.url, token=token)
    ops = [CommitOperationAdd(path, data) for path, data in files.items()]
    info = api.create_commit(repo, ops, commit_message="change", create_pr=True)
    assert info.pr_num is not None
    return info.pr_num


def call(hub: HubProcess, token: str | None, method: str, path: str, body: object = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, hub.url + path, json=body, headers=headers, timeout=60)


def code(r: httpx.Response) -> str | None:
    return r.headers.get("X-Error-Code")


def seed(api: HfApi, repo: str) -> None:
    ops = [
        CommitOperationAdd("notes.txt", TEXT.encode()),
        CommitOperationAdd("eval.ipynb", nb("a = 1", "b = 2", "print(b)", outputs={2: "2\n"})),
    ]
    api.create_commit(repo, ops, commit_message="seed")


def changed_files() -> dict[str, bytes]:
    text = TEXT.replace("line 20\n", "line twenty\n")
    return {"notes.txt": text.encode(), "eval.ipynb": nb("a = 1", "b = 3", "print(b)", outputs={2: "3\n"})}


def test_anchored_comments_threads_and_resolve(
    api: HfApi, hub: HubProcess, team: Team, org_repo: str
) -> None:
    seed(api, org_repo)
    reader = team.tokens["reader"]
    assert reader is not None
    num = open_pr(hub, reader, org_repo, changed_files())
    base = f"/api/models/{org_repo}/discussions/{num}/review-comments"
    writer = team.tokens["writer"]
    ok = [
        {"path": "notes.txt", "side": "new", "line": 20},
        {"path": "notes.txt", "side": "old", "line": 17},  # context of the hunk
        {"path": "eval.ipynb", "side": "new", "cell": 1, "part": "source"},
        {"path": "eval.ipynb", "side": "old", "cell": 2, "part": "output"},
    ]
    made = []
    for anchor in ok:
        r = call(hub, writer, "POST", base, {"anchor": anchor, "body": f"about {anchor}"})
        assert r.status_code == 200, r.text
        made.append(r.json()["id"])
    bad = [
        ({"path": "notes.txt", "side": "new", "line": 2}, "Line 2 (new) of notes.txt is not in the diff"),
        ({"path": "notes.txt", "line": 400}, "Line 400 (new)"),
        ({"path": "other.txt", "line": 1}, "other.txt is not changed"),
        (
            {"path": "eval.ipynb", "cell": 0, "part": "source"},
            "Cell 0 (new) of eval.ipynb is not in the diff",
        ),
        ({"path": "eval.ipynb", "cell": 9, "part": "source"}, "Cell 9 (new)"),
        ({"path": "eval.ipynb", "cell": 1, "part": "output"}, "has no outputs in the diff"),
    ]
    for anchor, message in bad:
        r = call(hub, writer, "POST", base, {"anchor": anchor, "body": "x"})
        assert r.status_code == 400 and code(r) == "AnchorNotInDiff", (anchor, r.text)
        assert message in r.json()["error"], r.text
    r = call(hub, writer, "POST", base, {"anchor": {"path": "eval.ipynb", "cell": 1}, "body": "x"})
    assert (r.status_code, code(r)) == (400, "InvalidAnchor")
    r = call(hub, writer, "POST", base, {"anchor": {"path": "notes.txt", "line": 20, "cell": 1}, "body": "x"})
    assert (r.status_code, code(r)) == (400, "InvalidAnchor")
    # a reply (to a reply, too) joins the thread
    r = call(hub, reader, "POST", base, {"inReplyTo": made[0], "body": "fixed"})
    assert r.status_code == 200, r.text
    r = call(hub, writer, "POST", base, {"inReplyTo": r.json()["id"], "body": "thanks"})
    assert r.status_code == 200, r.text
    threads = call(hub, reader, "GET", base).json()["threads"]
    assert len(threads) == 4
    first = threads[0]
    assert first["anchor"]["path"] == "notes.txt" and first["anchor"]["line"] == 20
    assert [c["body"] for c in first["comments"]] == [f"about {ok[0]}", "fixed", "thanks"]
    assert threads[2]["anchor"] | {"commit": None} == {
        "path": "eval.ipynb",
        "side": "new",
        "line": None,
        "cell": 1,
        "part": "source",
        "commit": None,
    }
    # the outsider may comment but not resolve; the PR's author may
    outsider = team.tokens["outsider"]
    r = call(hub, outsider, "POST", f"{base}/{made[0]}/resolve", {"resolved": True})
    assert (r.status_code, code(r)) == (403, "NotAuthor")
    r = call(hub, reader, "POST", f"{base}/{made[0]}/resolve", {"resolved": True})
    assert (
        r.status_code == 200
        and r.json()["resolved"] is True
        and r.json()["resolvedBy"] == team.users["reader"]
    )
    r = call(hub, writer, "POST", f"{base}/{made[0]}/resolve", {"resolved": False})
    assert r.json()["resolved"] is False
    r = call(hub, writer, "POST", f"{base}/nope/resolve", {})
    assert (r.status_code, code(r)) == (404, "CommentNotFound")


def test_reviews_states_and_own_approval(api: HfApi, hub: HubProcess, team: Team, org_repo: str) -> None:
    seed(api, org_repo)
    reader, writer = team.tokens["reader"], team.tokens["writer"]
    assert reader is not None and writer is not None
    num = open_pr(hub, reader, org_repo, changed_files())
    base = f"/api/models/{org_repo}/discussions/{num}/reviews"
    r = call(hub, reader, "POST", base, {"state": "approve", "summary": "mine is great"})
    assert (r.status_code, code(r)) == (403, "OwnApproval")
    r = call(hub, reader, "POST", base, {"state": "request_changes", "summary": "hm"})
    assert (r.status_code, code(r)) == (403, "OwnApproval")
    r = call(hub, writer, "POST", base, {"state": "lgtm"})
    assert (r.status_code, code(r)) == (400, "InvalidField")
    r = call(hub, writer, "POST", base, {"state": "request_changes", "summary": ""})
    assert (r.status_code, code(r)) == (400, "EmptyComment")
    # a review with a bad anchored comment keeps nothing
    bad = {"anchor": {"path": "notes.txt", "line": 1}, "body": "?"}
    r = call(hub, writer, "POST", base, {"state": "comment", "summary": "see", "comments": [bad]})
    assert (r.status_code, code(r)) == (400, "AnchorNotInDiff")
    good = {"anchor": {"path": "eval.ipynb", "cell": 2, "part": "output"}, "body": "3, really?"}
    r = call(
        hub, writer, "POST", base, {"state": "request_changes", "summary": "Check b.", "comments": [good]}
    )
    assert r.status_code == 200, r.text
    review = r.json()
    assert review["state"] == "request_changes" and review["summary"] == "Check b."
    r = call(hub, reader, "POST", base, {"state": "comment", "summary": "Done, see the output."})
    assert r.status_code == 200, r.text
    listed = call(hub, reader, "GET", base).json()
    assert [x["state"] for x in listed["reviews"]] == ["request_changes", "comment"]
    assert listed["approvals"]["changesRequestedBy"] == [team.users["writer"]]
    threads = call(hub, reader, "GET", f"/api/models/{org_repo}/discussions/{num}/review-comments").json()
    assert [t["anchor"]["cell"] for t in threads["threads"]] == [2]
    # each review is a comment in the discussion's thread, as the HF clients see it
    details = api.get_discussion_details(org_repo, num)
    texts = [e.content for e in details.events if e.type == "comment"]
    assert "**Review: requested changes**\n\nCheck b." in texts
    # the PR's author hears of it in the inbox
    inbox = call(hub, reader, "GET", "/api/notifications").json()["notifications"]
    assert any(n["kind"] == "review" and n["discussion"] == num for n in inbox), inbox
    # a review request reaches the one asked
    r = call(hub, reader, "POST", f"{base}/request", {"reviewers": [team.users["admin"]]})
    assert r.status_code == 200 and r.json()["requested"] == [team.users["admin"]]
    asked = call(hub, team.tokens["admin"], "GET", "/api/notifications").json()["notifications"]
    assert any(n["kind"] == "review-request" and n["discussion"] == num for n in asked), asked
    r = call(hub, team.tokens["outsider"], "POST", f"{base}/request", {"reviewers": [team.users["admin"]]})
    assert (r.status_code, code(r)) == (403, "NotAuthor")
    r = call(hub, reader, "POST", f"{base}/request", {"reviewers": ["nobody-here-at-all"]})
    assert (r.status_code, code(r)) == (404, "UserNotFound")


def test_required_approvals_through_hfapi(api: HfApi, hub: HubProcess, team: Team, org_repo: str) -> None:
    seed(api, org_repo)
    settings = f"/api/models/{org_repo}/settings"
    r = call(hub, team.tokens["writer"], "PUT", settings, {"requiredApprovals": 2})
    assert r.status_code == 200 and r.json()["requiredApprovals"] == 2
    r = call(hub, team.tokens["writer"], "PUT", settings, {"requiredApprovals": -1})
    assert (r.status_code, code(r)) == (400, "InvalidSetting")
    r = call(hub, team.tokens["reader"], "PUT", settings, {"requiredApprovals": 0})
    assert r.status_code == 403
    reader = team.tokens["reader"]
    assert reader is not None
    num = open_pr(hub, reader, org_repo, changed_files())
    reviews = f"/api/models/{org_repo}/discussions/{num}/reviews"

    def merge_refused(approved: int) -> None:
        with pytest.raises(HfHubHTTPError) as exc:
            api.merge_pull_request(org_repo, num)
        assert exc.value.response.status_code == 409
        assert exc.value.response.headers["X-Error-Code"] == "ApprovalsRequired"
        assert (
            f"needs 2 approving review(s) by writers of {org_repo} before it merges; it has {approved}"
            in str(exc.value)
        )

    merge_refused(0)
    for who in ("outsider", "writer"):  # an outsider's approval does not count
        r = call(hub, team.tokens[who], "POST", reviews, {"state": "approve"})
        assert r.status_code == 200, r.text
    merge_refused(1)
    r = call(hub, team.tokens["admin"], "POST", reviews, {"state": "approve", "summary": "Fine."})
    assert r.status_code == 200, r.text
    r = call(hub, team.tokens["writer"], "POST", reviews, {"state": "request_changes", "summary": "Wait."})
    assert r.status_code == 200, r.text  # withdraws the writer's approval
    r = call(hub, team.tokens["writer"], "POST", reviews, {"state": "comment", "summary": "Thinking."})
    assert r.status_code == 200, r.text  # a comment changes nothing
    merge_refused(1)
    status = call(hub, reader, "GET", reviews).json()["approvals"]
    assert status == {
        "required": 2,
        "approvals": 1,
        "approvedBy": [team.users["admin"]],
        "changesRequestedBy": [team.users["writer"]],
        "staleApprovedBy": [],
        "satisfied": False,
    }
    r = call(hub, team.tokens["writer"], "POST", reviews, {"state": "approve"})
    assert r.status_code == 200, r.text
    api.merge_pull_request(org_repo, num)
    assert api.get_discussion_details(org_repo, num).status == "merged"
    r = call(hub, team.tokens["writer"], "POST", reviews, {"state": "approve"})
    assert (r.status_code, code(r)) == (409, "PullRequestMerged")
    r = call(hub, team.tokens["writer"], "PUT", settings, {"requiredApprovals": 0})
    assert r.json()["requiredApprovals"] == 0


def test_new_commits_make_approvals_stale(api: HfApi, hub: HubProcess, team: Team, org_repo: str) -> None:
    seed(api, org_repo)
    r = call(hub, team.tokens["writer"], "PUT", f"/api/models/{org_repo}/settings", {"requiredApprovals": 1})
    assert r.status_code == 200, r.text
    reader = team.tokens["reader"]
    assert reader is not None
    num = open_pr(hub, reader, org_repo, changed_files())
    reviews = f"/api/models/{org_repo}/discussions/{num}/reviews"
    r = call(hub, team.tokens["writer"], "POST", reviews, {"state": "approve"})
    assert r.status_code == 200 and r.json()["stale"] is False
    approved = r.json()["commit"]
    # the PR's author pushes again: the approval was of the old head
    pushed = HfApi(endpoint=hub.url, token=reader).upload_file(
        path_or_fileobj=b"late change\n", path_in_repo="late.txt", repo_id=org_repo, revision=f"refs/pr/{num}"
    )
    listed = call(hub, reader, "GET", reviews).json()
    (review,) = listed["reviews"]
    assert (review["stale"], review["commit"]) == (True, approved) and approved != pushed.oid
    writer = team.users["writer"]
    assert listed["approvals"]["approvedBy"] == [] and listed["approvals"]["staleApprovedBy"] == [writer]
    assert listed["approvals"]["satisfied"] is False
    with pytest.raises(HfHubHTTPError) as exc:
        api.merge_pull_request(org_repo, num)
    assert exc.value.response.status_code == 409
    assert exc.value.response.headers["X-Error-Code"] == "ApprovalsRequired"
    assert f"The approvals of {writer} are stale" in str(exc.value)
    # a repo may keep stale approvals counting (GitHub's "dismiss stale approvals" off)
    settings = f"/api/models/{org_repo}/settings"
    r = call(hub, team.tokens["writer"], "PUT", settings, {"dismissStaleApprovals": False})
    assert r.status_code == 200 and r.json()["dismissStaleApprovals"] is False
    kept = call(hub, reader, "GET", reviews).json()
    assert kept["approvals"]["approvedBy"] == [writer] and kept["approvals"]["satisfied"] is True
    assert kept["reviews"][0]["stale"] is True  # still shown as of an older head
    r = call(hub, team.tokens["writer"], "PUT", settings, {"dismissStaleApprovals": "no"})
    assert (r.status_code, code(r)) == (400, "InvalidField")
    r = call(hub, team.tokens["writer"], "PUT", settings, {"dismissStaleApprovals": True})
    assert r.json()["dismissStaleApprovals"] is True
    with pytest.raises(HfHubHTTPError) as exc:
        api.merge_pull_request(org_repo, num)
    assert exc.value.response.status_code == 409
    r = call(hub, team.tokens["writer"], "POST", reviews, {"state": "approve"})  # of the new head
    assert r.status_code == 200 and r.json()["commit"] == pushed.oid and r.json()["stale"] is False
    api.merge_pull_request(org_repo, num)
    assert api.get_discussion_details(org_repo, num).status == "merged"


def diverge(api: HfApi, repo_id: str, pr: tuple[str, ...], main: tuple[str, ...]) -> int:
    """``nb.ipynb`` with cells ``a = 1``, ``b = 1``, ``c = 1``; a PR making them ``pr``, then
    main making them ``main``; the PR's number."""
    api.upload_file(path_or_fileobj=nb("a = 1", "b = 1", "c = 1"), path_in_repo="nb.ipynb", repo_id=repo_id)
    ops = [CommitOperationAdd("nb.ipynb", nb(*pr))]
    info = api.create_commit(repo_id, ops, commit_message="pr", create_pr=True)
    api.upload_file(path_or_fileobj=nb(*main), path_in_repo="nb.ipynb", repo_id=repo_id)
    assert info.pr_num is not None
    return info.pr_num


def test_notebooks_merge_cell_by_cell(api: HfApi, hub: HubProcess, repo_id: str) -> None:
    num = diverge(api, repo_id, pr=("a = 1", "b = 2", "c = 1"), main=("a = 2", "b = 1", "c = 1"))
    # both sides changed the notebook, in different cells: it merges, so no conflict is shown
    assert api.get_discussion_details(repo_id, num).conflicting_files == []
    api.merge_pull_request(repo_id, num)
    with open(api.hf_hub_download(repo_id, "nb.ipynb", force_download=True)) as f:
        merged = json.load(f)
    assert ["".join(c["source"]) for c in merged["cells"]] == ["a = 2", "b = 2", "c = 1"]
    assert [c["id"] for c in merged["cells"]] == ["c0", "c1", "c2"]


def test_true_notebook_conflict_names_cells(api: HfApi, hub: HubProcess, repo_id: str) -> None:
    num = diverge(api, repo_id, pr=("a = 1", "b = 2", "c = 1"), main=("a = 1", "b = 3", "c = 1"))
    assert api.get_discussion_details(repo_id, num).conflicting_files == ["nb.ipynb"]
    with pytest.raises(HfHubHTTPError) as exc:
        api.merge_pull_request(repo_id, num)
    assert exc.value.response.status_code == 409
    assert exc.value.response.headers["X-Error-Code"] == "MergeConflict"
    assert "nb.ipynb: both sides changed cells 1 (id 'c1') differently" in str(exc.value)
    body = exc.value.response.json()
    assert body["conflicting_files"] == ["nb.ipynb"] and body["conflicting_cells"] == {"nb.ipynb": [1]}
    assert api.get_discussion_details(repo_id, num).status == "open"
    # a notebook and another file both changed: the plain conflict, naming the file
    pr2 = api.create_commit(
        repo_id,
        [CommitOperationAdd("nb.ipynb", nb("a = 9", "b = 3", "c = 1")), CommitOperationAdd("x.txt", b"pr")],
        commit_message="two",
        create_pr=True,
    )
    main_ops = [
        CommitOperationAdd("x.txt", b"main"),
        CommitOperationAdd("nb.ipynb", nb("a = 1", "b = 3", "c = 2")),
    ]
    api.create_commit(repo_id, main_ops, commit_message="main")
    assert pr2.pr_num is not None
    # the notebook would merge cell by cell (a on one side, c on the other): x.txt alone conflicts
    assert api.get_discussion_details(repo_id, pr2.pr_num).conflicting_files == ["x.txt"]
    with pytest.raises(HfHubHTTPError) as exc:
        api.merge_pull_request(repo_id, pr2.pr_num)
    assert "changed the same files since the PR started: x.txt" in str(exc.value)


def test_wb_review_in_the_kernel(hub: HubProcess, team: Team, api: HfApi, org_repo: str) -> None:
    seed(api, org_repo)
    reader = team.tokens["reader"]
    assert reader is not None
    num = open_pr(hub, reader, org_repo, changed_files())
    wb.connect(hub.url, team.tokens["writer"])
    try:
        with pytest.raises(ValueError):
            wb.review(org_repo, num, approve=True, request_changes=True)
        asked = wb.review(org_repo, num, "Check b.", request_changes=True)
        assert asked["state"] == "request_changes"
        assert asked["approvals"]["changesRequestedBy"] == [team.users["writer"]]
        assert wb.review(org_repo, num, "Hm.")["state"] == "comment"
        done = wb.review(org_repo, num, approve=True)
        assert done["state"] == "approve" and done["approvals"]["approvedBy"] == [team.users["writer"]]
    finally:
        wb.connect(hub.url, hub.token)
