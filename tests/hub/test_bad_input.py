"""Bad input gets a 4xx with an X-Error-Code and a message that says what to fix, and
nothing partial becomes visible: the repo's head, tree and refs are unchanged afterwards."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest

NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def http(hub):  # type: ignore[no-untyped-def]
    with httpx.Client(
        base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"}, timeout=60
    ) as client:
        yield client


def ndjson(*lines: dict[str, Any]) -> bytes:
    return b"\n".join(json.dumps(line).encode() for line in lines)


def header(summary: str = "test", **extra: Any) -> dict[str, Any]:
    return {"key": "header", "value": {"summary": summary, **extra}}


def file_line(path: str, data: bytes) -> dict[str, Any]:
    return {
        "key": "file",
        "value": {"content": base64.b64encode(data).decode(), "path": path, "encoding": "base64"},
    }


def lfs_line(path: str, oid: str, size: int | None) -> dict[str, Any]:
    value: dict[str, Any] = {"path": path, "algo": "sha256", "oid": oid}
    if size is not None:
        value["size"] = size
    return {"key": "lfsFile", "value": value}


def commit(http: httpx.Client, repo_id: str, body: bytes, rev: str = "main") -> httpx.Response:
    return http.post(f"/api/models/{repo_id}/commit/{rev}", content=body, headers=NDJSON)


def snapshot(http: httpx.Client, repo_id: str) -> tuple[Any, ...]:
    """Everything a reader could see: head, files with their oids, refs, history length."""
    info = http.get(f"/api/models/{repo_id}/revision/main")
    assert info.status_code == 200, info.text
    tree = http.get(f"/api/models/{repo_id}/tree/main", params={"recursive": "true"}).json()
    refs = http.get(f"/api/models/{repo_id}/refs").json()
    history = http.get(f"/api/models/{repo_id}/commits/main").json()
    return (
        info.json()["sha"],
        sorted((e["path"], e.get("oid")) for e in tree),
        refs,
        [c["id"] for c in history],
    )


def assert_error(r: httpx.Response, status: int, code: str, *hints: str) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["X-Error-Code"] == code, r.headers.get("X-Error-Code")
    message = r.headers["X-Error-Message"]
    assert message
    for hint in hints:
        assert hint.lower() in message.lower(), (hint, message)


# -- repo names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("a b", "letters, digits"),
        ("-x", "starting with a letter or digit"),
        ("x--y", "'--'"),
        ("x.git", ".git"),
        ("x" * 97, "1-96"),
        ("", "letters, digits"),
    ],
)
def test_invalid_repo_name(http: httpx.Client, name: str, hint: str) -> None:
    before = http.get("/api/models", params={"author": "admin"}).json()
    r = http.post("/api/repos/create", json={"name": name, "type": "model"})
    assert_error(r, 400, "InvalidRepoName", hint)
    assert http.get("/api/models", params={"author": "admin"}).json() == before


@pytest.mark.parametrize("repo", ["datasets/x", "api/x", "models/x"])
def test_reserved_namespace(http: httpx.Client, repo: str) -> None:
    r = http.post("/api/repos/create", json={"name": repo})
    assert_error(r, 400, "ReservedNamespace", "reserved")
    assert http.get(f"/api/models/{repo}").status_code in (400, 404)


# -- commit paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",
        "a/../../b.txt",
        "/etc/passwd",
        "a\\b",
        "a\x00b",
        ".git/config",
        "x/.git/hooks/post",
        "",
        "a//b",
        "./a",
    ],
)
def test_bad_commit_path(http: httpx.Client, repo_id: str, path: str) -> None:
    before = snapshot(http, repo_id)
    body = ndjson(header(), file_line("good.txt", b"ok"), file_line(path, b"evil"))
    r = commit(http, repo_id, body)
    assert_error(r, 422, "InvalidPath", "path")
    assert snapshot(http, repo_id) == before


@pytest.mark.parametrize("kind", ["deletedFile", "deletedFolder"])
def test_bad_delete_path(http: httpx.Client, repo_id: str, kind: str) -> None:
    before = snapshot(http, repo_id)
    r = commit(http, repo_id, ndjson(header(), {"key": kind, "value": {"path": "../x"}}))
    assert_error(r, 422, "InvalidPath", "'..'")
    assert snapshot(http, repo_id) == before


def test_delete_missing_file(http: httpx.Client, repo_id: str) -> None:
    before = snapshot(http, repo_id)
    r = commit(
        http,
        repo_id,
        ndjson(header(), file_line("new.txt", b"x"), {"key": "deletedFile", "value": {"path": "nope.txt"}}),
    )
    assert_error(r, 404, "EntryNotFound", "A file with this name doesn't exist")
    assert snapshot(http, repo_id) == before


def test_file_folder_clash(http: httpx.Client, repo_id: str) -> None:
    r = commit(http, repo_id, ndjson(header(), file_line("folder/a.txt", b"a"), file_line("plain.txt", b"p")))
    assert r.status_code == 200, r.text
    before = snapshot(http, repo_id)
    r = commit(http, repo_id, ndjson(header(), file_line("folder", b"a file now")))
    assert_error(r, 400, "PathConflict", "folder")
    r = commit(http, repo_id, ndjson(header(), file_line("plain.txt/inner.txt", b"x")))
    assert_error(r, 400, "PathConflict", "plain.txt")
    r = commit(http, repo_id, ndjson(header(), file_line("x", b"1"), file_line("x/y", b"2")))
    assert_error(r, 400, "PathConflict")
    assert snapshot(http, repo_id) == before


# -- LFS -------------------------------------------------------------------------------------


def lfs_batch(http: httpx.Client, repo_id: str, oid: str, size: int) -> httpx.Response:
    return http.post(
        f"/{repo_id}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic"],
            "objects": [{"oid": oid, "size": size}],
            "hash_algo": "sha256",
        },
        headers={"Accept": "application/vnd.git-lfs+json"},
    )


def upload_href(http: httpx.Client, repo_id: str, oid: str, size: int) -> str:
    r = lfs_batch(http, repo_id, oid, size)
    assert r.status_code == 200, r.text
    (obj,) = r.json()["objects"]
    return str(obj["actions"]["upload"]["href"])


def test_lfs_hash_mismatch(http: httpx.Client, repo_id: str) -> None:
    data = b"the declared content" * 10
    oid = hashlib.sha256(data).hexdigest()
    href = upload_href(http, repo_id, oid, len(data))
    wrong = b"X" * len(data)
    r = httpx.put(href, content=wrong)  # upload URLs are signed; no token, as the client does
    assert_error(r, 400, "HashMismatch", oid)
    before = snapshot(http, repo_id)
    r = http.post("/api/lfs/verify", json={"oid": oid, "size": len(data)})
    assert_error(r, 404, "LfsObjectMissing", "upload it again")
    r = commit(http, repo_id, ndjson(header(), lfs_line("model.bin", oid, len(data))))
    assert_error(r, 400, "LfsObjectMissing", "LFS batch")
    assert snapshot(http, repo_id) == before
    # the object is still wanted: the batch API offers the upload again
    assert "actions" in lfs_batch(http, repo_id, oid, len(data)).json()["objects"][0]


@pytest.mark.parametrize("delta", [-1, 1])
def test_lfs_wrong_size(http: httpx.Client, repo_id: str, delta: int) -> None:
    data = b"0123456789" * 50
    oid = hashlib.sha256(data).hexdigest()
    href = upload_href(http, repo_id, oid, len(data))
    sent = data[:delta] if delta < 0 else data + b"!"
    r = httpx.put(href, content=sent)
    assert_error(r, 400, "SizeMismatch", str(len(data)))
    r = commit(http, repo_id, ndjson(header(), lfs_line("w.bin", oid, len(data))))
    assert_error(r, 400, "LfsObjectMissing")


def test_lfs_tampered_signature(http: httpx.Client, repo_id: str) -> None:
    data = b"signed" * 30
    oid = hashlib.sha256(data).hexdigest()
    href = upload_href(http, repo_id, oid, len(data))
    url = httpx.URL(href)
    sig = url.params["sig"]
    forged = url.copy_set_param("sig", ("0" if sig[0] != "0" else "1") + sig[1:])
    assert_error(httpx.put(forged, content=data), 403, "InvalidSignature", "signature")
    bigger = url.copy_set_param("size", str(len(data) + 1))  # the size is signed too
    assert_error(httpx.put(bigger, content=data + b"x"), 403, "InvalidSignature")
    garbled = url.copy_set_param("sig", "é" * len(sig))  # non-ASCII: once a 500
    assert_error(httpx.put(garbled, content=data), 403, "InvalidSignature")
    expired = url.copy_set_param("expires", "1000")
    assert_error(httpx.put(expired, content=data), 403, "UrlExpired", "expired")
    r = http.post("/api/lfs/verify", json={"oid": oid, "size": len(data)})
    assert_error(r, 404, "LfsObjectMissing")


def test_lfs_never_uploaded(http: httpx.Client, repo_id: str) -> None:
    before = snapshot(http, repo_id)
    oid = hashlib.sha256(b"never uploaded anywhere " + repo_id.encode()).hexdigest()
    r = commit(http, repo_id, ndjson(header(), file_line("ok.txt", b"ok"), lfs_line("weights.bin", oid, 123)))
    assert_error(r, 400, "LfsObjectMissing", oid)
    r = commit(http, repo_id, ndjson(header(), lfs_line("weights.bin", "not-a-sha", 123)))
    assert_error(r, 400, "InvalidOid", "64 lowercase hex")
    assert snapshot(http, repo_id) == before


def test_lfs_batch_bad_input(http: httpx.Client, repo_id: str) -> None:
    url = f"/{repo_id}.git/info/lfs/objects/batch"
    r = http.post(url, json={"operation": "download", "objects": []})
    assert_error(r, 400, "UnsupportedOperation", "resolve")
    r = http.post(url, json={"operation": "upload", "objects": [{"oid": "abc", "size": 1}]})
    assert_error(r, 400, "InvalidOid")
    r = http.post(url, json={"operation": "upload", "objects": [{"oid": "a" * 64, "size": -1}]})
    assert_error(r, 400, "InvalidField", "size")
    r = http.post(url, json={"operation": "upload"})
    assert_error(r, 400, "MissingField", "objects")


# -- malformed NDJSON --------------------------------------------------------------------------

GOOD_HEADER = json.dumps(header()).encode()
FILE_LINE = json.dumps(file_line("f.txt", b"hello")).encode()


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        (b"this is not json\n", "not JSON"),
        (FILE_LINE + b"\n" + GOOD_HEADER, "header"),
        (GOOD_HEADER + b"\n" + FILE_LINE + b'\n{"key": "renameFile", "value": {"path": "x"}}', "unknown key"),
        (
            GOOD_HEADER + b'\n{"key": "file", "value": {"path": "b.txt", "content": "***",'
            b' "encoding": "base64"}}',
            "base64",
        ),
        (GOOD_HEADER + b"\n" + FILE_LINE + b'\n{"key": "file", "value": {"path": "c.txt", "cont', "line 3"),
        (GOOD_HEADER + b'\n["key", "file"]', "expected"),
        (GOOD_HEADER + b'\n{"key": "file", "value": {"content": "aGk="}}', "path"),
        (b"", "header"),
        (
            json.dumps({"key": "header", "value": {"summary": "s", "parentCommit": 5}}).encode(),
            "parentCommit",
        ),
    ],
)
def test_malformed_ndjson(http: httpx.Client, repo_id: str, body: bytes, hint: str) -> None:
    before = snapshot(http, repo_id)
    r = commit(http, repo_id, body)
    assert_error(r, 400, "MalformedCommit", hint)
    assert snapshot(http, repo_id) == before


# -- unknown revisions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/models/{repo}/tree/{rev}"),
        ("GET", "/api/models/{repo}/tree/{rev}/sub"),
        ("GET", "/api/models/{repo}/revision/{rev}"),
        ("GET", "/{repo}/resolve/{rev}/.gitattributes"),
        ("HEAD", "/{repo}/resolve/{rev}/.gitattributes"),
        ("GET", "/api/models/{repo}/commits/{rev}"),
        ("POST", "/api/models/{repo}/paths-info/{rev}"),
        ("GET", "/api/models/{repo}/compare/main/{rev}"),
        ("POST", "/api/models/{repo}/preupload/{rev}"),
        ("POST", "/api/models/{repo}/branch/new-branch"),
        ("POST", "/api/models/{repo}/tag/{rev}"),
    ],
)
@pytest.mark.parametrize("rev", ["no-such-branch", "0" * 40, "deadbeef", "feat%2Fx"])
def test_unknown_revision(http: httpx.Client, repo_id: str, method: str, url: str, rev: str) -> None:
    body: dict[str, Any] = {
        "paths": [".gitattributes"],
        "files": [],
        "tag": "v-unknown",
        "startingPoint": rev.replace("%2F", "/"),
    }
    r = http.request(method, url.format(repo=repo_id, rev=rev), json=body if method == "POST" else None)
    assert r.status_code == 404, r.text
    assert r.headers["X-Error-Code"] == "RevisionNotFound"
    assert rev.replace("%2F", "/") in r.headers["X-Error-Message"]


def test_commit_to_unknown_revision(http: httpx.Client, repo_id: str) -> None:
    before = snapshot(http, repo_id)
    r = commit(http, repo_id, ndjson(header(), file_line("a.txt", b"a")), rev="nope")
    assert_error(r, 404, "RevisionNotFound", "nope")
    assert snapshot(http, repo_id) == before


def test_hf_client_unknown_revision(api, repo_id: str) -> None:  # type: ignore[no-untyped-def]
    from huggingface_hub.errors import RevisionNotFoundError

    calls = [
        lambda: api.list_repo_tree(repo_id, revision="nope").__next__(),
        lambda: api.list_repo_commits(repo_id, revision="nope"),
        lambda: api.get_paths_info(repo_id, [".gitattributes"], revision="nope"),
        lambda: api.hf_hub_download(repo_id, ".gitattributes", revision="nope"),
        lambda: api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id, revision="nope"),
    ]
    for call in calls:
        with pytest.raises(RevisionNotFoundError):
            call()


# -- stale parent, ranges -----------------------------------------------------------------------


def test_stale_parent_commit(http: httpx.Client, repo_id: str) -> None:
    first = snapshot(http, repo_id)[0]
    r = commit(http, repo_id, ndjson(header(), file_line("one.txt", b"1")))
    assert r.status_code == 200, r.text
    before = snapshot(http, repo_id)
    r = commit(http, repo_id, ndjson(header(parentCommit=first), file_line("two.txt", b"2")))
    assert_error(r, 412, "StaleParentCommit", first, "retry")
    r = commit(http, repo_id, ndjson(header(parentCommit=first[:7]), file_line("two.txt", b"2")))
    assert_error(r, 412, "StaleParentCommit")
    assert snapshot(http, repo_id) == before
    r = commit(http, repo_id, ndjson(header(parentCommit=before[0]), file_line("two.txt", b"2")))
    assert r.status_code == 200, r.text


def test_commit_to_a_tag(http: httpx.Client, repo_id: str) -> None:
    assert http.post(f"/api/models/{repo_id}/tag/main", json={"tag": "v1"}).status_code == 200
    before = snapshot(http, repo_id)
    r = commit(http, repo_id, ndjson(header(), file_line("a.txt", b"a")), rev="v1")
    assert_error(r, 400, "NotABranch", "branch")
    assert snapshot(http, repo_id) == before


@pytest.mark.parametrize("value", ["bytes=999999999-", "bytes=20-10", "bytes=-0"])
def test_bad_range(http: httpx.Client, repo_id: str, value: str) -> None:
    r = http.get(f"/{repo_id}/resolve/main/.gitattributes", headers={"Range": value})
    assert_error(r, 416, "RangeNotSatisfiable", "Range")
    size = int(http.head(f"/{repo_id}/resolve/main/.gitattributes").headers["Content-Length"])
    assert r.headers["Content-Range"] == f"bytes */{size}"


def test_malformed_range_is_ignored(http: httpx.Client, repo_id: str) -> None:
    r = http.get(f"/{repo_id}/resolve/main/.gitattributes", headers={"Range": "pages=1-2"})
    assert r.status_code == 200


# -- body limits ---------------------------------------------------------------------------------


def test_body_limits(hub_factory) -> None:  # type: ignore[no-untyped-def]
    h = hub_factory(env={"WORKBENCH_MAX_BODY_BYTES": "1048576", "WORKBENCH_MAX_JSON_BYTES": "65536"})
    with httpx.Client(base_url=h.url, headers={"Authorization": f"Bearer {h.token}"}, timeout=60) as c:
        assert c.post("/api/repos/create", json={"name": "limits"}).status_code == 200
        before = snapshot(c, "admin/limits")
        big = ndjson(header(), file_line("small.txt", b"s"), file_line("big.bin", b"\x01" * 2**21))
        r = commit(c, "admin/limits", big)
        assert_error(r, 413, "PayloadTooLarge", "1048576")
        assert snapshot(c, "admin/limits") == before

        # streamed without a Content-Length: the limit holds while reading

        def chunks():  # type: ignore[no-untyped-def]
            for i in range(0, len(big), 65536):
                yield big[i : i + 65536]

        r = c.post("/api/models/admin/limits/commit/main", content=chunks(), headers=NDJSON)
        assert_error(r, 413, "PayloadTooLarge")
        assert snapshot(c, "admin/limits") == before

        padding = "x" * 100_000
        r = c.post("/api/repos/create", json={"name": "too-big", "description": padding})
        assert_error(r, 413, "PayloadTooLarge", "65536")
        assert c.get("/api/models/admin/too-big").status_code == 404
        r = c.post(
            "/api/models/admin/limits/paths-info/main", json={"paths": ["p" * 100 for _ in range(1000)]}
        )
        assert_error(r, 413, "PayloadTooLarge")

        data = b"\x02" * (2**20 + 1)
        oid = hashlib.sha256(data).hexdigest()
        r = lfs_batch(c, "admin/limits", oid, len(data))
        assert r.status_code == 200
        assert r.json()["objects"][0]["error"]["code"] == 413
    assert not list((h.data / "tmp").glob("upload-*")), "rejected bodies left temporary files"


@pytest.mark.parametrize("content", ["---\n[a\n---\nbody", "---\nlicense: mit\n", "---\n- 1\n---\n"])
def test_invalid_card_yaml(http: httpx.Client, content: str) -> None:
    r = http.post("/api/validate-yaml", json={"content": content, "repoType": "model"})
    assert_error(r, 400, "InvalidYaml", "YAML")  # a multi-line YAML error once broke the header
    assert r.json()["errors"][0]["message"]


@pytest.mark.parametrize("body", [{"paths": None}, {"paths": 5}, {"paths": [5]}, [1, 2], b"{not json"])
def test_paths_info_bad_bodies(http: httpx.Client, body: Any) -> None:
    assert http.post("/api/repos/create", json={"name": "paths-info-bad"}).status_code in (200, 409)
    url = "/api/models/admin/paths-info-bad/paths-info/main"
    if isinstance(body, bytes):
        r = http.post(url, content=body, headers={"Content-Type": "application/json"})
    else:
        r = http.post(url, json=body)
    assert_error(r, 400, "MalformedBody", "paths")


@pytest.mark.parametrize(
    "url",
    [
        "/api/models?cursor={n}",
        "/api/models/{repo}/tree/main?cursor={n}",
        "/api/models/{repo}/commits/main?cursor={n}",
        "/api/models/{repo}/lfs-files?cursor={n}",
        "/api/search?q=x&offset={n}",
        "/api/evals?offset={n}",
    ],
)
def test_position_too_large(http: httpx.Client, repo_id: str, url: str) -> None:
    # a cursor past what the database can hold is the caller's mistake, named, not a 500
    r = http.get(url.format(n=2**63, repo=repo_id))
    assert r.status_code == 400, r.text
    assert r.headers["x-error-code"] == "InvalidParameter"
    assert "less than or equal to" in r.headers["x-error-message"]
