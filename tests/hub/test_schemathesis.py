"""Property-based fuzzing of every operation in the hub's own OpenAPI document.

Runs against a dedicated hub (some operations delete or move things). The invariants: no
5xx, ever; every error carries ``X-Error-Code`` and the JSON error envelope.

Several handlers read their JSON or NDJSON body by hand (streaming, size limits), so FastAPI
does not describe those bodies; ``BODIES`` adds what the HF clients send, so generated
cases reach the handlers instead of stopping at "empty body". Path parameters are steered
half of the time towards a repo that exists, for the same reason.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from tests.support.hub import HubProcess

pytestmark = pytest.mark.slow

EXAMPLES = 50
REPO = {
    "repo_type": "models",
    "namespace": "admin",
    "name": "fuzz",
    "name_git": "fuzz.git",
    "revision": "main",
    "base": "main",
    "head": "v1",
    "path": "data/a.txt",
    "oid": "a" * 64,
    "num": 1,
    "user": "admin",
    "org": "fuzz-org",
    "paper_id": "admin/fuzz",
    "token_id": 0,
    "status": "pending",  # access requests of a gated repo
    "scope": "read",
    "prefix": "data",
    "branch": "fuzz-branch",  # a branch of its own, which DELETE may take
}  # token_id, slug and item_id (a collection), webhook_id, job_id: set by _seed

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_INT = {"type": "integer"}


def _obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    # no extra keys in positive cases, so they stay meaningful; negative cases add them
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _pick(*values: Any) -> dict[str, Any]:
    """Meaningful values, good and bad, so handlers go deep (negative mode adds garbage)."""
    return {"enum": list(values)}


# never 'fuzz' itself for delete/move: the other operations need the seeded repo
_NAME = _pick("made-by-fuzz", "admin/made-by-fuzz", "x--y", "datasets/x", "a/b/c", "")
_PATH = _pick("data/a.txt", "README.md", "data", "new/file.txt", "../x", ".git/config", "a\\b", "", "w.bin")
_OID = _pick("a" * 64, "0" * 64, "A" * 64, "abc")
_REPO_BODY = _obj(
    ["name"],
    name=_NAME,
    organization=_pick("admin", "nobody", "api"),
    type=_pick("model", "dataset", "space", "paper"),
    private=_BOOL,
    visibility=_pick("public", "private", "protected"),
    sdk=_STR,
)
_LFS_OBJECTS = {"type": "array", "maxItems": 3, "items": _obj(["oid", "size"], oid=_OID, size=_INT)}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/repos/create"): _REPO_BODY,
    ("delete", "/api/repos/delete"): _REPO_BODY,
    ("post", "/api/repos/move"): _obj(["fromRepo", "toRepo"], fromRepo=_NAME, toRepo=_NAME, type=_STR),
    ("put", "/api/{repo_type}/{namespace}/{name}/settings"): _obj(
        private=_BOOL,
        visibility=_pick("public", "private"),
        gated={"enum": [False, True, "auto", "manual", "x"]},
    ),
    ("post", "/api/{repo_type}/{namespace}/{name}/branch/{branch}"): _obj(
        startingPoint=_pick("main", "v1", "nope")
    ),
    ("post", "/api/{repo_type}/{namespace}/{name}/tag/{revision}"): _obj(
        ["tag"], tag=_pick("t1", "v1", "main", "bad..tag", "a" * 40), message=_STR
    ),
    ("post", "/api/validate-yaml"): _obj(
        ["content"],
        content=_pick("---\nlicense: mit\n---\n", "---\n[a\n---\n", "---\nno end", "---\n- 1\n---\n"),
        repoType=_STR,
    ),
    ("post", "/api/{repo_type}/{namespace}/{name}/preupload/{revision}"): _obj(
        ["files"],
        files={
            "type": "array",
            "maxItems": 4,
            "items": _obj(["path", "size", "sample"], path=_PATH, size=_INT, sample=_pick("aGk=", "", "***")),
        },
    ),
    ("post", "/api/{repo_type}/{namespace}/{name}/paths-info/{revision}"): _obj(
        ["paths"], paths={"type": "array", "items": _PATH, "maxItems": 5}, expand=_BOOL
    ),
    ("post", "/api/lfs/verify"): _obj(["oid", "size"], oid=_OID, size=_INT),
    ("post", "/api/{repo_type}/{namespace}/{name}/user-access-request/handle"): _obj(
        ["status"],
        user=_pick("admin", "nobody", ""),
        requestId=_pick("0" * 24, "x"),
        status=_pick("accepted", "rejected", "pending", "x"),
        rejectionReason=_pick("no", "x" * 300),
    ),
    ("post", "/api/{repo_type}/{namespace}/{name}/user-access-request/grant"): _obj(
        ["user"], user=_pick("admin", "nobody", "")
    ),
    ("post", "/{namespace}/{name}/ask-access"): _obj(Company=_STR, agree=_pick(True, "on", "no")),
    ("post", "/api/lfs/complete/{oid}"): _obj(
        oid=_OID, parts={"type": "array", "items": _obj(partNumber=_INT, etag=_STR)}
    ),
}
_ANCHOR = _obj(
    path=_PATH, cell=_pick("c1", "nope", "bad id!"), commit=_pick("main", "nope"), run=_pick("0" * 32, "xyz")
)
_DISCUSSION = "/api/{repo_type}/{namespace}/{name}/discussions"
BODIES.update(
    {
        ("post", _DISCUSSION): _obj(
            ["title"],
            title=_pick("a topic", "", "x" * 300),
            description=_pick("text @admin", "<script>x</script>", ""),
            pullRequest=_BOOL,
            target=_pick("main", "v1", "nope"),
            anchor=_ANCHOR,
        ),
        ("post", _DISCUSSION + "/{num}/comment"): _obj(
            ["comment"], comment=_pick("hi @admin", "", " "), anchor=_ANCHOR
        ),
        ("post", _DISCUSSION + "/{num}/comment/{comment_id}/edit"): _obj(["content"], content=_STR),
        ("post", _DISCUSSION + "/{num}/title"): _obj(["title"], title=_pick("renamed", "")),
        ("post", _DISCUSSION + "/{num}/status"): _obj(
            ["status"], status=_pick("open", "closed", "merged"), comment=_STR
        ),
        ("post", _DISCUSSION + "/{num}/merge"): _obj(comment=_STR),
        ("post", _DISCUSSION + "/{num}/lock"): _obj(locked=_BOOL),
        ("post", "/api/notifications/read"): _obj(
            ids={"type": "array", "items": _INT, "maxItems": 3}, all=_BOOL
        ),
        ("put", "/api/comment-policy/{namespace}"): _obj(["policy"], policy=_pick("readers", "writers", "x")),
        ("post", "/api/organizations"): _obj(
            ["name"], name=_pick("fuzz-org2", "fuzz-org", "api", "a b", ""), fullname=_STR
        ),
        ("put", "/api/organizations/{org}/members/{user}"): _obj(
            ["role"], role=_pick("read", "admin", "owner")
        ),
        ("post", "/api/tokens"): _obj(["name"], name=_pick("fuzz", "", "x" * 101), scope=_pick("read", "x")),
        ("post", "/api/collections"): _obj(
            ["title"], title=_pick("fuzz two", "", "x" * 120), namespace=_pick("admin", "fuzz-org", "nobody")
        ),
        ("patch", "/api/collections/{namespace}/{slug}"): _obj(
            title=_pick("renamed", ""), description=_STR, private=_BOOL, theme=_pick("blue", "x")
        ),
        ("post", "/api/collections/{namespace}/{slug}/items"): _obj(
            ["item"],
            item=_obj(
                ["id", "type"], id=_pick("admin/fuzz", "admin/nope"), type=_pick("model", "dataset", "x")
            ),
            note=_STR,
            exists_ok=_BOOL,
        ),
        ("patch", "/api/collections/{namespace}/{slug}/items/{item_id}"): _obj(note=_STR, position=_INT),
        ("post", "/api/settings/webhooks"): _obj(
            ["watched", "url"],
            url=_pick("https://hooks.invalid/fuzz", "http://127.0.0.1/", "ftp://x", ""),
            watched={
                "type": "array",
                "maxItems": 2,
                "items": _obj(
                    ["type", "name"],
                    type=_pick("user", "org", "model", "x"),
                    name=_pick("admin", "admin/fuzz"),
                ),
            },
            domains={"type": "array", "maxItems": 2, "items": _pick("repo", "discussion", "x")},
            secret=_STR,
        ),
        ("put", "/api/buckets/{namespace}/{name}/settings"): _obj(private=_BOOL),
        ("post", "/api/buckets/{namespace}/{name}/paths-info"): _obj(
            ["paths"], paths={"type": "array", "items": _PATH, "maxItems": 3}
        ),
    }
)
for _prefix in ("", "/datasets", "/spaces", "/papers"):
    BODIES[("post", f"{_prefix}/{{namespace}}/{{name_git}}/info/lfs/objects/batch")] = _obj(
        ["operation", "objects"],
        operation={"enum": ["upload", "download", "x"]},
        transfers={"type": "array", "items": {"enum": ["basic", "multipart", "x"]}},
        objects=_LFS_OBJECTS,
    )
# the commit body is NDJSON; generate its lines as JSON and serialize them below
_OP_LINE = {
    "anyOf": [
        _obj(
            ["key", "value"],
            key={"enum": ["file"]},
            value=_obj(
                ["path", "content"],
                path=_PATH,
                content={"enum": ["aGVsbG8=", "", "***", "aGk"]},
                encoding={"enum": ["base64"]},
            ),
        ),
        _obj(
            ["key", "value"],
            key={"enum": ["lfsFile"]},
            value=_obj(["path", "oid"], path=_PATH, oid=_OID, size=_INT, algo={"enum": ["sha256", "md5"]}),
        ),
        _obj(
            ["key", "value"],
            key={"enum": ["deletedFile", "deletedFolder", "renamed"]},
            value=_obj(["path"], path=_PATH),
        ),
    ]
}
BODIES[("post", "/api/{repo_type}/{namespace}/{name}/commit/{revision}")] = {
    "type": "array",
    "maxItems": 5,
    "items": _OP_LINE,
}


def _with_bodies(raw: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(raw)
    for (method, path), body in BODIES.items():
        op = spec["paths"][path][method]
        assert "requestBody" not in op, f"{method} {path} documents its body now: drop it here"
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return spec


OWN_TOKEN: list[int] = [0]


def _ndjson(lines: list[Any]) -> bytes:
    header = {"key": "header", "value": {"summary": "fuzz"}}
    return b"\n".join(json.dumps(line).encode() for line in [header, *lines])


def _seed(hub: HubProcess) -> None:
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"}, timeout=30) as c:
        for repo_type in ("model", "dataset", "space", "paper"):  # every URL prefix
            r = c.post("/api/repos/create", json={"name": "fuzz", "type": repo_type})
            assert r.status_code == 200, r.text
        files = [
            {
                "key": "file",
                "value": {"path": p, "encoding": "base64", "content": base64.b64encode(b"x" * n).decode()},
            }
            for p, n in (("data/a.txt", 10), ("README.md", 5), ("w.bin", 100))
        ]
        csv = b"text,label\n" + b"".join(b"row %d,%d\n" % (i, i % 2) for i in range(20))
        files.append(
            {
                "key": "file",
                "value": {
                    "path": "train.csv",
                    "encoding": "base64",
                    "content": base64.b64encode(csv).decode(),
                },
            }
        )
        for plural in ("models", "datasets", "spaces", "papers"):
            r = c.post(
                f"/api/{plural}/admin/fuzz/commit/main",
                content=_ndjson(files),
                headers={"Content-Type": "application/x-ndjson"},
            )
            assert r.status_code == 200, r.text
            # gated, so the access-request routes get past "not gated" (the admin is never gated out)
            assert c.put(f"/api/{plural}/admin/fuzz/settings", json={"gated": "manual"}).status_code == 200
        assert c.post("/api/models/admin/fuzz/tag/main", json={"tag": "v1"}).status_code == 200
        assert c.post("/api/organizations", json={"name": "fuzz-org"}).status_code == 200
        throwaway = c.post("/api/tokens", json={"name": "throwaway", "scope": "read"}).json()
        REPO["token_id"] = throwaway["id"]
        own = next(t for t in c.get("/api/tokens").json() if hub.token.startswith(t["prefix"]))
        OWN_TOKEN[:] = [own["id"]]
        assert c.post("/api/buckets/admin/fuzz", json={}).status_code == 200
        made = c.post("/api/collections", json={"title": "fuzz", "namespace": "admin"})
        assert made.status_code == 200, made.text
        REPO["slug"] = made.json()["slug"].split("/", 1)[1]
        added = c.post(
            f"/api/collections/{made.json()['slug']}/items",
            json={"item": {"id": "admin/fuzz", "type": "model"}},
        )
        assert added.status_code == 200, added.text
        REPO["item_id"] = added.json()["items"][0]["_id"]
        hook = c.post(
            "/api/settings/webhooks",
            json={
                "url": "https://hooks.invalid/fuzz",
                "watched": [{"type": "user", "name": "admin"}],
                "domains": ["repo"],
            },
        )
        assert hook.status_code == 200, hook.text
        REPO["webhook_id"] = hook.json()["webhook"]["id"]
        assert c.post("/api/models/admin/fuzz/branch/fuzz-branch", json={}).status_code == 200
        job = c.post(
            "/api/eval-jobs",
            json={"model": "admin/fuzz", "dataset": "admin/fuzz", "split": "train", "metrics": ["accuracy"]},
        )
        assert job.status_code == 201, job.text
        REPO["job_id"] = job.json()["id"]
        # a runner named like the repo, so the runner routes' {name} reaches it
        assert c.post("/api/runners", json={"name": "fuzz"}).status_code in (200, 201)
        # the viewer's routes answer once the dataset's conversion is done
        deadline = time.monotonic() + 90
        while c.get("/api/datasets/admin/fuzz/viewer/splits").status_code != 200:
            assert time.monotonic() < deadline, "the fuzz dataset was never converted"
            time.sleep(0.5)
        for plural in ("models", "datasets", "spaces", "papers"):  # discussion #1 (a pull request)
            r = c.post(
                f"/api/{plural}/admin/fuzz/discussions",
                json={"title": "fuzz", "description": "d", "pullRequest": True},
            )
            assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def fuzz_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path_factory.mktemp("fuzz-hub")).start()
    try:
        _seed(hub)
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def hub_schema(fuzz_hub: HubProcess):  # type: ignore[no-untyped-def]
    raw = httpx.get(f"{fuzz_hub.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(_with_bodies(raw))

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):  # type: ignore[no-untyped-def]
        if not isinstance(path_parameters, dict):
            return st.just(path_parameters)
        real = {k: REPO[k] for k in path_parameters if k in REPO}
        return st.sampled_from([path_parameters, {**path_parameters, **real}])

    return schema


def _check(case, hub: HubProcess, seen: Counter[tuple[str, int]]) -> None:  # type: ignore[no-untyped-def]
    kwargs: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {hub.token}"}
    params = case.path_parameters or {}
    if case.method == "DELETE" and str(params.get("token_id")) == str(OWN_TOKEN[0]):
        params["token_id"] = REPO["token_id"]  # never revoke the token the fuzzing runs with
    if case.method == "DELETE":  # keep the seeded bucket, collection, item and webhook for the rest
        for key, gone in (("name", "fuzz-gone"), ("slug", "gone-" + "0" * 24), ("item_id", "0" * 24)):
            if "/buckets/" in case.path or key != "name":
                if key in params and str(params[key]) == str(REPO.get(key)):
                    params[key] = gone
        if str(params.get("webhook_id")) == str(REPO.get("webhook_id")):
            params["webhook_id"] = "0" * 24
    if case.path.endswith("/commit/{revision}") and isinstance(case.body, list):
        kwargs["data"] = _ndjson(case.body)
        case.body = NOT_SET
        headers["Content-Type"] = "application/x-ndjson"
    response = case.call(base_url=hub.url, headers=headers, timeout=30, **kwargs)
    seen[(f"{case.method} {case.path}", response.status_code)] += 1
    where = f"{case.method} {response.request.url}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 500:  # the traceback is in the hub's log; show its end
        where += "\n" + hub.log_path.read_text(errors="replace")[-2500:]
    assert response.status_code < 500, where
    if response.status_code >= 400:
        # schemathesis' Response keeps headers as lower-case names -> lists of values
        assert response.headers.get("x-error-code"), where
        assert response.headers.get("x-error-message") is not None, where
        if case.method != "HEAD":  # validate-yaml answers HF's {"errors": [...]} shape
            assert {"error", "errors"} & set(response.json()), where


def test_no_server_errors(hub_schema, fuzz_hub: HubProcess) -> None:  # type: ignore[no-untyped-def]
    # schemathesis.pytest.from_fixture needs a pytest internal that pytest 9 removed, so the
    # operations are driven here, each with its own Hypothesis run; failures are collected.
    failures: list[str] = []
    seen: Counter[tuple[str, int]] = Counter()
    operations = 0
    for result in hub_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE, hooks=hub_schema.hooks),
            operation.as_strategy(GenerationMode.NEGATIVE, hooks=hub_schema.hooks),
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.shrink],
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            _check(case, fuzz_hub, seen)

        try:
            run()
        except AssertionError as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 30
    # the steering works: most operations got past validation at least once
    reached = {op for (op, status), _ in seen.items() if status < 300}
    unreached = sorted({op for op, _ in seen} - reached)
    # (how many get there moves by a few between machines, with what each run leaves behind)
    print(f"reached {len(reached)} of {operations}")  # how far past the bar, in -s runs
    assert len(reached) >= operations * 3 // 5, "never a 2xx answer:\n" + "\n".join(unreached)
    assert not failures, "\n".join(failures)
