"""The error envelope every client relies on (STYLE.md "Errors", HF_PROTOCOL §2.4).

HF-protocol routes answer ``{"error": message, "code": code}`` (and ``message``, the full text,
where ``error`` holds the public hub's shorter one); Workbench routes answer
``{"error": {"code", "message"}}``; both carry ``X-Error-Code`` and ``X-Error-Message``.
"""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub.errors import (
    EntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)


@pytest.fixture
def http(hub):  # type: ignore[no-untyped-def]
    with httpx.Client(
        base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"}, timeout=30
    ) as client:
        yield client


def assert_hf_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["X-Error-Code"] == code
    message = r.headers["X-Error-Message"]
    assert message
    body = r.json()
    # "message": the full text, where "error" holds the public hub's (RepoNotFound)
    assert set(body) - {"message"} == {"error", "code"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert body["code"] == code
    assert "Traceback" not in r.text
    return body


def test_missing_repo(http: httpx.Client) -> None:
    r = http.get("/api/models/admin/nope")
    body = assert_hf_error(r, 404, "RepoNotFound")
    # the public hub's words, which the HF clients fold into their own message
    assert body["error"] == r.headers["X-Error-Message"] == "Repository not found"
    assert "admin/nope" in body["message"]


def test_missing_revision(http: httpx.Client, repo_id: str) -> None:
    r = http.get(f"/api/models/{repo_id}/revision/no-such-branch")
    body = assert_hf_error(r, 404, "RevisionNotFound")
    assert "no-such-branch" in body["error"]


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_missing_file_on_resolve(http: httpx.Client, repo_id: str, method: str) -> None:
    head = http.get(f"/api/models/{repo_id}/revision/main").json()["sha"]
    r = http.request(method, f"/{repo_id}/resolve/main/missing.txt")
    assert r.status_code == 404
    assert r.headers["X-Error-Code"] == "EntryNotFound"
    assert "missing.txt" in r.headers["X-Error-Message"]
    assert r.headers["X-Repo-Commit"] == head
    if method == "GET":
        assert r.json() == {"error": r.json()["error"], "code": "EntryNotFound"}


def test_invalid_json_body(http: httpx.Client) -> None:
    r = http.post("/api/repos/create", content=b"{not json", headers={"Content-Type": "application/json"})
    body = assert_hf_error(r, 400, "InvalidJson")
    assert "JSON" in body["error"]


def test_validation_error_has_envelope(http: httpx.Client, repo_id: str) -> None:
    r = http.get(f"/api/models/{repo_id}/commits/main", params={"limit": "zero"})
    body = assert_hf_error(r, 400, "InvalidParameter")
    assert "limit" in body["error"]


def test_workbench_route_shape(http: httpx.Client) -> None:
    r = http.get("/api/models/admin/nope/compare/main/main")
    assert r.status_code == 404
    assert r.headers["X-Error-Code"] == "RepoNotFound"
    assert r.headers["X-Error-Message"]
    body = r.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "RepoNotFound"
    assert "admin/nope" in body["error"]["message"]


def test_workbench_route_missing_revision(http: httpx.Client, repo_id: str) -> None:
    r = http.get(f"/api/models/{repo_id}/compare/main/nope-rev")
    assert r.status_code == 404
    assert r.headers["X-Error-Code"] == "RevisionNotFound"
    assert r.json()["error"]["code"] == "RevisionNotFound"


def test_unknown_url(http: httpx.Client) -> None:
    r = http.get("/no/such/endpoint/at/all/here")
    assert r.status_code == 404
    assert r.headers["X-Error-Code"] == "NotFound"
    assert r.headers["X-Error-Message"]
    assert r.json()["code"] == "NotFound"


def test_wrong_method(http: httpx.Client) -> None:
    r = http.put("/api/repos/create", json={})
    assert r.status_code == 405
    assert r.headers["X-Error-Code"] == "MethodNotAllowed"


def test_huggingface_hub_maps_codes(api, repo_id: str) -> None:  # type: ignore[no-untyped-def]
    assert api.repo_exists(repo_id)
    assert not api.repo_exists("admin/does-not-exist")
    assert api.file_exists(repo_id, ".gitattributes")
    assert not api.file_exists(repo_id, "missing.txt")
    assert api.revision_exists(repo_id, "main")
    assert not api.revision_exists(repo_id, "nope")
    with pytest.raises(RepositoryNotFoundError):
        api.repo_info("admin/does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        api.repo_info(repo_id, revision="nope")
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files(repo_id, revision="nope")
    with pytest.raises(EntryNotFoundError):
        api.hf_hub_download(repo_id, "missing.txt")
    with pytest.raises(EntryNotFoundError):
        api.delete_file("missing.txt", repo_id=repo_id)


def test_client_error_classes(hub) -> None:  # type: ignore[no-untyped-def]
    from workbench.errors import (
        InvalidRequest,
        RepoNotFound,
        RevisionNotFound,
        WorkbenchError,
        error_class_for,
    )

    assert error_class_for("RepoNotFound", 404) is RepoNotFound
    assert error_class_for("RevisionNotFound", 404) is RevisionNotFound
    assert issubclass(error_class_for("InvalidJson", 400), InvalidRequest)
    assert error_class_for(None, 599) is WorkbenchError


def test_unexpected_error_is_a_generic_500(hub_factory) -> None:  # type: ignore[no-untyped-def]
    """A store inconsistency (a commit whose tree row is gone) is logged, not leaked."""
    import sqlite3

    h = hub_factory()
    auth = {"Authorization": f"Bearer {h.token}"}
    r = httpx.post(f"{h.url}/api/repos/create", json={"name": "broken"}, headers=auth)
    assert r.status_code == 200, r.text
    h.stop()  # the running hub caches trees in memory
    db = sqlite3.connect(h.data / "hub.sqlite")
    with db:
        db.execute("DELETE FROM trees")
    db.close()
    h.start()
    r = httpx.get(f"{h.url}/api/models/admin/broken", headers=auth)
    assert r.status_code == 500
    assert r.headers["X-Error-Code"] == "InternalError"
    assert r.json() == {"error": "Internal error; the hub log has details.", "code": "InternalError"}
    assert "Traceback" not in r.text and "tree" not in r.text
    assert "Traceback" in h.log_path.read_text()
